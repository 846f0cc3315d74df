// The presso-metrics dashboard. Reads the JSON API of the server that serves it.
//
// Names come from order events, so they are hostile: a drink may be called "__proto__",
// "constructor" or "<img src=x onerror=...>", or differ from another only by a trailing space.
// Hence two rules: data never keys a plain object (Map everywhere), and every name is written
// with textContent through labelNode (in the page) or canvasLabel (on a chart's canvas), which
// make invisible differences visible.
"use strict";

// ---------------------------------------------------------------------------------------------
// Days: "YYYY-MM-DD" text, compared as text (it sorts in time order), computed in UTC.

const DEFAULT_DAYS = 30; // the first view: the last 30 days of the data's span
const API_MAX_DAYS = 3660; // days the API answers at once (http_api.MAX_RANGE_DAYS), unless
// /api/span says otherwise in `max_range_days`
const FIRST_DAY = "0001-01-01";
const LAST_DAY = "9999-12-31";

// The Date at midnight UTC of a day, or null when the text is not a real YYYY-MM-DD day.
function parseDay(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(typeof text === "string" ? text : "");
  if (!m) return null;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3])); // years < 100 stay as written
  return formatDay(d) === text ? d : null;
}

function formatDay(d) {
  const year = String(d.getUTCFullYear()).padStart(4, "0");
  const month = String(d.getUTCMonth() + 1).padStart(2, "0");
  return `${year}-${month}-${String(d.getUTCDate()).padStart(2, "0")}`;
}

function addDays(day, n) {
  const d = parseDay(day);
  d.setUTCDate(d.getUTCDate() + n);
  const year = d.getUTCFullYear();
  return year < 1 ? FIRST_DAY : year > 9999 ? LAST_DAY : formatDay(d);
}

function laterDay(a, b) { return a > b ? a : b; }

// The days from..to, both included, shortened at the start to at most maxDays.
function clampRange(from, to, maxDays) {
  const earliest = addDays(to, 1 - maxDays);
  return from >= earliest ? { from, to, clamped: false } : { from: earliest, to, clamped: true };
}

// The first view: the last `days` days of the span (its last day has data), or all of it.
function defaultRange(span, days) {
  return { from: laterDay(span.from, addDays(span.to, 1 - days)), to: span.to };
}

// ---------------------------------------------------------------------------------------------
// Names as text. labelParts splits a name into plain text and marks: a space at either end of
// the name or beside other white space shows as ␣, and any other white space, control, format
// or blank-looking character as ‹U+XXXX› (its code point), as do the combining marks of a name
// not in Unicode's composed form (NFC), which would look like its composed twin. The mark
// characters themselves (‹ and ␣) are shown as ‹U+XXXX› when a name holds them, so a mark never
// means two things and two different names never look the same; the empty name shows as
// ‹empty›. Labels that are not names (‹4 other drinks›) are in ‹ › too. Look-alike letters of
// different scripts (Latin a, Cyrillic а) are not told apart. ␣ (U+2423) rather than ␠ (U+2420):
// common fonts (DejaVu among them) have ␣ and ‹ ›, few have ␠, and a chart's canvas has no
// fallback but the system's fonts.

const SPACE = "␣";
const ESCAPED = new Set(["‹", SPACE]); // shown by code point when a name holds them
const WHITE = /^\p{White_Space}$/u;
const HIDDEN = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}\u034F\u115F\u1160\u3164\uFFA0\u2800]$/u;
const EMOJI = /^[\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F]$/u;
const COMBINING = /^\p{M}$/u;

