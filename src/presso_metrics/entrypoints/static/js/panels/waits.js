// How long customers wait, from the duration metrics' histograms: per day, and by hour of day
// over all the days of the range. A source is {rows, bounds} or {missing: metric name}; its rows
// are those of the selection (one shop's, or every shop's, which are added up here).

import { $, draw, fillTable, showMissing } from "../dom.js";
import { addHistograms, formatTenth, hourOf, waitFigures } from "../histogram.js";

const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
const MEDIAN = "#3f6e9a";
const P90 = "#b5495b";

function seconds(x) { return x === null ? "–" : formatTenth(x); }

function lines(id, labels, figures) {
  draw(id, {
    type: "line",
    data: {
      labels,
      datasets: [
        { label: "median", data: figures.map((f) => f?.p50 ?? null), borderColor: MEDIAN, backgroundColor: MEDIAN },
        { label: "90th percentile", data: figures.map((f) => f?.p90 ?? null), borderColor: P90, backgroundColor: P90 },
      ],
    },
    options: {
      spanGaps: false,
      scales: { y: { beginAtZero: true, title: { display: true, text: "seconds" } } },
    },
  });
}

const HEADERS = ["completed", "median (s)", "p90 (s)", "mean (s)"];

function cells(f) { return [f.count, seconds(f.p50), seconds(f.p90), seconds(f.mean)]; }

export function renderWaitDaily(source) {
  if (source.missing) { showMissing("wait-daily-table", "wait-daily-chart", [source.missing]); return; }
  const byDay = addHistograms(source.rows, (r) => r.bucket);
  const days = [...byDay.keys()].sort();
  const figures = days.map((d) => waitFigures(byDay.get(d), source.bounds));
  fillTable($("wait-daily-table"), ["day", ...HEADERS], days.map((d, i) => [d, ...cells(figures[i])]));
  lines("wait-daily-chart", days, figures);
}

export function renderWaitHourly(source) {
  if (source.missing) { showMissing("wait-hourly-table", "wait-hourly-chart", [source.missing]); return; }
  const byHour = addHistograms(source.rows, (r) => hourOf(r.bucket));
  const figures = HOURS.map((h) => (byHour.has(h) ? waitFigures(byHour.get(h), source.bounds) : null));
  const open = HOURS.filter((h, i) => figures[i]?.count);
  fillTable(
    $("wait-hourly-table"),
    ["hour", ...HEADERS],
    open.map((h) => [`${h}:00`, ...cells(figures[HOURS.indexOf(h)])]),
  );
  lines("wait-hourly-chart", HOURS.map((h) => `${h}:00`), figures);
}
