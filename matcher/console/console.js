// Officer console: a thin client of the matcher's public API (no framework, no build step).
//
// Every figure shown comes from /v1/shortlist, /v1/rank or /v1/rank/compare: nothing is
// matched, priced or scored here. The page only builds request bodies from the form, draws
// the answers (a map, tables, bars) and puts each API error next to the control it names.

// ---------------------------------------------------------------------------------------
// DOM helpers
// ---------------------------------------------------------------------------------------

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];
const SVG_NS = "http://www.w3.org/2000/svg";

/** An element with attributes and children (strings become text nodes: never parsed as HTML). */
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function setAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

const ACRONYMS = { cse: "CSE", cce: "CCE", uasc: "UASC", dpv: "DPV", sen: "SEN", ofsted: "Ofsted", kpi: "KPI", ifa: "IFA" };

/** "cse_risk" -> "CSE risk"; "requires_improvement" -> "requires improvement". */
function lower(code) {
  return String(code).split("_").map((w) => ACRONYMS[w] || w).join(" ");
}

/** "requires_improvement" -> "Requires improvement", "cse_risk" -> "CSE risk". */
function label(code) {
  const text = lower(code);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A money string from the API ("164492.41") with thousands separators; never re-rounded. */
function gbp(amount) {
  if (amount === null || amount === undefined || amount === "") return "–";
  const [whole, pence] = String(amount).split(".");
  const negative = whole.startsWith("-");
  const digits = (negative ? whole.slice(1) : whole).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "−" : ""}£${digits}${pence === undefined ? "" : "." + pence}`;
}

const count = (n) => Number(n).toLocaleString("en-GB");
const miles = (d) => Number(d).toFixed(2);
const plural = (n, one, many) => `${count(n)} ${n === 1 ? one : many}`;

// ---------------------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------------------

const API_ROOT = new URL("../v1/", document.baseURI); // /console/ -> /v1/, also behind a prefix

class ApiError extends Error {
  constructor(status, error, message) {
    super(message);
    this.status = status;
    this.error = error; // {code, message, details: [{field, reason, ...}]} or null
  }
}

async function api(path, body) {
  const headers = { accept: "application/json" };
  const key = $("#api-key").value.trim();
  if (key) headers["X-API-Key"] = key;
  const init = { headers };
  if (body !== undefined) {
    init.method = "POST";
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(new URL(path, API_ROOT), init);
  } catch {
    throw new ApiError(0, null, "The matcher service cannot be reached.");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data && data.error ? data.error : null;
    throw new ApiError(response.status, error, error ? error.message : `HTTP ${response.status}`);
  }
  return data;
}

/** A request that failed before reaching the API, shaped like an API error. */
function clientError(field, reason) {
  return new ApiError(0, { code: "invalid_input", message: reason, details: [{ field, reason }] }, reason);
}

// ---------------------------------------------------------------------------------------
// Errors next to the fields they name (details[].field), else a banner
// ---------------------------------------------------------------------------------------

/** Controls that can hold an error, by the dotted request path they fill ("child.age"). */
function fieldTargets() {
  return $$("[data-field]").map((control) => ({ field: control.dataset.field, control }));
}

function targetFor(field) {
  let best = null;
  for (const t of fieldTargets()) {
    if ((field === t.field || field.startsWith(t.field + ".")) && (!best || t.field.length > best.field.length)) {
      best = t;
    }
  }
  return best;
}

function errorHolder(control) {
  const id = `err-${control.id || control.dataset.field.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  let holder = document.getElementById(id);
  if (!holder) {
    holder = h("p", { class: "error", id });
    const box = control.closest(".field, .slider, fieldset") || control;
    if (box === control) control.after(holder);
    else box.append(holder);
  }
  if (control.matches("input, select, textarea")) {
    const described = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!described.includes(id)) control.setAttribute("aria-describedby", [id, ...described].join(" "));
  }
  return holder;
}

function banner(message) {
  const el = $("#banner");
  el.textContent = message;
  el.hidden = false;
}

