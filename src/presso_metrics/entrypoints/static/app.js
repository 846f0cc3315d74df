// The presso-metrics dashboard: the page's state (range, shop, link, refresh) and its loads.
// The jobs live in js/: days, labels (names as text), rows, histogram (pure), api, link (the
// view in the address), dom (writing to the page) and panels/.
//
// Names come from order events, so they are hostile: a drink or shop may be called "__proto__",
// "constructor" or "<img src=x onerror=...>", or differ from another only by a trailing space.
// Hence two rules: data never keys a plain object (Map everywhere), and every name is written
// with textContent through labelNode (in the page) or canvasLabel (on a chart's canvas).

import { getDefinitions, getRows, getSpan } from "./js/api.js";
import { addDays, clampRange, daysIn, defaultRange, parseDay, previousRange } from "./js/days.js";
import { $, labelNode, say, setOptions } from "./js/dom.js";
import { boundsOf } from "./js/histogram.js";
import { clipped, labelText, quoted } from "./js/labels.js";
import { linkSearch, readLink } from "./js/link.js";
import { renderCancelRates } from "./js/panels/cancel-rates.js";
import { renderModifiers, renderOutcomes, renderSales, showHourly, wireHourly } from "./js/panels/orders.js";
import { periodFigures, renderTrend } from "./js/panels/trend.js";
import { renderWaitDaily, renderWaitHourly } from "./js/panels/waits.js";
import { forShop, formatCount, shopsIn } from "./js/rows.js";

const DEFAULT_DAYS = 30; // the first view: the last 30 days of the data's span
const API_MAX_DAYS = 3660; // days the API answers at once, unless /api/span says fewer
const MAX_BACKOFF_SECONDS = 300; // after failures, refreshes slow down to at most every 5 minutes
// The metrics a view draws, for the range and for the period before it (the comparison).
const CURRENT = [
  "sales", "sales_by_shop", "completions", "completions_by_shop", "cancellations",
  "cancellations_by_shop", "modifiers", "hourly_sales", "wait_time", "wait_time_by_shop",
  "hourly_wait_time",
];
const PREVIOUS = ["sales", "sales_by_shop", "completions", "completions_by_shop", "wait_time", "wait_time_by_shop"];
const BY_SHOP = ["sales_by_shop", "completions_by_shop", "cancellations_by_shop", "wait_time_by_shop"];

let definitions = new Map(); // metric name -> definition from /api/metrics
let span = { from: null, to: null };
const view = { from: null, to: null, shop: null }; // what is asked for; shop null: all shops
let loaded = null; // the data of the last load: {from, to, rows, before, previous}
let shops = []; // the shops with data in the loaded range, as in the selector
let note = ""; // said in the status line after the totals
let loads = 0; // the latest load wins when loads overlap
let busy = 0; // loads under way
let link = readLink(""); // the view the page's address asked for
const refresh = { seconds: link.refresh, timer: null, failures: 0, due: false, last: null, booted: false };

// ---------------------------------------------------------------------------------------------
// Sources: the rows of the selection for each panel.

// A count metric's rows for the shop (null: all shops: the metric without the shop dimension).
function source(rows, allName, shopName, shop) {
  const name = shop === null ? allName : shopName;
  const definition = definitions.get(name);
  if (!definition || !rows.has(name)) return { missing: name };
  if (shop === null) {
    return { rows: rows.get(name), total: definition.total, name,
      sumTitle: `the metrics file counts no total for ${name}: the sum of the columns` };
  }
  return { rows: forShop(rows.get(name), shop), total: null, name, sumTitle: "this shop's drinks added up" };
}

// A duration metric's rows for the shop (all shops: every shop's rows, added up by the panel).
function durationSource(rows, allName, shopName, shop) {
  const name = shop === null ? allName : shopName;
  const bounds = boundsOf(definitions.get(name));
  if (!bounds || !rows.has(name)) return { missing: name };
  return { rows: shop === null ? rows.get(name) : forShop(rows.get(name), shop), bounds, name };
}

function sources(rows, shop) {
  return {
    sales: source(rows, "sales", "sales_by_shop", shop),
    completions: source(rows, "completions", "completions_by_shop", shop),
    cancellations: source(rows, "cancellations", "cancellations_by_shop", shop),
    waits: durationSource(rows, "wait_time", "wait_time_by_shop", shop),
  };
}

// ---------------------------------------------------------------------------------------------
// Drawing the loaded data for the selected shop.

function showScope(shop) {
  for (const el of document.querySelectorAll("[data-scope='shop']")) {
    el.replaceChildren(...(shop === null ? ["all shops"] : [labelNode(shop)]));
  }
  for (const el of document.querySelectorAll(".all-shops-note")) el.hidden = shop === null;
}

