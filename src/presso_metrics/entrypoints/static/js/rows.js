// Rows from the API -> tables, and the rows of one shop. Pure. Everything keyed by a name or a
// bucket is a Map: a name from the data ("__proto__", "constructor") is never an object's key.
//
// A row is {metric, bucket, dimension, value, dimensions}: `dimension` is the drink, the total's
// name, "NYC / Americano" for two dimensions, or a duration's figure (count, seconds_60_90, ...);
// `dimensions` maps each dimension's label to its value ({} for a total).

import { compareText } from "./labels.js";

export const SHOP = "shop"; // the label of the shop dimension in the metrics file

function isRow(r) {
  if (!r || typeof r.bucket !== "string" || typeof r.dimension !== "string" || !Number.isFinite(r.value)) {
    return false;
  }
  const d = r.dimensions;
  if (d === undefined) return true;
  return d !== null && typeof d === "object" && !Array.isArray(d)
    && Object.values(d).every((v) => typeof v === "string");
}

export function checkRows(metricName, body) {
  if (!Array.isArray(body) || !body.every(isRow)) {
    throw new Error(`the API's answer for ${metricName} is not a list of metric rows`);
  }
  return body;
}

// The value of a row's dimension labelled `label`, or null when it has none.
export function dimensionValue(row, label) {
  const d = row.dimensions;
  return d && Object.hasOwn(d, label) ? d[label] : null;
}

// The rows of one shop, in the shape of a metric without the shop dimension: `dimension` is the
// value of the other dimension(s) (the drink), or stays as it was (a duration's figure, or the
// shop itself for a metric counted by shop alone). Rows without a shop (a total) are left out.
export function forShop(rows, shop) {
  const out = [];
  for (const r of rows) {
    if (dimensionValue(r, SHOP) !== shop) continue;
    const rest = Object.keys(r.dimensions).filter((label) => label !== SHOP);
    const dimension = rest.length ? rest.map((label) => r.dimensions[label]).join(" / ") : r.dimension;
    out.push({ ...r, dimension });
  }
  return out;
}

// The shops named in any of the row lists (null lists skipped), sorted by code point.
export function shopsIn(lists) {
  const seen = new Set();
  for (const rows of lists) {
    for (const r of rows ?? []) {
      const shop = dimensionValue(r, SHOP);
      if (shop !== null) seen.add(shop);
    }
  }
  return [...seen].sort(compareText);
}

// rows -> { buckets: sorted [bucket], cells: Map(dimension -> Map(bucket -> value)),
//           sums: Map(dimension -> sum over the buckets) }
export function pivot(rows) {
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

export function valueAt(table, dimension, bucket) { return table.cells.get(dimension)?.get(bucket) ?? 0; }

// The dimensions other than `total`, the largest sum first, ties by name.
export function ranked(table, total) {
  return [...table.sums.keys()].filter((d) => d !== total)
    .sort((a, b) => table.sums.get(b) - table.sums.get(a) || compareText(a, b));
}

// Map(bucket -> the metric's total): its total counter, or (no total: a metrics file without
// one, or one shop's rows) the sum of its dimensions.
export function bucketTotals(table, total) {
  const out = new Map(table.buckets.map((b) => [b, 0]));
  for (const [dimension, byBucket] of table.cells) {
    if (total && dimension !== total) continue;
    for (const [bucket, n] of byBucket) out.set(bucket, out.get(bucket) + n);
  }
  return out;
}

// Map(dimension -> its sum over the range), the total left out.
export function sumsBy(rows, total) {
  const sums = pivot(rows).sums;
  if (total) sums.delete(total);
  return sums;
}

export function sumOf(values) { let s = 0; for (const n of values) s += n; return s; }

// The sum over the range of a source {rows, total}: its total counter, or its dimensions added.
export function grandTotal(source) { return sumOf(bucketTotals(pivot(source.rows), source.total).values()); }

export function formatCount(n) { return String(n); }
