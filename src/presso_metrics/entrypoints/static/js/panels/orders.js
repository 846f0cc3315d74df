// The order panels: daily sales by drink, completions against cancellations, the popular
// modifiers, the hourly profile of a day, and the totals above them.
//
// A source is {rows, total, name} (total: the name of the total counter among the rows, or null
// when the rows' dimensions are to be added up: one shop's rows) or {missing: metric name}.

import { $, draw, fillTable, labelNode, showMissing, text } from "../dom.js";
import { canvasLabel } from "../labels.js";
import { bucketTotals, formatCount, pivot, ranked, sumOf, valueAt } from "../rows.js";
import { formatTenth } from "../histogram.js";

export const PALETTE = [
  "#8a4b24", "#d08c4f", "#5b8c5a", "#3f6e9a", "#b5495b", "#7d5ba6", "#c2a83e", "#4fa3a5",
  "#9a7b64", "#6b6b6b",
];
const MAX_SERIES = 8; // drinks drawn separately; the rest are summed as one group

export function percent(part, whole) { return `${formatTenth((100 * part) / whole)} %`; }

// Returns the drinks sold, or null when there is no sales metric.
export function renderSales(source) {
  if (source.missing) {
    showMissing("sales-table", "sales-chart", [source.missing]);
    $("kpi-sold").textContent = "–";
    $("kpi-top").textContent = "–";
    return null;
  }
  const table = pivot(source.rows);
  const totals = bucketTotals(table, source.total);
  const drinks = ranked(table, source.total);
  const totalHeader = source.total ? labelNode(source.total) : text("span", "‹sum›", "derived");
  if (!source.total) totalHeader.title = source.sumTitle;
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

export function renderOutcomes(done, lost) {
  const missing = [done, lost].filter((s) => s.missing).map((s) => s.missing);
  const doneTotals = done.missing ? new Map() : bucketTotals(pivot(done.rows), done.total);
  const lostTotals = lost.missing ? new Map() : bucketTotals(pivot(lost.rows), lost.total);
  const completedSum = done.missing ? null : sumOf(doneTotals.values());
  const cancelledSum = lost.missing ? null : sumOf(lostTotals.values());
  $("kpi-completed").textContent = completedSum === null ? "–" : formatCount(completedSum);
  $("kpi-cancelled").textContent = cancelledSum === null ? "–" : formatCount(cancelledSum);
  const decided = (completedSum ?? 0) + (cancelledSum ?? 0);
  $("kpi-rate").textContent = missing.length === 0 && decided ? percent(cancelledSum, decided) : "–";
  if (missing.length === 2) { showMissing("outcomes-table", "outcomes-chart", missing); return; }
  const buckets = [...new Set([...doneTotals.keys(), ...lostTotals.keys()])].sort();
  const columns = [["completed", done, doneTotals, "#5b8c5a"], ["cancelled", lost, lostTotals, "#b5495b"]]
    .filter(([, source]) => !source.missing);
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

export function renderModifiers(source, definition) {
  if (source.missing) { showMissing("modifiers-table", "modifiers-chart", [source.missing]); return; }
  const table = pivot(source.rows);
  const names = ranked(table, source.total);
  fillTable(
    $("modifiers-table"),
    [definition.dimension_label || "modifier", "orders"],
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

const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
let hourlyTotals = new Map(); // hour bucket ("2022-10-14T12") -> drinks

function renderHourly(day) {
  const byHour = new Map(HOURS.map((h) => [h, hourlyTotals.get(`${day}T${h}`) ?? 0]));
  const open = HOURS.filter((h) => byHour.get(h));
  fillTable($("hourly-table"), ["hour", "drinks"], open.map((h) => [`${h}:00`, byHour.get(h)]));
  draw("hourly-chart", {
    type: "bar",
    data: {
      labels: HOURS.map((h) => `${h}:00`),
      datasets: [{ label: "drinks", data: HOURS.map((h) => byHour.get(h)), backgroundColor: "#8a4b24" }],
    },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
  });
}

// The hourly profile; the chosen day stays chosen while it is in the range (the latest day
// otherwise).
export function showHourly(source) {
  const select = $("hourly-day");
  if (source.missing) {
    hourlyTotals = new Map();
    select.replaceChildren();
    showMissing("hourly-table", "hourly-chart", [source.missing]);
    return;
  }
  hourlyTotals = bucketTotals(pivot(source.rows), source.total);
  const days = [...new Set([...hourlyTotals.keys()].map((b) => b.slice(0, 10)))].sort();
  const chosen = select.value;
  if (select.options.length !== days.length || days.some((d, i) => select.options[i].value !== d)) {
    select.replaceChildren(...days.map((d) => text("option", d)));
  }
  select.value = days.includes(chosen) ? chosen : days[days.length - 1] ?? "";
  renderHourly(select.value);
}

export function wireHourly() {
  $("hourly-day").addEventListener("change", (e) => renderHourly(e.target.value));
}