function clearErrors() {
  $("#banner").hidden = true;
  for (const holder of $$(".error")) holder.remove();
  for (const el of $$("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of $$("[aria-describedby]")) {
    const kept = el.getAttribute("aria-describedby").split(" ").filter((id) => !id.startsWith("err-"));
    if (kept.length) el.setAttribute("aria-describedby", kept.join(" "));
    else el.removeAttribute("aria-describedby");
  }
}

/** Show an API error: each detail next to its control, the rest in the banner. */
function showError(err, statusEl, what, { focus = false } = {}) {
  if (!(err instanceof ApiError)) {
    console.error(err); // a bug in this page, not an API answer
    err = new ApiError(0, null, String(err && err.message ? err.message : err));
  }
  const error = err.error;
  const placed = [];
  const unplaced = [];
  for (const detail of (error && error.details) || []) {
    const field = String(detail.field ?? "");
    const target = field ? targetFor(field) : null;
    if (!target) {
      unplaced.push(detail);
      continue;
    }
    placeDetail(target, field, detail);
    placed.push(target);
  }
  if (!placed.length) banner(err.message);
  else if (unplaced.length) banner(unplaced.map((d) => `${d.field ? d.field + ": " : ""}${d.reason}`).join(" "));
  if (placed.some((t) => t.field === "X-API-Key")) $("#connection").open = true;
  setStatus(statusEl, placed.length
    ? `${what} failed: see the message${placed.length > 1 ? "s" : ""} in red next to the field${placed.length > 1 ? "s" : ""}.`
    : `${what} failed.`, true);
  if (focus && placed.length && placed[0].control.matches("input, select, textarea")) placed[0].control.focus();
}

function placeDetail(target, field, detail) {
  const holder = errorHolder(target.control);
  const line = h("span", { class: "error-line" }, `${where(field, target.field)}${detail.reason}`);
  if (Array.isArray(detail.suggestions) && detail.suggestions.length) {
    line.append(" Use:");
    for (const suggestion of detail.suggestions) {
      line.append(" ", h("button", {
        type: "button", class: "link", "aria-label": `Use ${suggestion}`,
        onclick: () => { target.control.value = suggestion; $("#referral").requestSubmit(); },
      }, suggestion));
    }
  }
  if (holder.childNodes.length) holder.append(h("br"));
  holder.append(line);
  if (target.control.matches("input, select, textarea")) target.control.setAttribute("aria-invalid", "true");
}

/** Which part of a list the message is about: "bids.0.listing_id" -> "Item 1 (listing_id): ". */
function where(field, targetField) {
  const rest = field.slice(targetField.length + 1);
  const match = /^(\d+)(?:\.(.*))?$/.exec(rest);
  if (!match) return "";
  return `Item ${Number(match[1]) + 1}${match[2] ? ` (${match[2]})` : ""}: `;
}

function setStatus(el, text, failed = false) {
  el.textContent = text;
  el.classList.toggle("failed", failed);
}

function stamp(el, answer, extra = []) {
  el.replaceChildren(
    h("span", {}, "snapshot_version ", h("code", {}, answer.snapshot_version)),
    h("span", {}, "decision_id ", h("code", {}, answer.decision_id)),
    ...extra,
  );
}

// ---------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------

const RATING_LETTER = { outstanding: "O", good: "G", requires_improvement: "R", inadequate: "I", not_yet_inspected: "N" };
const COMPONENT_COLOURS = ["#1d4f91", "#e08a00", "#1b7f4c", "#8e3fa8", "#c2362b", "#138a8a", "#6b4f2a", "#c9a400", "#5b6472"];
const DEMO_FRACTIONS = [0.97, 0.91, 1.03, 0.88, 0.95, 0.86, 0.99, 0.93]; // the 1.03 bid is above its ceiling
const MAP = { width: 480, height: 420 };
const MILES_PER_DEGREE = (Math.PI / 180) * 3958.8; // mean Earth radius in miles

const state = {
  catalogue: null,
  reasons: new Map(),
  shortlist: null,
  rows: [],
  sort: { key: "distance", dir: 1 },
  boundaries: new Map(),
  seq: { shortlist: 0, rank: 0, compare: 0 },
  rankTimer: null,
};

// ---------------------------------------------------------------------------------------
// The referral form
// ---------------------------------------------------------------------------------------

function option(value, text, selected = false) {
  return h("option", { value, selected }, text);
}

function fillForm(catalogue, authorities) {
  const list = $("#authority-list");
  for (const a of authorities) {
    list.append(option(a.name, a.code));
    for (const alias of a.aliases || []) list.append(option(alias, a.name));
  }
  const defaults = catalogue.request_defaults || {};
  const dpv = $("#dpv");
  for (const d of catalogue.dpvs) dpv.append(option(d.code, label(d.code), d.code === "residential"));
  fillLots();
  for (const g of catalogue.genders) $("#gender").append(option(g.code, label(g.code)));
  const needs = $("#needs");
  for (const n of catalogue.needs) {
    const id = `need-${n.code}`;
    needs.append(h("label", { for: id },
      h("input", { type: "checkbox", id, value: n.code, "aria-describedby": `${id}-d` }),
      h("span", {}, label(n.code)),
      h("small", { id: `${id}-d` }, n.description)));
  }
  const minRating = $("#min_ofsted_rating");
  for (const r of catalogue.ofsted_ratings.filter((r) => r.code !== "not_yet_inspected")) {
    minRating.append(option(r.code, label(r.code), r.code === defaults.min_ofsted_rating));
  }
  $("#sibling_group_size").value = defaults.sibling_group_size ?? 1;
  $("#expected_duration_weeks").value = defaults.expected_duration_weeks ?? 52;
  $("#max_distance_miles").value = defaults.max_distance_miles ?? 20;
  $("#max_distance_miles").max = catalogue.limits.max_radius_miles;
  $("#accept_not_yet_inspected").checked = defaults.accept_not_yet_inspected ?? true;
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  const today = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  $("#start_date").value = today;
  $("#referral_id").value = `CONSOLE-${today.replaceAll("-", "")}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
}

function fillLots() {
  const dpv = state.catalogue.dpvs.find((d) => d.code === $("#dpv").value);
  const lot = $("#lot");
  const previous = lot.value;
  lot.replaceChildren(...dpv.lots.map((l) => option(l.code, label(l.code), l.code === previous)));
  describeLot();
}

function describeLot() {
  const dpv = state.catalogue.dpvs.find((d) => d.code === $("#dpv").value);
  const lot = dpv.lots.find((l) => l.code === $("#lot").value);
  $("#lot-hint").textContent = `${dpv.description} ${lot ? lot.description : ""}`;
}

function numberOrNull(id) {
  const value = $(id).value.trim();
  return value === "" ? null : Number(value);
}

/** The ShortlistRequest for what the form says (sent as typed: the API validates). */
function referralBody() {
  const body = {
    referral_id: $("#referral_id").value.trim(),
    placing_authority: $("#placing_authority").value,
    dpv: $("#dpv").value,
    lot: $("#lot").value,
    child: {
      age: numberOrNull("#age"),
      gender: $("#gender").value,
      needs: $$("#needs input:checked").map((c) => c.value),
    },
    sibling_group_size: numberOrNull("#sibling_group_size"),
    expected_duration_weeks: numberOrNull("#expected_duration_weeks"),
    start_date: $("#start_date").value || null,
    max_distance_miles: numberOrNull("#max_distance_miles"),
    min_ofsted_rating: $("#min_ofsted_rating").value,
    accept_not_yet_inspected: $("#accept_not_yet_inspected").checked,
    limit: 200,
    explain: true,
    explain_limit: 500,
  };
  const district = $("#postcode_district").value.trim();
  if (district) body.origin = { postcode_district: district };
  return body;
}

// ---------------------------------------------------------------------------------------
// Shortlist
// ---------------------------------------------------------------------------------------

async function runShortlist() {
  const seq = ++state.seq.shortlist;
  clearErrors();
  const status = $("#shortlist-status");
  setStatus(status, "Shortlisting…");
  $("#shortlist-button").disabled = true;
  try {
    const answer = await api("shortlist", referralBody());
    if (seq !== state.seq.shortlist) return;
    state.shortlist = answer;
    state.rows = answer.shortlist.map((entry, order) => ({ ...entry, order }));
    $("#shortlist-panel").classList.remove("stale");
    $("#shortlist-stale").hidden = true;
    $("#excluded-details").hidden = false;
    renderShortlist(answer);
    setStatus(status, `${plural(answer.eligible_count, "listing", "listings")} eligible.`);
    await drawMap(answer);
  } catch (err) {
    if (seq !== state.seq.shortlist) return;
    showError(err, status, "Shortlist", { focus: true });
    if (state.shortlist) {
      $("#shortlist-panel").classList.add("stale");
      $("#shortlist-stale").hidden = false;
    }
  } finally {
    if (seq === state.seq.shortlist) $("#shortlist-button").disabled = false;
  }
}

function renderShortlist(answer) {
  stamp($("#shortlist-stamp"), answer);
  const origin = answer.origin.resolved_from === "authority"
    ? `the centre of ${answer.placing_authority.name}`
    : `${answer.origin.label} (${answer.origin.resolved_from.replaceAll("_", " ")})`;
  const shown = answer.shortlist.length < answer.eligible_count ? ` Showing the nearest ${count(answer.shortlist.length)}.` : "";
  $("#shortlist-summary").textContent =
    `${plural(answer.eligible_count, "listing is", "listings are")} eligible within ${answer.max_distance_miles} miles of ` +
    `${origin}, placing authority ${answer.placing_authority.name} (${answer.placing_authority.code}). ` +
    `${plural(answer.excluded_within_radius_count, "listing", "listings")} inside the radius ` +
    `${answer.excluded_within_radius_count === 1 ? "is" : "are"} excluded.${shown}`;
  renderWiden(answer);
  renderTable();
  renderExcluded(answer);
}

function renderWiden(answer) {
  const box = $("#widen");
  box.hidden = answer.widen_search.length === 0;
  if (box.hidden) return;
  box.replaceChildren(
    h("strong", {}, `Few eligible within ${answer.max_distance_miles} miles. `),
    "A wider search would find: ",
    ...answer.widen_search.map((w) => h("button", {
      type: "button", class: "secondary",
      onclick: () => { $("#max_distance_miles").value = w.max_distance_miles; $("#referral").requestSubmit(); },
    }, `${count(w.eligible_count)} within ${w.max_distance_miles} miles`)),
  );
}

// ---------------------------------------------------------------------------------------
// Map: local equirectangular projection around the origin, scaled by cos(latitude)
// ---------------------------------------------------------------------------------------

function projection(origin, radiusMiles) {
  const pxPerMile = (Math.min(MAP.width, MAP.height) / 2 - 14) / radiusMiles;
  const kx = MILES_PER_DEGREE * Math.cos((origin.lat * Math.PI) / 180);
  const cx = MAP.width / 2;
  const cy = MAP.height / 2;
  return {
    pxPerMile, cx, cy,
    point: (lon, lat) => [cx + (lon - origin.lon) * kx * pxPerMile, cy - (lat - origin.lat) * MILES_PER_DEGREE * pxPerMile],
  };
}

/** The marker outline for a rating: a different shape per rating, so colour is never the only cue. */
function markerShape(letter) {
  switch (letter) {
    case "O": return s("circle", { class: "shape", r: 8 });
    case "G": return s("rect", { class: "shape", x: -7.5, y: -7.5, width: 15, height: 15, rx: 1.5 });
    case "R": return s("path", { class: "shape", d: "M0,-9.5L9,6.5H-9Z" });
    case "I": return s("path", { class: "shape", d: "M0,-10L10,0L0,10L-10,0Z" });
    default: return s("path", { class: "shape", d: "M8.5,0L4.25,7.4H-4.25L-8.5,0L-4.25,-7.4H4.25Z" });
  }
}

function markerIcon(letter) {
  return s("g", { class: `mk rating-${letter}` }, markerShape(letter),
    s("text", { x: 0, y: letter === "R" ? 1.8 : 0.5 }, letter));
}

function ratingBadge(code) {
  const letter = RATING_LETTER[code] || "N";
  return h("span", { class: "rating" },
    s("svg", { viewBox: "-11 -11 22 22", "aria-hidden": "true", class: "icon" }, markerIcon(letter)),
    label(code));
}

function reasonText(code) {
  return state.reasons.get(code) || label(code);
}

async function boundary(code) {
  if (!state.boundaries.has(code)) {
    state.boundaries.set(code, api(`authorities/${encodeURIComponent(code)}/boundary`).catch(() => null));
  }
  return state.boundaries.get(code);
}

async function drawMap(answer) {
  const svg = $("#map");
  const { point, cx, cy, pxPerMile } = projection(answer.origin, answer.max_distance_miles);
  $("#map-title").textContent =
    `Map: ${answer.placing_authority.name}, ${answer.max_distance_miles}-mile radius, ` +
    `${plural(answer.shortlist.length, "eligible listing", "eligible listings")} and ` +
    `${plural(answer.excluded_within_radius.length, "excluded listing", "excluded listings")}`;
  const boundaryLayer = s("g", { class: "layer-boundary" });
  const eligible = s("g", { class: "layer-eligible", role: "group", "aria-label": "Eligible listings (arrow keys move between them)" });
  const excluded = s("g", { class: "layer-excluded", role: "group", "aria-label": "Excluded listings inside the radius (arrow keys move between them)" });
  svg.replaceChildren($("#map-title"), boundaryLayer,
    s("circle", { class: "radius", cx, cy, r: (answer.max_distance_miles * pxPerMile).toFixed(2), "aria-hidden": "true" }),
    excluded, eligible,
    s("path", { class: "origin", d: `M${cx - 7},${cy}h14M${cx},${cy - 7}v14`, "aria-hidden": "true" }),
    scaleBar(answer.max_distance_miles, pxPerMile),
    widenNote(answer));

  for (const x of answer.excluded_within_radius) {
    const [px, py] = point(x.lon, x.lat);
    const why = x.reasons.map(reasonText).join(" ");
    const missing = x.missing_needs.length ? ` Needs not supported: ${x.missing_needs.map(label).join(", ")}.` : "";
    const text = `Excluded: ${x.name} (${x.listing_id}), ${miles(x.distance_miles)} miles. ${why}${missing}`;
    excluded.append(s("circle", {
      class: "excluded", cx: px.toFixed(1), cy: py.toFixed(1), r: 4, tabindex: -1, role: "img",
      "aria-label": text, dataset: { listingId: x.listing_id },
    }, s("title", {}, text)));
  }
  for (const e of answer.shortlist) {
    const [px, py] = point(e.lon, e.lat);
    const letter = RATING_LETTER[e.ofsted_rating] || "N";
    const alerts = e.open_alerts.length ? ` ${plural(e.open_alerts.length, "open safeguarding alert", "open safeguarding alerts")}.` : "";
    const text = `Eligible: ${e.name} (${e.listing_id}), ${e.provider_name}, ${miles(e.distance_miles)} miles, ` +
      `Ofsted ${lower(e.ofsted_rating)}, ${e.in_area ? "in area" : "outside the area"}, ` +
      `ceiling ${gbp(e.ceiling_weekly_gbp)} a week.${alerts}`;
    const marker = s("g", {
      class: `marker mk rating-${letter}`, transform: `translate(${px.toFixed(1)},${py.toFixed(1)})`,
      tabindex: -1, role: "img", "aria-label": text, dataset: { listingId: e.listing_id },
    }, s("title", {}, text), markerShape(letter), s("text", { x: 0, y: letter === "R" ? 1.8 : 0.5 }, letter));
    eligible.append(marker);
  }
  for (const layer of [eligible, excluded]) rovingFocus(layer);

  const feature = await boundary(answer.placing_authority.code);
  if (feature && feature.geometry) {
    boundaryLayer.append(s("path", { class: "boundary", d: geometryPath(feature.geometry, point), "aria-hidden": "true" }));
  }
  svg.dataset.drawn = answer.decision_id; // for tests: the map of this answer is complete
}

function geometryPath(geometry, point) {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates]
    : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
  return polygons.map((rings) => rings.map((ring) =>
    "M" + ring.map(([lon, lat]) => point(lon, lat).map((v) => v.toFixed(1)).join(",")).join("L") + "Z",
  ).join("")).join("");
}

function scaleBar(radiusMiles, pxPerMile) {
  const nice = [0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200];
  const length = nice.filter((m) => m <= radiusMiles / 2).pop() || radiusMiles / 2;
  const x = 12;
  const y = MAP.height - 14;
  const w = length * pxPerMile;
  return s("g", { class: "scale", "aria-hidden": "true" },
    s("line", { x1: x, y1: y, x2: x + w, y2: y }),
    s("line", { x1: x, y1: y - 4, x2: x, y2: y + 1 }),
    s("line", { x1: x + w, y1: y - 4, x2: x + w, y2: y + 1 }),
    s("text", { x, y: y - 7 }, `${length} mile${length === 1 ? "" : "s"}`));
}

function widenNote(answer) {
  if (!answer.widen_search.length) return null;
  const lines = [`Only ${count(answer.eligible_count)} eligible. Wider:`,
    ...answer.widen_search.map((w) => `${w.max_distance_miles} mi: ${count(w.eligible_count)} eligible`)];
  return s("g", { class: "note" },
    s("rect", { x: 6, y: 6, width: 170, height: 8 + 15 * lines.length, rx: 3 }),
    ...lines.map((line, i) => s("text", { x: 12, y: 20 + 15 * i }, line)));
}

/** One tab stop per layer; arrow keys, Home and End move between its markers. */
function rovingFocus(layer) {
  const items = [...layer.children];
  if (!items.length) return;
  items[0].setAttribute("tabindex", "0");
  layer.addEventListener("keydown", (event) => {
    const i = items.indexOf(event.target);
    if (i < 0) return;
    const next = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: items.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const target = items[(next + items.length) % items.length];
    items[i].setAttribute("tabindex", "-1");
    target.setAttribute("tabindex", "0");
    target.focus();
  });
  const show = (event) => {
    const item = event.target.closest("[data-listing-id]");
    if (!item) return;
    $("#map-info").textContent = item.getAttribute("aria-label");
    for (const row of $$("#shortlist-table tr.hl")) row.classList.remove("hl");
    for (const m of $$("#map .marker.hl")) m.classList.remove("hl");
    const row = $(`#shortlist-table tr[data-listing-id="${CSS.escape(item.dataset.listingId)}"]`);
    if (row) row.classList.add("hl");
  };
  layer.addEventListener("focusin", show);
  layer.addEventListener("mouseover", show);
}

