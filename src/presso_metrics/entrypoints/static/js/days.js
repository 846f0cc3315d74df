// Days: "YYYY-MM-DD" text, compared as text (it sorts in time order), computed in UTC. Pure.

export const FIRST_DAY = "0001-01-01";
export const LAST_DAY = "9999-12-31";
const DAY_MS = 86_400_000;

// The Date at midnight UTC of a day, or null when the text is not a real YYYY-MM-DD day.
export function parseDay(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(typeof text === "string" ? text : "");
  if (!m) return null;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3])); // years < 100 stay as written
  return formatDay(d) === text ? d : null;
}

export function formatDay(d) {
  const year = String(d.getUTCFullYear()).padStart(4, "0");
  const month = String(d.getUTCMonth() + 1).padStart(2, "0");
  return `${year}-${month}-${String(d.getUTCDate()).padStart(2, "0")}`;
}

export function addDays(day, n) {
  const d = parseDay(day);
  d.setUTCDate(d.getUTCDate() + n);
  const year = d.getUTCFullYear();
  return year < 1 ? FIRST_DAY : year > 9999 ? LAST_DAY : formatDay(d);
}

export function laterDay(a, b) { return a > b ? a : b; }

// How many days from..to holds, both included.
export function daysIn(from, to) { return Math.round((parseDay(to) - parseDay(from)) / DAY_MS) + 1; }

// The days from..to, both included, shortened at the start to at most maxDays.
export function clampRange(from, to, maxDays) {
  const earliest = addDays(to, 1 - maxDays);
  return from >= earliest ? { from, to, clamped: false } : { from: earliest, to, clamped: true };
}

// The first view: the last `days` days of the span (its last day has data), or all of it.
export function defaultRange(span, days) {
  return { from: laterDay(span.from, addDays(span.to, 1 - days)), to: span.to };
}

// The period of the same length just before from..to, or null when from is the first day there is.
export function previousRange(from, to) {
  if (from === FIRST_DAY) return null;
  const last = addDays(from, -1);
  return { from: addDays(last, 1 - daysIn(from, to)), to: last };
}
