// The cancellation rate of each drink: orders of it cancelled / orders of it, in the range and
// the selection. Cancellations count under the drink of their order; one whose order's drink
// is not known (its WaitingCompletion never arrived) counts under the metrics file's missing
// label ("unknown"), which has no orders: such a drink shows its count and no rate.

import { $, draw, fillTable, labelNode, showMissing, text } from "../dom.js";
import { canvasLabel, compareText } from "../labels.js";
import { grandTotal, sumsBy } from "../rows.js";
import { percent } from "./orders.js";

const MAX_BARS = 12;

// [{drink, orders, cancelled, rate (a fraction, or null without orders)}]: drinks with orders by
// rate, highest first (ties by orders, then name), then those cancelled without any order.
export function cancellationRates(sales, cancellations) {
  const sold = sumsBy(sales.rows, sales.total);
  const lost = sumsBy(cancellations.rows, cancellations.total);
  const drinks = [...new Set([...sold.keys(), ...lost.keys()])];
  const rows = drinks.map((drink) => {
    const orders = sold.get(drink) ?? 0;
    const cancelled = lost.get(drink) ?? 0;
    return { drink, orders, cancelled, rate: orders ? cancelled / orders : null };
  });
  return rows.sort((a, b) => (a.rate === null) - (b.rate === null) || (b.rate ?? 0) - (a.rate ?? 0)
    || b.orders - a.orders || compareText(a.drink, b.drink));
}

export function renderCancelRates(sales, cancellations) {
  const missing = [sales, cancellations].filter((s) => s.missing).map((s) => s.missing);
  if (missing.length) { showMissing("cancel-rates-table", "cancel-rates-chart", missing); return; }
  const rates = cancellationRates(sales, cancellations);
  const orders = grandTotal(sales);
  const cancelled = grandTotal(cancellations);
  const noOrders = "no orders of this drink in the range: its cancellations have no rate";
  const rows = rates.map((r) => {
    const rate = r.rate === null ? text("span", "–", "muted") : percent(r.cancelled, r.orders);
    if (r.rate === null) rate.title = noOrders;
    return [labelNode(r.drink), r.orders, r.cancelled, rate];
  });
  if (rates.length) rows.push([text("span", "‹all drinks›", "derived"), orders, cancelled, orders ? percent(cancelled, orders) : "–"]);
  fillTable($("cancel-rates-table"), ["drink", "orders", "cancelled", "rate"], rows, { totalRows: [rows.length - 1] });
  const drawn = rates.filter((r) => r.rate !== null).slice(0, MAX_BARS);
  draw("cancel-rates-chart", {
    type: "bar",
    data: {
      labels: drawn.map((r) => canvasLabel(r.drink)),
      datasets: [{ label: "cancelled (%)", data: drawn.map((r) => (100 * r.cancelled) / r.orders), backgroundColor: "#b5495b" }],
    },
    options: {
      indexAxis: "y",
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, title: { display: true, text: "% of the drink's orders cancelled" } } },
    },
  });
}