// ---------------------------------------------------------------------------------------
// The shortlist table (sortable) and the excluded listings
// ---------------------------------------------------------------------------------------

const SORT_VALUE = {
  name: (r) => r.name.toLowerCase(),
  distance: (r) => r.distance_miles,
  in_area: (r) => (r.in_area ? 0 : 1),
  ceiling: (r) => Number(r.ceiling_weekly_gbp),
  vacancies: (r) => r.vacancies,
  rating: (r) => state.catalogue.ofsted_ratings.findIndex((x) => x.code === r.ofsted_rating),
  alerts: (r) => r.open_alerts.length,
};

function sortBy(key) {
  state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
  renderTable();
}

function renderTable() {
  const { key, dir } = state.sort;
  const value = SORT_VALUE[key];
  const rows = [...state.rows].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    return (va < vb ? -1 : va > vb ? 1 : 0) * dir || a.order - b.order;
  });
  for (const th of $$("#shortlist-table thead th")) {
    if ($("button", th).dataset.sort === key) th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
    else th.removeAttribute("aria-sort");
  }
  $("#shortlist-table tbody").replaceChildren(...rows.map((r) => h("tr", { dataset: { listingId: r.listing_id } },
    h("td", {}, r.name, h("span", { class: "sub" }, `${r.provider_name} · ${r.listing_id}`)),
    h("td", { class: "num" }, miles(r.distance_miles)),
    h("td", {}, r.in_area ? "Yes" : "No"),
    h("td", { class: "num" }, gbp(r.ceiling_weekly_gbp)),
    h("td", { class: "num" }, String(r.vacancies)),
    h("td", {}, ratingBadge(r.ofsted_rating)),
    h("td", {}, alertsCell(r.open_alerts)),
  )));
}