function codePoint(ch) {
  return `U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}

function isPlain(ch) {
  return ch !== undefined && !WHITE.test(ch) && !HIDDEN.test(ch) && !ESCAPED.has(ch);
}

// Whether chars[i] shows as a mark; `decomposed`: the name is not in NFC.
function needsMark(chars, i, decomposed) {
  const ch = chars[i];
  if (decomposed && COMBINING.test(ch)) return true;
  if (ch === " ") return !(isPlain(chars[i - 1]) && isPlain(chars[i + 1]));
  if (ch === "\u200D") return !(EMOJI.test(chars[i - 1] ?? "") && EMOJI.test(chars[i + 1] ?? ""));
  return ESCAPED.has(ch) || WHITE.test(ch) || HIDDEN.test(ch);
}

function labelParts(name) {
  const text = String(name);
  if (text === "") return [{ text: "‹empty›", mark: true }];
  const chars = [...text]; // by code point
  const decomposed = text.normalize("NFC") !== text;
  const parts = [];
  chars.forEach((ch, i) => {
    const mark = needsMark(chars, i, decomposed);
    const shown = !mark ? ch : ch === " " ? SPACE : `‹${codePoint(ch)}›`;
    const last = parts[parts.length - 1];
    if (last && last.mark === mark) last.text += shown;
    else parts.push({ text: shown, mark });
  });
  return parts;
}

// A name as one line of text, for places that take plain text (chart labels, legends).
function labelText(name) { return labelParts(name).map((p) => p.text).join(""); }

// A name as text for Chart.js. Chart.js 4 caches the widths of axis labels in a plain object
// keyed by the label, so a label such as "constructor" or "__proto__" reads an inherited
// property as its width and the axis is laid out too narrow; such a label gets an invisible
// zero-width space at its end, which makes it an ordinary key. (labelText never ends a name in
// a plain U+200B: it shows one as ‹U+200B›.)
function canvasLabel(name) {
  const shown = labelText(name);
  return shown in Object.prototype ? `${shown}\u200B` : shown;
}

// A name quoted exactly, invisible characters written as \u escapes (for a tooltip).
function quoted(name) {
  const text = String(name);
  const chars = [...text];
  const decomposed = text.normalize("NFC") !== text;
  const body = chars.map((ch, i) => {
    if (ch === '"' || ch === "\\") return `\\${ch}`;
    if (ch !== " " && needsMark(chars, i, decomposed) && !ESCAPED.has(ch)) {
      const units = Array.from({ length: ch.length }, (_, k) => ch.charCodeAt(k)); // UTF-16, as JSON
      return units.map((u) => `\\u${u.toString(16).toUpperCase().padStart(4, "0")}`).join("");
    }
    return ch;
  });
  return `"${body.join("")}"`;
}

// ---------------------------------------------------------------------------------------------
// Rows from the API -> tables. Everything keyed by a name or a bucket is a Map.

function checkRows(metricName, body) {
  const ok = Array.isArray(body) && body.every((r) => r && typeof r.bucket === "string"
    && typeof r.dimension === "string" && Number.isFinite(r.value));
  if (!ok) throw new Error(`the API's answer for ${metricName} is not a list of metric rows`);
  return body;
}

// rows -> { buckets: sorted [bucket], cells: Map(dimension -> Map(bucket -> value)),
//           sums: Map(dimension -> sum over the buckets) }
function pivot(rows) {
  const buckets = new Set();
  const cells = new Map();
  const sums = new Map();
  for (const r of rows) {
    buckets.add(r.bucket);
    if (!cells.has(r.dimension)) cells.set(r.dimension, new Map());
    const byBucket = cells.get(r.dimension);
    byBucket.set(r.bucket, (byBucket.get(r.bucket) ?? 0) + r.value);
    sums.set(r.dimension, (sums.get(r.dimension) ?? 0) + r.value);
  }
  return { buckets: [...buckets].sort(), cells, sums };
}

function valueAt(table, dimension, bucket) { return table.cells.get(dimension)?.get(bucket) ?? 0; }

function compareText(a, b) { return a < b ? -1 : a > b ? 1 : 0; } // by code point, as the CLI

// The dimensions other than `total`, the largest sum first, ties by name.
function ranked(table, total) {
  return [...table.sums.keys()].filter((d) => d !== total)
    .sort((a, b) => table.sums.get(b) - table.sums.get(a) || compareText(a, b));
}

// Map(bucket -> the metric's total): its total counter, or (a metrics file without a total)
// the sum of its dimensions.
function bucketTotals(table, total) {
  const out = new Map(table.buckets.map((b) => [b, 0]));
  for (const [dimension, byBucket] of table.cells) {
    if (total && dimension !== total) continue;
    for (const [bucket, n] of byBucket) out.set(bucket, out.get(bucket) + n);
  }
  return out;
}

function sumOf(values) { let s = 0; for (const n of values) s += n; return s; }

function formatCount(n) { return String(n); }

// ---------------------------------------------------------------------------------------------
// The page.

const PALETTE = [
  "#8a4b24", "#d08c4f", "#5b8c5a", "#3f6e9a", "#b5495b", "#7d5ba6", "#c2a83e", "#4fa3a5",
  "#9a7b64", "#6b6b6b",
];
const MAX_SERIES = 8; // drinks drawn separately; the rest are summed as one group
const charts = new Map(); // canvas id -> Chart
let definitions = new Map(); // metric name -> definition from /api/metrics