function showShops() {
  const select = $("shop");
  setOptions(select, ["‹all shops›", ...shops.map(labelText)], ["", ...shops.map(quoted)]);
  select.selectedIndex = view.shop === null ? 0 : shops.indexOf(view.shop) + 1;
  select.disabled = !BY_SHOP.some((name) => definitions.has(name));
  select.title = select.disabled ? "the metrics file counts nothing by shop" : "";
}

function render() {
  const { rows, before, previous } = loaded;
  const shop = view.shop;
  const now = sources(rows, shop);
  const sold = renderSales(now.sales);
  renderOutcomes(now.completions, now.cancellations);
  renderCancelRates(now.sales, now.cancellations);
  renderWaitDaily(now.waits);
  renderWaitHourly(durationSource(rows, "hourly_wait_time", "hourly_wait_time", shop));
  renderModifiers(source(rows, "modifiers", "modifiers", null), definitions.get("modifiers"));
  showHourly(source(rows, "hourly_sales", "hourly_sales", null));
  // A period before the data's first day is not compared: its zeros would say nothing.
  const comparable = before && previous && span.from !== null && previous.to >= span.from;
  renderTrend(periodFigures(now), comparable ? periodFigures(sources(before, shop)) : null, previous, span.from);
  showShops();
  showScope(shop);
  $("marks-note").hidden = !document.querySelector("main .name .mark");
  const at = shop === null ? "" : ` at “${clipped(shop)}”`;
  const total = sold === null
    ? `Showing ${loaded.from} to ${loaded.to}${at}.`
    : `${formatCount(sold)} drinks sold${at} from ${loaded.from} to ${loaded.to}.`;
  say(note ? `${total} ${note}` : total);
  const search = linkSearch(location.search, view);
  if (search !== location.search) history.replaceState(null, "", search);
  if (shop === null) delete document.body.dataset.shop;
  else document.body.dataset.shop = shop;
  document.body.dataset.loaded = `${loaded.from}..${loaded.to}`;
}

// ---------------------------------------------------------------------------------------------
// Loading a range.

// Load from..to and draw it, for `shop` (default: the one selected when the data arrives; one
// without data in the range falls back to all shops, said). `quiet`: a refresh, which leaves
// the page as it is until the new numbers are in. Resolves true when drawn, false when a later
// load took over; rejects when the load failed.
async function show(from, to, { shop, quiet = false, notes = [] } = {}) {
  const ticket = ++loads;
  view.from = from;
  view.to = to;
  if (!quiet) {
    delete document.body.dataset.loaded;
    say(`Loading ${from} to ${to}…`);
  }
  busy += 1;
  try {
    const previous = previousRange(from, to);
    const [rows, before] = await Promise.all([
      getRows(definitions, CURRENT, from, to),
      previous ? getRows(definitions, PREVIOUS, previous.from, previous.to) : null,
    ]);
    if (ticket !== loads) return false;
    loaded = { from, to, rows, before, previous: previous && { ...previous, days: daysIn(previous.from, previous.to) } };
    shops = shopsIn(BY_SHOP.map((name) => rows.get(name)));
    let wanted = shop === undefined ? view.shop : shop;
    const said = [...notes];
    if (wanted !== null && !shops.includes(wanted)) {
      said.push(`No shop “${clipped(wanted)}” has data from ${from} to ${to}: showing all shops.`);
      wanted = null;
    }
    view.shop = wanted;
    if (!quiet || said.length) note = said.join(" ");
    render();
    refresh.last = clock();
    showUpdated();
    return true;
  } finally {
    busy -= 1;
  }
}

// A range asked for: checked, shortened to what the API answers, then shown.
function request(from, to, { why = "", shop, notes = [] } = {}) {
  if (!parseDay(from)) { say("Choose the first day (YYYY-MM-DD)."); return; }
  if (!parseDay(to)) { say("Choose the last day (YYYY-MM-DD)."); return; }
  if (from > to) { say("The first day must not be after the last."); return; }
  const maxDays = maxRangeDays();
  const range = clampRange(from, to, maxDays);
  $("from").value = range.from;
  $("to").value = range.to;
  const said = [...notes];
  if (range.clamped) {
    said.push(`${why || `You asked for ${from} to ${to};`} the API answers at most ${maxDays} days at once, `
      + `so this shows the last ${maxDays} days. Choose earlier days above.`);
  }
  const ticket = loads + 1;
  show(range.from, range.to, { shop, notes: said }).catch((error) => {
    if (ticket === loads) say(`Could not load the metrics: ${error.message}`);
  });
}