function alertsCell(alerts) {
  if (!alerts.length) return "None";
  return [
    h("span", { class: "flag" }, h("span", { "aria-hidden": "true" }, "⚠ "), `${alerts.length} open`),
    h("span", { class: "sub" }, alerts.map((a) => `${a.severity} (raised by ${a.raised_by}, ${a.raised_on})`).join("; ")),
  ];
}

function renderExcluded(answer) {
  const shown = answer.excluded_within_radius.length;
  const total = answer.excluded_within_radius_count;
  $("#excluded-summary").textContent = `Excluded listings inside the radius (${count(total)}${shown < total ? `, nearest ${count(shown)} shown` : ""})`;
  const counts = Object.entries(answer.excluded_counts).sort((a, b) => b[1] - a[1]);
  $("#excluded-counts").textContent = counts.length
    ? "Across the whole registry, listings excluded by each reason: " + counts.map(([code, n]) => `${lower(code)} ${count(n)}`).join(" · ")
    : "";
  $("#excluded-table tbody").replaceChildren(...answer.excluded_within_radius.map((x) => h("tr", { dataset: { listingId: x.listing_id } },
    h("td", {}, x.name, h("span", { class: "sub" }, x.listing_id)),
    h("td", { class: "num" }, miles(x.distance_miles)),
    h("td", {}, x.reasons.map((code) => h("span", { class: "sub-line" }, h("strong", {}, label(code)), `: ${reasonText(code)}`, h("br")))),
    h("td", {}, x.missing_needs.map(label).join(", ") || "–"),
  )));
}