function $(id) { return document.getElementById(id); }

function say(message) { $("status").textContent = message; }

async function getJSON(url) {
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

function metric(name) { return definitions.get(name); }

// The metric's rows, or null when the metrics file has no such metric.
async function rowsOf(name, from, to) {
  if (!metric(name)) return null;
  const query = new URLSearchParams({ from, to });
  return checkRows(name, await getJSON(`/api/metrics/${encodeURIComponent(name)}?${query}`));
}

function text(tag, value, className) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (className) el.className = className;
  return el;
}

// A name from the data, as an element: marks styled apart, the exact text in `title` (quoted)
// and in `data-name`.
function labelNode(name) {
  const el = document.createElement("span");
  el.className = "name";
  el.dataset.name = name;
  el.title = quoted(name);
  for (const part of labelParts(name)) el.append(part.mark ? text("span", part.text, "mark") : part.text);
  return el;
}

// What a table cell holds: an element (a name from the data is a labelNode), a count, or text.
function cellContent(cell) {
  if (cell instanceof Node) return cell;
  return document.createTextNode(typeof cell === "number" ? formatCount(cell) : String(cell));
}

// A table with a header row and body rows; `empty` is said in a row when there are none.
function fillTable(table, headers, rows, { totalColumn = -1, empty = "no data in this range" } = {}) {
  const caption = table.querySelector("caption");
  table.replaceChildren();
  if (caption) table.append(caption);
  const thead = document.createElement("thead");
  const head = document.createElement("tr");
  headers.forEach((h, i) => {
    const th = text("th", "", i === totalColumn ? "total" : "");
    th.append(cellContent(h));
    th.scope = "col";
    head.append(th);
  });
  thead.append(head);
  const tbody = document.createElement("tbody");
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = text("td", empty, "empty");
    td.colSpan = Math.max(headers.length, 1);
    tr.append(td);
    tbody.append(tr);
  }
  for (const row of rows) {
    const tr = document.createElement("tr");
    row.forEach((cell, i) => {
      const td = text(i === 0 ? "th" : "td", "", i === totalColumn ? "total" : "");
      td.append(cellContent(cell));
      if (i === 0) td.scope = "row";
      tr.append(td);
    });
    tbody.append(tr);
  }
  table.append(thead, tbody);
}

function draw(id, config) {
  if (typeof Chart === "undefined") return; // the tables still show the numbers
  charts.get(id)?.destroy();
  config.options = { responsive: true, maintainAspectRatio: false, animation: false, ...config.options };
  charts.set(id, new Chart($(id), config));
}

function clearChart(id) {
  charts.get(id)?.destroy();
  charts.delete(id);
}

// A panel whose metric the metrics file does not define: say so instead of showing zeros.
function showMissing(tableId, chartId, names) {
  const list = names.map((n) => `“${n}”`).join(" and ");
  fillTable($(tableId), [], [], { empty: `metric ${list} is not in this metrics file` });
  clearChart(chartId);
}

