// The presso-metrics dashboard. Reads the JSON API of the server that serves it; every label
// comes from the data and is written with textContent, never parsed as HTML.
"use strict";

const PALETTE = [
  "#8a4b24", "#d08c4f", "#5b8c5a", "#3f6e9a", "#b5495b", "#7d5ba6", "#c2a83e", "#4fa3a5",
  "#9a7b64", "#6b6b6b",
];
const MAX_SERIES = 8; // drinks drawn separately; the rest are summed as "other drinks"
const charts = {};
let definitions = [];

function $(id) { return document.getElementById(id); }

function say(text) { $("status").textContent = text; }

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || `${response.status} ${response.statusText}`);
  return body;
}

function metric(name) { return definitions.find((m) => m.name === name); }

async function rowsOf(name, from, to) {
  if (!metric(name)) return null; // not in this metrics file
  const query = new URLSearchParams({ from, to });
  return getJSON(`/api/metrics/${encodeURIComponent(name)}?${query}`);
}

function text(tag, value, className) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (className) el.className = className;
  return el;
}

// A table with a header row and body rows; cells are plain text.
function fillTable(table, headers, rows, totalColumn) {
  const caption = table.querySelector("caption");
  table.replaceChildren();
  if (caption) table.append(caption);
  const thead = document.createElement("thead");
  const head = document.createElement("tr");
  headers.forEach((h, i) => {
    const th = text("th", h, i === totalColumn ? "total" : "");
    th.scope = "col";
    head.append(th);
  });
  thead.append(head);
  const tbody = document.createElement("tbody");
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = text("td", "no data in this range");
    td.colSpan = headers.length;
    tr.append(td);
    tbody.append(tr);
  }
  for (const row of rows) {
    const tr = document.createElement("tr");
    row.forEach((cell, i) => {
      const td = text(i === 0 ? "th" : "td", String(cell), i === totalColumn ? "total" : "");
      if (i === 0) td.scope = "row";
      tr.append(td);
    });
    tbody.append(tr);
  }
  table.append(thead, tbody);
}

// Rows -> { buckets: [...], series: {dimension: {bucket: value}}, sums: {dimension: n} }
function pivot(rows) {
  const buckets = [];
  const series = {};
  const sums = {};
  for (const r of rows) {
    if (!buckets.includes(r.bucket)) buckets.push(r.bucket);
    (series[r.dimension] ||= {})[r.bucket] = r.value;
    sums[r.dimension] = (sums[r.dimension] || 0) + r.value;
  }
  buckets.sort();
  return { buckets, series, sums };
}

function draw(id, config) {
  if (typeof Chart === "undefined") return; // tables still show the numbers
  if (charts[id]) charts[id].destroy();
  config.options = Object.assign(
    { responsive: true, maintainAspectRatio: false, animation: false },
    config.options || {},
  );
  charts[id] = new Chart($(id), config);
}

function renderSales(rows) {
  const m = metric("sales");
  const total = m ? m.total : "TotalSales";
  const { buckets, series, sums } = pivot(rows || []);
  const drinks = Object.keys(sums).filter((d) => d !== total).sort((a, b) => sums[b] - sums[a] || a.localeCompare(b));
  fillTable(
    $("sales-table"),
    ["day", total, ...drinks],
    buckets.map((b) => [b, (series[total] || {})[b] || 0, ...drinks.map((d) => series[d][b] || 0)]),
    1,
  );
  const shown = drinks.slice(0, MAX_SERIES);
  const rest = drinks.slice(MAX_SERIES);
  const datasets = shown.map((d, i) => ({
    label: d, data: buckets.map((b) => series[d][b] || 0), backgroundColor: PALETTE[i % PALETTE.length], stack: "drinks",
  }));
  if (rest.length) {
    datasets.push({
      label: `other drinks (${rest.length})`, stack: "drinks", backgroundColor: "#c9bcb0",
      data: buckets.map((b) => rest.reduce((s, d) => s + (series[d][b] || 0), 0)),
    });
  }
  draw("sales-chart", {
    type: "bar",
    data: { labels: buckets, datasets },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
  const top = drinks[0];
  $("kpi-sold").textContent = String(sums[total] || 0);
  $("kpi-top").textContent = top ? `${top} (${sums[top]})` : "–";
  return sums[total] || 0;
}

function renderOutcomes(completed, cancelled) {
  const done = pivot(completed || []);
  const lost = pivot(cancelled || []);
  const doneTotal = (metric("completions") || {}).total || "TotalCompleted";
  const lostTotal = (metric("cancellations") || {}).total || "TotalCancelled";
  const buckets = [...new Set([...done.buckets, ...lost.buckets])].sort();
  const c = buckets.map((b) => (done.series[doneTotal] || {})[b] || 0);
  const x = buckets.map((b) => (lost.series[lostTotal] || {})[b] || 0);
  fillTable($("outcomes-table"), ["day", "completed", "cancelled"], buckets.map((b, i) => [b, c[i], x[i]]));
  draw("outcomes-chart", {
    type: "bar",
    data: {
      labels: buckets,
      datasets: [
        { label: "completed", data: c, backgroundColor: "#5b8c5a" },
        { label: "cancelled", data: x, backgroundColor: "#b5495b" },
      ],
    },
    options: { scales: { y: { beginAtZero: true } } },
  });
  const completedSum = done.sums[doneTotal] || 0;
  const cancelledSum = lost.sums[lostTotal] || 0;
  $("kpi-completed").textContent = String(completedSum);
  $("kpi-cancelled").textContent = String(cancelledSum);
  const decided = completedSum + cancelledSum;
  $("kpi-rate").textContent = decided ? `${((100 * cancelledSum) / decided).toFixed(1)} %` : "–";
}

function renderModifiers(rows) {
  const { sums } = pivot(rows || []);
  const ranked = Object.entries(sums).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  fillTable($("modifiers-table"), ["modifier", "orders"], ranked);
  const top = ranked.slice(0, 10);
  draw("modifiers-chart", {
    type: "bar",
    data: {
      labels: top.map(([name]) => name),
      datasets: [{ label: "orders", data: top.map(([, n]) => n), backgroundColor: "#d08c4f" }],
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } } },
  });
}