// ---------------------------------------------------------------------------------------
// Bids and ranking
// ---------------------------------------------------------------------------------------

function demoBids() {
  const status = $("#rank-status");
  if (!state.shortlist || !state.shortlist.shortlist.length) {
    setStatus(status, "Shortlist a referral with eligible listings first: DEMO bids are made for them.", true);
    return;
  }
  const bids = state.shortlist.shortlist.slice(0, DEMO_FRACTIONS.length).map((entry, i) => ({
    bid_id: `DEMO-${String(i + 1).padStart(2, "0")}`,
    listing_id: entry.listing_id,
    weekly_fee_gbp: (Math.round(Number(entry.ceiling_weekly_gbp) * DEMO_FRACTIONS[i] * 100) / 100).toFixed(2),
  }));
  $("#bids").value = JSON.stringify(bids, null, 1);
  $("#demo-note").hidden = false;
  runRank();
}

function parseBids() {
  const text = $("#bids").value.trim();
  if (!text) throw clientError("bids", "Paste the bids as a JSON array, or generate DEMO bids.");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw clientError("bids", `Not valid JSON: ${err.message}`);
  }
}

function hasBids() {
  const text = $("#bids").value.trim();
  return text !== "" && text !== "[]";
}

function orderBy() {
  return $("input[name=order_by]:checked").value;
}