function renderSales(rows) {
  const m = metric("sales");
  if (!m) {
    showMissing("sales-table", "sales-chart", ["sales"]);
    $("kpi-sold").textContent = "–";
    $("kpi-top").textContent = "–";
    return null;
  }
  const table = pivot(rows);
  const totals = bucketTotals(table, m.total);
  const drinks = ranked(table, m.total);
  const totalHeader = m.total ? labelNode(m.total) : text("span", "‹sum›", "derived");
  if (!m.total) totalHeader.title = "the metrics file counts no total for sales: the sum of the columns";
  fillTable(
    $("sales-table"),
    ["day", totalHeader, ...drinks.map(labelNode)],
    table.buckets.map((b) => [b, totals.get(b), ...drinks.map((d) => valueAt(table, d, b))]),
    { totalColumn: 1 },
  );
  const shown = drinks.slice(0, MAX_SERIES);
  const rest = drinks.slice(MAX_SERIES);
  const datasets = shown.map((d, i) => ({
    label: canvasLabel(d), stack: "drinks", backgroundColor: PALETTE[i % PALETTE.length],
    data: table.buckets.map((b) => valueAt(table, d, b)),
  }));
  if (rest.length) {
    datasets.push({
      label: `‹${rest.length} other ${rest.length === 1 ? "drink" : "drinks"}›`, stack: "drinks",
      backgroundColor: "#c9bcb0",
      data: table.buckets.map((b) => sumOf(rest.map((d) => valueAt(table, d, b)))),
    });
  }
  draw("sales-chart", {
    type: "bar",
    data: { labels: table.buckets, datasets },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
  const sold = sumOf(totals.values());
  $("kpi-sold").textContent = formatCount(sold);
  const top = drinks[0];
  $("kpi-top").replaceChildren(...(top === undefined ? ["–"] : [labelNode(top), ` (${formatCount(table.sums.get(top))})`]));
  return sold;
}

function renderOutcomes(completed, cancelled) {
  const done = metric("completions");
  const lost = metric("cancellations");
  const missing = ["completions", "cancellations"].filter((n) => !metric(n));
  const doneTotals = done ? bucketTotals(pivot(completed), done.total) : new Map();
  const lostTotals = lost ? bucketTotals(pivot(cancelled), lost.total) : new Map();
  const completedSum = done ? sumOf(doneTotals.values()) : null;
  const cancelledSum = lost ? sumOf(lostTotals.values()) : null;
  $("kpi-completed").textContent = done ? formatCount(completedSum) : "–";
  $("kpi-cancelled").textContent = lost ? formatCount(cancelledSum) : "–";
  const decided = (completedSum ?? 0) + (cancelledSum ?? 0);
  $("kpi-rate").textContent = done && lost && decided ? `${((100 * cancelledSum) / decided).toFixed(1)} %` : "–";
  if (missing.length === 2) { showMissing("outcomes-table", "outcomes-chart", missing); return; }
  const buckets = [...new Set([...doneTotals.keys(), ...lostTotals.keys()])].sort();
  const columns = [["completed", done, doneTotals, "#5b8c5a"], ["cancelled", lost, lostTotals, "#b5495b"]]
    .filter(([, def]) => def);
  fillTable(
    $("outcomes-table"),
    ["day", ...columns.map(([label]) => label)],
    buckets.map((b) => [b, ...columns.map(([, , totals]) => totals.get(b) ?? 0)]),
    { empty: missing.length ? `no data in this range; metric “${missing[0]}” is not in this metrics file` : undefined },
  );
  draw("outcomes-chart", {
    type: "bar",
    data: {
      labels: buckets,
      datasets: columns.map(([label, , totals, color]) => ({
        label, data: buckets.map((b) => totals.get(b) ?? 0), backgroundColor: color,
      })),
    },
    options: { scales: { y: { beginAtZero: true } } },
  });
}

function renderModifiers(rows) {
  const m = metric("modifiers");
  if (!m) { showMissing("modifiers-table", "modifiers-chart", ["modifiers"]); return; }
  const table = pivot(rows);
  const names = ranked(table, m.total);
  fillTable(
    $("modifiers-table"),
    [m.dimension_label || "modifier", "orders"],
    names.map((n) => [labelNode(n), table.sums.get(n)]),
  );
  const top = names.slice(0, 10);
  draw("modifiers-chart", {
    type: "bar",
    data: {
      labels: top.map(canvasLabel),
      datasets: [{ label: "orders", data: top.map((n) => table.sums.get(n)), backgroundColor: "#d08c4f" }],
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } } },
  });
}

let hourlyTotals = new Map(); // hour bucket ("2022-10-14T12") -> drinks

function hourlyDays() { return [...new Set([...hourlyTotals.keys()].map((b) => b.slice(0, 10)))].sort(); }

function renderHourly(day) {
  if (!metric("hourly_sales")) { showMissing("hourly-table", "hourly-chart", ["hourly_sales"]); return; }
  const hours = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
  const byHour = new Map(hours.map((h) => [h, hourlyTotals.get(`${day}T${h}`) ?? 0]));
  const open = hours.filter((h) => byHour.get(h));
  fillTable($("hourly-table"), ["hour", "drinks"], open.map((h) => [`${h}:00`, byHour.get(h)]));
  draw("hourly-chart", {
    type: "bar",
    data: {
      labels: hours.map((h) => `${h}:00`),
      datasets: [{ label: "drinks", data: hours.map((h) => byHour.get(h)), backgroundColor: "#8a4b24" }],
    },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
  });
}

function showHourly(rows) {
  const m = metric("hourly_sales");
  hourlyTotals = m ? bucketTotals(pivot(rows), m.total) : new Map();
  const days = hourlyDays();
  $("hourly-day").replaceChildren(...days.map((d) => text("option", d)));
  $("hourly-day").value = days[days.length - 1] ?? "";
  renderHourly($("hourly-day").value);
}

// After a load: the note that explains the marks, shown when a name on the page has some.
function updateMarksNote() {
  $("marks-note").hidden = !document.querySelector("main .name .mark");
}