function renderHourly(rows, day) {
  const total = (metric("hourly_sales") || {}).total || "HourlyTotal";
  const byHour = {};
  for (const r of rows || []) if (r.bucket.startsWith(day) && r.dimension === total) byHour[r.bucket.slice(11, 13)] = r.value;
  const hours = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
  const open = hours.filter((h) => byHour[h]);
  fillTable($("hourly-table"), ["hour", "drinks"], open.map((h) => [`${h}:00`, byHour[h]]));
  draw("hourly-chart", {
    type: "bar",
    data: {
      labels: hours.map((h) => `${h}:00`),
      datasets: [{ label: "drinks", data: hours.map((h) => byHour[h] || 0), backgroundColor: "#8a4b24" }],
    },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
  });
}

let hourlyRows = [];

async function show(from, to) {
  if (from > to) { say("The first day must not be after the last."); return; }
  say(`Loading ${from} to ${to}…`);
  try {
    const [sales, completed, cancelled, modifiers, hourly] = await Promise.all(
      ["sales", "completions", "cancellations", "modifiers", "hourly_sales"].map((n) => rowsOf(n, from, to)),
    );
    const sold = renderSales(sales);
    renderOutcomes(completed, cancelled);
    renderModifiers(modifiers);
    hourlyRows = hourly || [];
    const days = [...new Set(hourlyRows.map((r) => r.bucket.slice(0, 10)))].sort();
    const select = $("hourly-day");
    select.replaceChildren(...days.map((d) => { const o = document.createElement("option"); o.value = d; o.textContent = d; return o; }));
    select.value = days[days.length - 1] || "";
    renderHourly(hourlyRows, select.value);
    say(`${sold} drinks sold from ${from} to ${to}.`);
    document.body.dataset.loaded = `${from}..${to}`;
  } catch (error) {
    say(`Could not load the metrics: ${error.message}`);
  }
}

function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

async function start() {
  try {
    [definitions] = await Promise.all([getJSON("/api/metrics")]);
  } catch (error) {
    say(`Could not load the metric definitions: ${error.message}`);
    return;
  }
  const span = await getJSON("/api/span");
  $("zone").textContent = `Days counted by order time in ${span.time_zone}`;
  const today = new Date().toISOString().slice(0, 10);
  const first = span.from || today;
  const last = span.to || today;
  $("from").value = first;
  $("to").value = last;
  $("range").addEventListener("submit", (e) => { e.preventDefault(); show($("from").value, $("to").value); });
  for (const button of document.querySelectorAll("button[data-days]")) {
    button.addEventListener("click", () => {
      const days = button.dataset.days;
      $("from").value = days === "all" ? first : addDays(last, 1 - Number(days));
      $("to").value = last;
      show($("from").value, $("to").value);
    });
  }
  $("hourly-day").addEventListener("change", (e) => renderHourly(hourlyRows, e.target.value));
  if (!span.from) { say("No data yet: publish some orders and run the worker."); return; }
  show(first, last);
}

document.addEventListener("DOMContentLoaded", start);