function rankBody() {
  return { ...referralBody(), bids: parseBids(), order_by: orderBy(), profile: $("#profile").value, weights: currentWeights() };
}

async function runRank() {
  clearTimeout(state.rankTimer);
  const seq = ++state.seq.rank;
  const results = $("#results");
  const status = $("#rank-status");
  clearErrors();
  results.dataset.state = "loading";
  results.setAttribute("aria-busy", "true");
  setStatus(status, "Ranking…");
  try {
    const answer = await api("rank", rankBody());
    if (seq !== state.seq.rank) return;
    renderRanking(answer);
    setStatus(status, `${plural(answer.ranked.length, "bid", "bids")} ranked, ${answer.rejected.length} rejected.`);
    results.dataset.state = "done";
    if (!$("#compare").hidden) runCompare();
  } catch (err) {
    if (seq !== state.seq.rank) return;
    results.dataset.state = "error";
    showError(err, status, "Ranking");
  } finally {
    if (seq === state.seq.rank) results.setAttribute("aria-busy", "false");
  }
}

function scheduleRank() {
  if (!hasBids()) return;
  clearTimeout(state.rankTimer);
  state.rankTimer = setTimeout(runRank, 250);
}

function listingName(listingId) {
  const entry = state.shortlist && state.shortlist.shortlist.find((e) => e.listing_id === listingId);
  return entry ? entry.name : null;
}

function demoTag(bidId) {
  return String(bidId).startsWith("DEMO-") ? [" ", h("span", { class: "tag demo" }, "DEMO")] : [];
}

function renderRanking(answer) {
  const results = $("#results");
  const w = answer.weights;
  stamp($("#rank-stamp"), answer, [
    h("span", {}, "contract terms ", h("code", {}, answer.contract_terms_version)),
    h("span", {}, "weights ", h("code", {}, w.profile)),
  ]);
  const edited = Object.entries(w.weights).some(([k, v]) => profileWeights(w.profile)[k] !== v);
  $("#rank-summary").textContent =
    `${plural(answer.ranked.length, "bid", "bids")} ranked by ` +
    `${answer.order_by === "price" ? "price (lowest expected total first)" : "best match (highest score first; near-ties that fully meet needs go cheapest first)"}` +
    `, with the ${lower(w.profile)} weights${edited ? " as edited" : ""}. ` +
    `${plural(answer.rejected.length, "bid was", "bids were")} rejected.`;
  const names = Object.keys(w.weights);
  const legend = $("#component-legend");
  legend.hidden = !answer.ranked.length;
  legend.replaceChildren(h("li", {}, "Score components:"), ...names.map((n, i) =>
    h("li", {}, swatch(i), label(n))));
  $("#ranked").replaceChildren(...answer.ranked.map((r) => rankedItem(r, names)));
  const rejected = $("#rejected");
  rejected.hidden = !answer.rejected.length;
  $("#rejected-list").replaceChildren(...answer.rejected.map(rejectedItem));
  results.dataset.weights = JSON.stringify(w.weights);
  results.dataset.orderBy = answer.order_by;
  results.dataset.decisionId = answer.decision_id;
}

function swatch(i) {
  return h("span", { class: "swatch", style: `background:${COMPONENT_COLOURS[i % COMPONENT_COLOURS.length]}`, "aria-hidden": "true" });
}

