// This period against the one just before it (the same number of days): drinks sold, the
// completion rate (completions / drinks sold) and the median wait, each with its change. An
// arrow gives the direction, the colour whether it is better (more sales, more completed, a
// shorter wait) or worse, and the numbers say how much.

import { $, text } from "../dom.js";
import { addHistograms, formatTenth, quantile } from "../histogram.js";
import { formatCount, grandTotal } from "../rows.js";

const MINUS = "\u2212";

// One period's figures from its sources ({rows, total} or {missing}, as the panels take them).
export function periodFigures({ sales, completions, waits }) {
  const sold = sales.missing ? null : grandTotal(sales);
  const completed = completions.missing ? null : grandTotal(completions);
  let median = null;
  if (!waits.missing) {
    const all = addHistograms(waits.rows, () => "all").get("all");
    median = all ? quantile(0.5, all, waits.bounds) : null;
  }
  return { sold, completed, rate: sold && completed !== null ? (100 * completed) / sold : null, median };
}

function signed(text, x) { return `${x > 0 ? "+" : x < 0 ? MINUS : "±"}${text}`; }

// {direction: up|down|same|none, verdict: better|worse|same|none, text}; `shown` rounds a
// figure as it is shown (a change too small to show is no change); `higherIsBetter`.
export function change(now, before, { shown, unit, higherIsBetter, relative }) {
  if (now === null || before === null) return { direction: "none", verdict: "none", text: "no comparison" };
  const delta = Number(shown(now - before));
  const direction = delta > 0 ? "up" : delta < 0 ? "down" : "same";
  const verdict = direction === "same" ? "same" : (delta > 0) === higherIsBetter ? "better" : "worse";
  let said = `${signed(shown(Math.abs(now - before)), delta)}${unit}`;
  if (relative && before !== 0) said += ` (${signed(formatTenth(Math.abs((100 * (now - before)) / before)), delta)} %)`;
  return { direction, verdict, text: said };
}

const ARROWS = { up: "▲", down: "▼", same: "=", none: "" };

function card(id, nowText, beforeText, result) {
  const el = $(id);
  el.dataset.direction = result.direction;
  el.dataset.verdict = result.verdict;
  el.querySelector(".now").textContent = nowText;
  const arrow = ARROWS[result.direction];
  el.querySelector(".change").replaceChildren(...(arrow ? [text("span", arrow, "arrow"), " "] : []), result.text);
  el.querySelector(".before").textContent = beforeText;
}

const count = (n) => (n === null ? "–" : formatCount(n));
const rate = (r) => (r === null ? "–" : `${formatTenth(r)} %`);
const wait = (s) => (s === null ? "–" : `${formatTenth(s)} s`);

// `previous`: {from, to, days} or null (no day before the range); `now`, `before`:
// periodFigures (before null: nothing to compare, the data starting on `firstDay`).
export function renderTrend(now, before, previous, firstDay) {
  const days = previous && (previous.days === 1 ? "day" : `${previous.days} days`);
  $("trend-period").textContent = !previous ? "There is no period before this one."
    : before ? `Compared with the ${days} before: ${previous.from === previous.to ? previous.from : `${previous.from} to ${previous.to}`}.`
      : `Nothing to compare with: the data starts on ${firstDay}, after the ${days} before this period (${previous.from} to ${previous.to}).`;
  const none = { sold: null, completed: null, rate: null, median: null };
  const b = before ?? none;
  const hasSales = b.sold !== null && b.sold > 0;
  card("trend-sales", count(now.sold), `before: ${count(b.sold)}`,
    change(now.sold, b.sold, { shown: formatCount, unit: "", higherIsBetter: true, relative: hasSales }));
  card("trend-completion", rate(now.rate), `before: ${rate(b.rate)}`,
    change(now.rate, b.rate, { shown: formatTenth, unit: " pt", higherIsBetter: true }));
  card("trend-wait", wait(now.median), `before: ${wait(b.median)}`,
    change(now.median, b.median, { shown: formatTenth, unit: " s", higherIsBetter: false, relative: true }));
}