let span = { from: null, to: null };
let loads = 0; // the latest load wins when loads overlap

// Load and draw the days from..to; `note` is said after the totals.
async function show(from, to, note = "") {
  const ticket = ++loads;
  delete document.body.dataset.loaded;
  say(`Loading ${from} to ${to}…`);
  try {
    const [sales, completed, cancelled, modifiers, hourly] = await Promise.all(
      ["sales", "completions", "cancellations", "modifiers", "hourly_sales"].map((n) => rowsOf(n, from, to)),
    );
    if (ticket !== loads) return;
    const sold = renderSales(sales);
    renderOutcomes(completed, cancelled);
    renderModifiers(modifiers);
    showHourly(hourly);
    updateMarksNote();
    const total = sold === null ? `Showing ${from} to ${to}.` : `${formatCount(sold)} drinks sold from ${from} to ${to}.`;
    say(note ? `${total} ${note}` : total);
    document.body.dataset.loaded = `${from}..${to}`;
  } catch (error) {
    if (ticket === loads) say(`Could not load the metrics: ${error.message}`);
  }
}

// A range asked for: checked, shortened to what the API answers, then shown.
function request(from, to, why) {
  if (!parseDay(from)) { say("Choose the first day (YYYY-MM-DD)."); return; }
  if (!parseDay(to)) { say("Choose the last day (YYYY-MM-DD)."); return; }
  if (from > to) { say("The first day must not be after the last."); return; }
  const maxDays = maxRangeDays();
  const range = clampRange(from, to, maxDays);
  $("from").value = range.from;
  $("to").value = range.to;
  const notes = [];
  if (range.clamped) {
    notes.push(`${why || `You asked for ${from} to ${to};`} the API answers at most ${maxDays} days at once, `
      + `so this shows the last ${maxDays} days. Choose earlier days above.`);
  }
  show(range.from, range.to, notes.join(" "));
}

function maxRangeDays() {
  const n = span.max_range_days;
  return Number.isInteger(n) && n > 0 ? Math.min(n, API_MAX_DAYS) : API_MAX_DAYS;
}

function checkSpan(body) {
  const day = (v) => v === null || parseDay(v) !== null;
  if (!body || !day(body.from) || !day(body.to) || (body.from === null) !== (body.to === null)) {
    throw new Error("/api/span did not answer a span of days");
  }
  return body;
}

// The span of the data, asked again (orders keep coming while the page is open); the date
// inputs offer all of it.
async function loadSpan() {
  span = checkSpan(await getJSON("/api/span"));
  for (const input of [$("from"), $("to")]) {
    input.min = span.from ?? "";
    input.max = span.to ?? "";
  }
}

async function quickRange(days) {
  try {
    await loadSpan();
  } catch (error) {
    say(`Could not load the span of the data: ${error.message}`);
    return;
  }
  if (!span.from) { say("No data yet: publish some orders and run the worker."); return; }
  if (days === "all") request(span.from, span.to, `The data runs from ${span.from} to ${span.to};`);
  else request(addDays(span.to, 1 - Number(days)), span.to); // the last `days` days, data or not
}

async function start() {
  try {
    const [defs] = await Promise.all([getJSON("/api/metrics"), loadSpan()]);
    if (!Array.isArray(defs)) throw new Error("/api/metrics did not answer a list of metrics");
    definitions = new Map(defs.map((d) => [d.name, d]));
  } catch (error) {
    say(`Could not load the metric definitions and the span of the data: ${error.message}. Reload the page to try again.`);
    return;
  }
  $("zone").textContent = `Days counted by order time in ${span.time_zone}`;
  $("range").addEventListener("submit", (e) => { e.preventDefault(); request($("from").value, $("to").value); });
  for (const button of document.querySelectorAll("button[data-days]")) {
    button.addEventListener("click", () => quickRange(button.dataset.days));
  }
  $("hourly-day").addEventListener("change", (e) => renderHourly(e.target.value));
  if (!span.from) {
    const today = new Date().toISOString().slice(0, 10);
    $("from").value = today;
    $("to").value = today;
    say("No data yet: publish some orders and run the worker.");
    return;
  }
  const first = defaultRange(span, DEFAULT_DAYS);
  $("from").value = first.from;
  $("to").value = first.to;
  const whole = first.from === span.from ? "" : `The data runs from ${span.from} to ${span.to}: choose other days above, or All data.`;
  show(first.from, first.to, whole);
}

document.addEventListener("DOMContentLoaded", start);