function rankedItem(r, names) {
  const p = r.price;
  const itemised = h("p", { class: "itemised" },
    p.children > 1 ? `Weekly fee ${gbp(p.weekly_fee_gbp)} × ${p.children} children = ${gbp(p.gross_weekly_core_gbp)}` : `Weekly fee ${gbp(p.gross_weekly_core_gbp)}`,
    ...p.discounts.map((d) => h("span", { class: "discount" }, ` − ${lower(d.kind)} discount ${d.percent}% ${gbp(d.weekly_amount_gbp)}`)),
    p.discounts.length ? ` = net ${gbp(p.net_weekly_core_gbp)} a week` : " (no discount)",
    ...p.additional_services.map((sv) => ` + ${lower(sv.code)} ${sv.units_per_week} ${sv.unit} a week × ${gbp(sv.rate_gbp)} for ${sv.weeks_charged} weeks = ${gbp(sv.cost_gbp)}`),
    ` · additional services ${gbp(p.additional_services_total_gbp)} in total`,
    ` · ceiling ${gbp(p.ceiling_weekly_gbp)} (headroom ${gbp(p.headroom_weekly_gbp)})`);
  const price = h("div", { class: "price" },
    h("p", { class: "total" }, h("strong", {}, `Expected total ${gbp(p.expected_total_cost_gbp)}`),
      ` over ${p.expected_duration_weeks} weeks · average ${gbp(p.average_weekly_cost_gbp)} a week`),
    itemised);

  const parts = names.map((n) => ({ n, ...r.components[n] }));
  const spoken = parts.map((c) => `${label(c.n)} ${c.contribution.toFixed(3)}`).join(", ");
  const bar = h("div", { class: "bar", role: "img", "aria-label": `Score ${r.score.toFixed(3)} made of: ${spoken}` },
    ...parts.map((c, i) => h("span", {
      style: `width:${(Math.max(0, c.contribution) * 100).toFixed(3)}%;background:${COMPONENT_COLOURS[i % COMPONENT_COLOURS.length]}`,
      title: `${label(c.n)}: ${c.contribution.toFixed(3)}`,
    })));
  const components = h("ul", { class: "components", "aria-label": "Components: value × weight → contribution to the score" },
    ...parts.map((c, i) => h("li", { title: `${label(c.n)}: value ${c.value.toFixed(3)} × weight ${c.weight} → ${c.contribution.toFixed(4)}` },
      swatch(i), `${label(c.n)} ${c.value.toFixed(2)}×${c.weight} → ${c.contribution.toFixed(3)}`)));

  return h("li", { class: "bid", dataset: { bidId: r.bid_id } },
    h("div", { class: "rank" }, h("span", { class: "visually-hidden" }, "Rank "), String(r.rank)),
    h("div", { class: "bid-head" }, h("strong", {}, r.bid_id), ...demoTag(r.bid_id), ` · ${r.listing_name} `,
      h("span", { class: "sub" }, `${r.listing_id} · ${r.provider_name}`)),
    h("div", { class: "bid-facts hint" },
      `${miles(r.distance_miles)} mi · ${r.in_area ? "in area" : "outside the area"} · Ofsted: ${label(r.ofsted_rating)}`,
      r.fully_meets_needs ? [" · ", h("span", { class: "tag good" }, "fully meets needs")] : [" · ", h("span", { class: "tag muted" }, "does not fully meet needs")]),
    h("div", { class: "bid-body" }, price,
      h("div", { class: "score" },
        h("div", { class: "score-line" }, "Score ", h("strong", {}, r.score.toFixed(3)), " of 1"),
        bar, components)),
  );
}

function rejectedItem(r) {
  const name = listingName(r.listing_id);
  const details = Object.entries(r.details || {}).map(([k, v]) => k.endsWith("_gbp")
    ? `${lower(k.slice(0, -4))} ${gbp(v)}`
    : `${lower(k)}: ${Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : v}`);
  return h("li", { dataset: { bidId: r.bid_id } },
    h("strong", {}, r.bid_id), ...demoTag(r.bid_id), ` for ${name ? `${name} (${r.listing_id})` : r.listing_id}: `,
    ...r.reasons.map((code, i) => [i ? "; " : "", h("strong", { class: "why" }, label(code)), ` (${reasonText(code)})`]),
    details.length ? ` — ${details.join(", ")}.` : "");
}

// ---------------------------------------------------------------------------------------
// Weights: sliders from a profile, copy as JSON, compare with another profile
// ---------------------------------------------------------------------------------------

function profileWeights(name) {
  const profile = state.catalogue.weights.profiles.find((p) => p.name === name);
  return profile ? profile.weights : {};
}

function buildSliders() {
  const weights = profileWeights($("#profile").value);
  const box = $("#sliders");
  const help = $("#component-descriptions");
  box.replaceChildren();
  help.replaceChildren();
  state.catalogue.weights.components.forEach((c, i) => {
    const id = `w-${c.code}`;
    const value = weights[c.code] ?? 0;
    const output = h("output", { id: `${id}-out`, for: id }, String(value));
    const input = h("input", {
      type: "range", id, min: 0, max: Math.max(10, value), step: 0.5, value,
      "data-field": `weights.${c.code}`, dataset: { component: c.code }, "aria-describedby": `${id}-d`,
      oninput: () => { output.value = input.value; showWeightsJson(); scheduleRank(); },
    });
    box.append(h("div", { class: "slider" }, h("label", { for: id }, swatch(i), label(c.code)), input, output));
    help.append(h("dt", {}, label(c.code)), h("dd", { id: `${id}-d` }, c.description));
  });
  showWeightsJson();
}

function currentWeights() {
  return Object.fromEntries($$("#sliders input[type=range]").map((el) => [el.dataset.component, Number(el.value)]));
}

function showWeightsJson() {
  $("#weights-json").value = JSON.stringify({ profile: $("#profile").value, weights: currentWeights() }, null, 2);
  setStatus($("#copy-status"), "");
}

function describeProfile() {
  const profile = state.catalogue.weights.profiles.find((p) => p.name === $("#profile").value);
  $("#profile-hint").textContent = profile ? profile.description : "";
}