function maxRangeDays() {
  const n = span.max_range_days;
  return Number.isInteger(n) && n > 0 ? Math.min(n, API_MAX_DAYS) : API_MAX_DAYS;
}

// The span of the data, asked again (orders keep coming while the page is open); the date
// inputs offer all of it.
async function loadSpan() {
  span = await getSpan();
  for (const input of [$("from"), $("to")]) {
    input.min = span.from ?? "";
    input.max = span.to ?? "";
  }
}

async function quickRange(days) {
  try {
    await loadSpan();
  } catch (error) {
    say(`Could not load the span of the data: ${error.message}`);
    return;
  }
  if (!span.from) { say("No data yet: publish some orders and run the worker."); return; }
  if (days === "all") request(span.from, span.to, { why: `The data runs from ${span.from} to ${span.to};` });
  else request(addDays(span.to, 1 - Number(days)), span.to); // the last `days` days, data or not
}

// The first view: the range and shop of the page's address, else the last 30 days of the data.
function firstView() {
  const notes = link.problems.map((p) => `${p[0].toUpperCase()}${p.slice(1)}: it is left out.`);
  if (!span.from) {
    const today = new Date().toISOString().slice(0, 10);
    $("from").value = today;
    $("to").value = today;
    say(["No data yet: publish some orders and run the worker.", ...notes].join(" "));
    return;
  }
  let { from, to } = defaultRange(span, DEFAULT_DAYS);
  if (link.from || link.to) {
    to = link.to ?? (link.from > span.to ? link.from : span.to);
    from = link.from ?? addDays(to, 1 - DEFAULT_DAYS);
  } else if (from !== span.from) {
    notes.push(`The data runs from ${span.from} to ${span.to}: choose other days above, or All data.`);
  }
  request(from, to, { shop: link.shop, notes });
}

// ---------------------------------------------------------------------------------------------
// Refreshing while the page is open: every `refresh.seconds` (30, or the address's refresh=),
// not while the page is hidden, slower after failures; the numbers shown stay until new ones
// are in.

function clock() {
  return new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function delaySeconds() {
  const slowest = Math.max(refresh.seconds, MAX_BACKOFF_SECONDS);
  return Math.min(refresh.seconds * 2 ** refresh.failures, slowest);
}

function showUpdated(problem = "") {
  const every = `refreshes every ${refresh.seconds} s`;
  const last = refresh.last ? `Updated ${refresh.last}` : "Not loaded yet";
  $("updated").textContent = problem ? `${last} · ${problem}` : `${last} · ${every}`;
  $("updated").classList.toggle("problem", Boolean(problem));
}

function schedule() {
  clearTimeout(refresh.timer);
  refresh.timer = setTimeout(tick, delaySeconds() * 1000);
}

async function tick() {
  if (document.hidden) { refresh.due = true; return; } // resumed when the page is shown
  if (!refresh.booted) { await boot(); return; }
  if (busy) { schedule(); return; } // a load the user asked for is under way
  try {
    await loadSpan();
    if (view.from === null) firstView(); // there was no data when the page opened
    else await show(view.from, view.to, { quiet: true });
    refresh.failures = 0;
  } catch (error) {
    refresh.failures += 1;
    const retry = `trying again in ${delaySeconds()} s`;
    say(`Could not refresh at ${clock()}: ${error.message}. ${refresh.last
      ? `The numbers shown are from ${refresh.last}; ${retry}.` : `${retry[0].toUpperCase()}${retry.slice(1)}.`}`);
    showUpdated(`could not refresh, ${retry}`);
  }
  schedule();
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && refresh.due) {
    refresh.due = false;
    tick();
  }
});

// ---------------------------------------------------------------------------------------------
// Start.

async function boot() {
  try {
    [definitions] = await Promise.all([getDefinitions(), loadSpan()]);
  } catch (error) {
    refresh.failures += 1;
    say(`Could not load the metric definitions and the span of the data: ${error.message}. Trying again in ${delaySeconds()} s.`);
    schedule();
    return;
  }
  refresh.booted = true;
  refresh.failures = 0;
  $("zone").textContent = `Days counted by order time in ${span.time_zone}`;
  firstView();
  showUpdated();
  schedule();
}

function wire() {
  $("range").addEventListener("submit", (e) => {
    e.preventDefault();
    request($("from").value, $("to").value);
  });
  for (const button of document.querySelectorAll("button[data-days]")) {
    button.addEventListener("click", () => quickRange(button.dataset.days));
  }
  $("shop").addEventListener("change", () => {
    const i = $("shop").selectedIndex;
    view.shop = i <= 0 ? null : shops[i - 1];
    note = "";
    if (loaded) render();
  });
  wireHourly();
}

link = readLink(location.search);
refresh.seconds = link.refresh;
wire();
boot();
