// Durations as histograms, as domain/histogram.py keeps them. Pure.
//
// A duration's rows per bucket (a day, an hour) and shop are its figures: `count`, `sum_seconds`
// (exact), `p50_seconds`, `p90_seconds`, `p99_seconds` (estimated) and one `seconds_<low>_<high>`
// per histogram bucket (non-cumulative counts). Percentiles do not add up: over several shops or
// several days the bucket counts (and counts and sums) are added, and the percentile is
// estimated from the summed histogram exactly as the server's quantile() does: find the bucket
// holding the rank and interpolate linearly inside it; the open last bucket gives its lower
// bound; the result is rounded to 0.1 s the way Python's round(x, 1) rounds.

const FIGURES = new Set(["count", "sum_seconds"]);

// The name of each bucket, in order: seconds_0_30 ... seconds_3600_inf.
export function bucketNames(bounds) {
  const highs = [...bounds.map(String), "inf"];
  return [0, ...bounds].map((low, i) => `seconds_${low}_${highs[i]}`);
}

// x rounded to one decimal as Python's round(x, 1): the nearest tenth of x's exact binary
// value, a tie going to the even tenth. (toFixed rounds a tie up.) A double that is exactly
// halfway between two tenths is j + 0.25 or j + 0.75: four times it is an odd integer.
export function roundTenth(x) {
  const quarters = x * 4; // exact: a power of two
  if (Number.isInteger(quarters) && quarters % 2 !== 0) {
    const low = Math.floor(x * 10); // exact here: x * 10 is j * 10 + 2.5 or + 7.5
    return (low % 2 === 0 ? low : low + 1) / 10;
  }
  return Number(x.toFixed(1));
}

// A number with one decimal, rounded as the server rounds (2.25 -> "2.2", 2.75 -> "2.8").
export function formatTenth(x) { return roundTenth(x).toFixed(1); }

// The estimated q quantile in seconds from Map(bucket name -> count), or null when empty.
export function quantile(q, counts, bounds) {
  const ns = bucketNames(bounds).map((name) => Math.max(counts.get(name) ?? 0, 0));
  let total = 0;
  for (const n of ns) total += n;
  if (total === 0) return null;
  const rank = q * total;
  const lows = [0, ...bounds];
  let below = 0;
  for (let i = 0; i < ns.length; i++) {
    const n = ns[i];
    if (n && below + n >= rank) {
      if (i === bounds.length) return lows[i]; // the open last bucket: its lower bound
      const low = lows[i];
      const high = bounds[i];
      return roundTenth(low + ((high - low) * (rank - below)) / n);
    }
    below += n;
  }
  return lows[lows.length - 1];
}

// Duration rows summed by key: Map(keyOf(row) -> Map(figure -> sum)), for count, sum_seconds and
// the bucket counts (the estimated percentiles are not added). keyOf(row) null skips the row.
export function addHistograms(rows, keyOf) {
  const out = new Map();
  for (const r of rows) {
    if (!FIGURES.has(r.dimension) && !r.dimension.startsWith("seconds_")) continue;
    const key = keyOf(r);
    if (key === null) continue;
    if (!out.has(key)) out.set(key, new Map());
    const figures = out.get(key);
    figures.set(r.dimension, (figures.get(r.dimension) ?? 0) + r.value);
  }
  return out;
}

// One summed histogram -> {count, mean, p50, p90} (seconds; null when it counts nothing).
export function waitFigures(figures, bounds) {
  const count = figures.get("count") ?? 0;
  return {
    count,
    mean: count ? (figures.get("sum_seconds") ?? 0) / count : null,
    p50: quantile(0.5, figures, bounds),
    p90: quantile(0.9, figures, bounds),
  };
}

// A duration metric's histogram bounds from its definition, or null when it has none.
export function boundsOf(definition) {
  const b = definition?.bounds_seconds;
  return Array.isArray(b) && b.length && b.every(Number.isInteger) ? b : null;
}

// The hour of day ("08") of an hourly bucket ("2022-10-14T08"), or null.
export function hourOf(bucket) {
  const m = /^\d{4}-\d{2}-\d{2}T(\d{2})$/.exec(bucket);
  return m ? m[1] : null;
}