async function copyWeights() {
  const text = $("#weights-json").value;
  const status = $("#copy-status");
  try {
    await navigator.clipboard.writeText(text);
    setStatus(status, "Copied to the clipboard.");
  } catch {
    const area = $("#weights-json");
    area.focus();
    area.select();
    const copied = document.execCommand && document.execCommand("copy");
    setStatus(status, copied ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C) to copy.");
  }
}

async function runCompare() {
  const seq = ++state.seq.compare;
  const status = $("#compare-status");
  clearErrors();
  setStatus(status, "Comparing…");
  let body;
  try {
    body = {
      request: { ...rankBody(), order_by: "best_match", profile: null, weights: null },
      a: { profile: $("#profile").value, weights: currentWeights() },
      b: { profile: $("#compare-profile").value },
    };
    const answer = await api("rank/compare", body);
    if (seq !== state.seq.compare) return;
    renderCompare(answer, body.b.profile);
    setStatus(status, "Compared.");
  } catch (err) {
    if (seq === state.seq.compare) showError(err, status, "Comparison");
  }
}

function renderCompare(answer, profile) {
  const box = $("#compare");
  box.hidden = false;
  stamp($("#compare-stamp"), answer);
  const moved = answer.movements.filter((m) => m.movement !== 0).length;
  const tau = answer.kendall_tau === null ? "not defined (fewer than 2 bids)" : answer.kendall_tau.toFixed(3);
  $("#compare-summary").textContent =
    `Best match with your weights against the ${lower(profile)} profile: Kendall's tau ${tau} ` +
    `(1: the same order, 0: unrelated, −1: reversed). ${plural(moved, "bid moves", "bids move")}.`;
  $("#compare-b-h").textContent = `Rank (${lower(profile)})`;
  const names = new Map(answer.a.ranked.map((r) => [r.bid_id, r.listing_name]));
  const rows = [...answer.movements].sort((x, y) => x.rank_a - y.rank_a);
  $("#compare-table tbody").replaceChildren(...rows.map((m) => h("tr", { dataset: { bidId: m.bid_id } },
    h("td", {}, m.bid_id, ...demoTag(m.bid_id)),
    h("td", {}, names.get(m.bid_id) || ""),
    h("td", { class: "num" }, String(m.rank_a)),
    h("td", { class: "num" }, String(m.rank_b)),
    h("td", {}, movement(m.movement)),
  )));
}

function movement(n) {
  if (n > 0) return h("span", { class: "move-up" }, h("span", { "aria-hidden": "true" }, "▲ "), `up ${n}`);
  if (n < 0) return h("span", { class: "move-down" }, h("span", { "aria-hidden": "true" }, "▼ "), `down ${-n}`);
  return "no change";
}

// ---------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------

function wire() {
  $("#dpv").addEventListener("change", fillLots);
  $("#lot").addEventListener("change", describeLot);
  $("#referral").addEventListener("submit", (event) => { event.preventDefault(); runShortlist(); });
  for (const button of $$("#shortlist-table thead button")) button.addEventListener("click", () => sortBy(button.dataset.sort));
  $("#demo-bids").addEventListener("click", demoBids);
  $("#bids").addEventListener("input", () => { $("#demo-note").hidden = !$("#bids").value.includes("\"DEMO-"); });
  $("#rank-button").addEventListener("click", runRank);
  for (const radio of $$("input[name=order_by]")) radio.addEventListener("change", () => { if (hasBids()) runRank(); });
  $("#profile").addEventListener("change", () => { describeProfile(); buildSliders(); scheduleRank(); });
  $("#reset-weights").addEventListener("click", () => { buildSliders(); scheduleRank(); });
  $("#compare-button").addEventListener("click", async () => {
    await runCompare();
    if (!$("#compare").hidden) $("#compare").scrollIntoView({ block: "nearest" });
  });
  $("#copy-weights").addEventListener("click", copyWeights);
  $("#connection-form").addEventListener("submit", (event) => event.preventDefault());
}

async function start() {
  let catalogue;
  let authorities;
  try {
    [catalogue, authorities] = await Promise.all([api("catalogue"), api("authorities")]);
  } catch (err) {
    showError(err, $("#shortlist-status"), "Loading the catalogue");
    $("#api-key").addEventListener("change", () => { if (!state.catalogue) start(); }, { once: true });
    return;
  }
  clearErrors();
  state.catalogue = catalogue;
  state.reasons = new Map(catalogue.reasons.map((r) => [r.code, r.description]));
  fillForm(catalogue, authorities);
  const profiles = catalogue.weights.profiles;
  $("#profile").replaceChildren(...profiles.map((p) => option(p.name, label(p.name), p.name === catalogue.weights.default_profile)));
  const other = profiles.find((p) => p.name !== catalogue.weights.default_profile);
  $("#compare-profile").replaceChildren(...profiles.map((p) => option(p.name, label(p.name), other && p.name === other.name)));
  $("#map-legend").replaceChildren(...catalogue.ofsted_ratings.map((r) => h("li", {},
    s("svg", { viewBox: "-11 -11 22 22", "aria-hidden": "true" }, markerIcon(RATING_LETTER[r.code] || "N")), label(r.code))),
    h("li", {}, s("svg", { viewBox: "-11 -11 22 22", "aria-hidden": "true" }, s("circle", { r: 4, class: "excluded", fill: "#9aa1ab", stroke: "#5f6670" })), "Excluded"));
  describeProfile();
  buildSliders();
  wire();
  document.body.dataset.ready = "true";
}

start();
