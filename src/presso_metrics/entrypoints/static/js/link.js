// The view in the page's address: ?from=YYYY-MM-DD&to=YYYY-MM-DD&shop=NYC (&refresh=seconds), so a
// link reproduces it. Pure. Everything in a link is text from outside: a bad value is said (as
// text, shortened) and left out, never used.

import { parseDay } from "./days.js";
import { clipped } from "./labels.js";

export const REFRESH_SECONDS = 30;
const MAX_REFRESH_SECONDS = 3600;

// {from, to: a valid day or null; shop: a name or null (all shops); refresh: seconds;
//  problems: [what was wrong, as a sentence fragment]}
export function readLink(search) {
  const params = new URLSearchParams(search);
  const link = { from: null, to: null, shop: null, refresh: REFRESH_SECONDS, problems: [] };
  for (const key of ["from", "to"]) {
    if (!params.has(key)) continue;
    const value = params.get(key);
    if (parseDay(value)) link[key] = value;
    else link.problems.push(`the link's ${key} “${clipped(value)}” is not a day written YYYY-MM-DD`);
  }
  if (link.from && link.to && link.from > link.to) {
    link.problems.push(`the link's from ${link.from} is after its to ${link.to}`);
    link.from = link.to = null;
  }
  if (params.has("shop")) link.shop = params.get("shop"); // checked against the data's shops
  if (params.has("refresh")) {
    const value = params.get("refresh");
    const n = /^[0-9]{1,4}$/.test(value) ? Number(value) : NaN;
    if (n >= 1 && n <= MAX_REFRESH_SECONDS) link.refresh = n;
    else link.problems.push(`the link's refresh “${clipped(value)}” is not a number of seconds from 1 to ${MAX_REFRESH_SECONDS}`);
  }
  return link;
}

// The address's query for a view: from, to and shop (none: all shops) first, then whatever else
// it held (refresh) as it was.
export function linkSearch(search, { from, to, shop }) {
  const old = new URLSearchParams(search);
  const params = new URLSearchParams({ from, to });
  if (shop !== null) params.set("shop", shop);
  for (const [key, value] of old) if (!["from", "to", "shop"].includes(key)) params.append(key, value);
  return `?${params}`;
}
