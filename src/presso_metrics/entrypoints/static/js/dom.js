// Writing to the page. Every name from the data goes in as text: labelNode in the page,
// canvasLabel on a chart's canvas; nothing is ever parsed as markup.

import { labelParts, quoted } from "./labels.js";
import { formatCount } from "./rows.js";

const charts = new Map(); // canvas id -> Chart

export function $(id) { return document.getElementById(id); }

export function say(message) { $("status").textContent = message; }

export function text(tag, value, className) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (className) el.className = className;
  return el;
}

// A name from the data, as an element: marks styled apart, the exact text in `title` (quoted)
// and in `data-name`.
export function labelNode(name) {
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

// A table with a header row and body rows; `empty` is said in a row when there are none; the
// rows at the indexes in `totalRows` (and the column `totalColumn`) are set in bold.
export function fillTable(table, headers, rows,
  { totalColumn = -1, totalRows = [], empty = "no data in this range" } = {}) {
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
  rows.forEach((row, r) => {
    const tr = document.createElement("tr");
    if (totalRows.includes(r)) tr.className = "total";
    row.forEach((cell, i) => {
      const td = text(i === 0 ? "th" : "td", "", i === totalColumn ? "total" : "");
      td.append(cellContent(cell));
      if (i === 0) td.scope = "row";
      tr.append(td);
    });
    tbody.append(tr);
  });
  table.append(thead, tbody);
}

// Draw a chart, or redraw the one on that canvas in place (no flicker when the page refreshes).
export function draw(id, config) {
  if (typeof Chart === "undefined") return; // the tables still show the numbers
  const options = { responsive: true, maintainAspectRatio: false, animation: false, ...config.options };
  const chart = charts.get(id);
  if (chart && chart.config.type === config.type) {
    chart.data = config.data;
    chart.options = options;
    chart.update("none");
    return;
  }
  chart?.destroy();
  charts.set(id, new Chart($(id), { ...config, options }));
}

export function clearChart(id) {
  charts.get(id)?.destroy();
  charts.delete(id);
}

// A panel whose metric the metrics file does not define: say so instead of showing zeros.
export function showMissing(tableId, chartId, names) {
  const list = names.map((n) => `“${n}”`).join(" and ");
  fillTable($(tableId), [], [], { empty: `metric ${list} is not in this metrics file` });
  clearChart(chartId);
}

// Replace an element's options (text only) when they differ from `labels`; `titles` are
// their tooltips. Leaves an open list alone when nothing changed.
export function setOptions(select, labels, titles = []) {
  const now = [...select.options].map((o) => o.textContent);
  if (now.length === labels.length && now.every((t, i) => t === labels[i])) return;
  select.replaceChildren(...labels.map((label, i) => {
    const option = text("option", label);
    if (titles[i]) option.title = titles[i];
    return option;
  }));
}
