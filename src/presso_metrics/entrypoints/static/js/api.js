// The JSON API of the server that serves the page.

import { parseDay } from "./days.js";
import { checkRows } from "./rows.js";

export async function getJSON(url) {
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" } });
  } catch (error) {
    throw new Error(`the server did not answer ${url} (${error.message})`);
  }
  const body = await response.text();
  let data;
  try { data = JSON.parse(body); } catch { data = undefined; }
  if (!response.ok) {
    const detail = typeof data?.detail === "string" ? data.detail : body.trim().slice(0, 200);
    const status = `${response.status} ${response.statusText}`.trim();
    throw new Error(`${url} answered ${status}${detail && detail !== response.statusText ? `: ${detail}` : ""}`);
  }
  if (data === undefined) throw new Error(`${url} did not answer JSON`);
  return data;
}

// Map(metric name -> definition).
export async function getDefinitions() {
  const defs = await getJSON("/api/metrics");
  if (!Array.isArray(defs) || !defs.every((d) => d && typeof d.name === "string")) {
    throw new Error("/api/metrics did not answer a list of metrics");
  }
  return new Map(defs.map((d) => [d.name, d]));
}

export async function getSpan() {
  const body = await getJSON("/api/span");
  const day = (v) => v === null || parseDay(v) !== null;
  if (!body || !day(body.from) || !day(body.to) || (body.from === null) !== (body.to === null)) {
    throw new Error("/api/span did not answer a span of days");
  }
  return body;
}

// Map(name -> rows, or null for a metric the metrics file does not define) for from..to.
export async function getRows(definitions, names, from, to) {
  const query = new URLSearchParams({ from, to });
  const rows = await Promise.all(names.map(async (name) => {
    if (!definitions.has(name)) return null;
    return checkRows(name, await getJSON(`/api/metrics/${encodeURIComponent(name)}?${query}`));
  }));
  return new Map(names.map((name, i) => [name, rows[i]]));
}
