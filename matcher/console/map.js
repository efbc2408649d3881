// The map: a local equirectangular projection around the origin (scaled by cos latitude),
// drawn in SVG, with zoom and pan (wheel, buttons, keys, drag) that keep markers and labels
// at their size, a few authority names, and excluded listings (near misses by default).

import { api } from "./api.js";
import { $, $$, gbp, lower, miles, milesText, plural, s } from "./format.js";
import { RATING_LETTER, state } from "./state.js";
import { reasonWithDetail } from "./wording.js";

export const MAP = { width: 480, height: 420 };
const MILES_PER_DEGREE = (Math.PI / 180) * 3958.8; // mean Earth radius in miles
const MAX_ZOOM = 16;
const DEFAULT_INFO = "Hover over or tab to a marker for its details.";

const view = { k: 1, tx: 0, ty: 0, pxPerMile: 1, radiusMiles: 1 };

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

export function markerIcon(letter) {
  return s("g", { class: `mk rating-${letter}` }, markerShape(letter),
    s("text", { x: 0, y: letter === "R" ? 1.8 : 0.5 }, letter));
}

async function boundary(code) {
  if (!state.boundaries.has(code)) {
    state.boundaries.set(code, api(`authorities/${encodeURIComponent(code)}/boundary`).catch(() => null));
  }
  return state.boundaries.get(code);
}

/** Reset the details box (a new answer: nothing of the previous one stays shown). */
export function resetMapInfo() {
  $("#map-info").textContent = DEFAULT_INFO;
  for (const row of $$("#shortlist-table tr.hl")) row.classList.remove("hl");
}

/** Draw `answer`; `excluded` are the excluded listings to show as grey dots. A new answer
 * resets the view; `keepView` keeps the zoom (the same answer with other dots). */
export async function drawMap(answer, excluded, { keepView = false } = {}) {
  const svg = $("#map");
  const { point, cx, cy, pxPerMile } = projection(answer.origin, answer.max_distance_miles);
  if (!keepView) Object.assign(view, { k: 1, tx: 0, ty: 0 });
  Object.assign(view, { pxPerMile, radiusMiles: answer.max_distance_miles });
  resetMapInfo();
  $("#map-title").textContent =
    `Map: ${answer.placing_authority.name}, ${milesText(answer.max_distance_miles)} radius, ` +
    `${plural(answer.shortlist.length, "eligible listing", "eligible listings")} and ` +
    `${plural(excluded.length, "excluded listing", "excluded listings")}`;
  const boundaryLayer = s("g", { class: "layer-boundary" });
  const places = s("g", { class: "layer-places", "aria-hidden": "true" });
  const eligible = s("g", { class: "layer-eligible", role: "group", "aria-label": "Eligible listings (arrow keys move between them)" });
  const excludedLayer = s("g", { class: "layer-excluded", role: "group", "aria-label": "Excluded listings shown (arrow keys move between them)" });
  const content = s("g", { id: "map-view", transform: "translate(0,0) scale(1)" },
    boundaryLayer,
    s("circle", { class: "radius", cx, cy, r: (answer.max_distance_miles * pxPerMile).toFixed(2), "aria-hidden": "true" }),
    places, excludedLayer, eligible,
    s("g", { transform: `translate(${cx},${cy})`, "aria-hidden": "true" },
      s("path", { class: "origin glyph", d: "M-7,0h14M0,-7v14" })));
  svg.replaceChildren($("#map-title"), content, s("g", { class: "scale", "aria-hidden": "true" }));

  for (const x of excluded) {
    const [px, py] = point(x.lon, x.lat);
    const why = x.reasons.map((code) => reasonWithDetail(code, x.missing_needs)).join("; ");
    const text = `Excluded: ${x.name} (${x.listing_id}), ${miles(x.distance_miles)} miles. ${why}.`;
    excludedLayer.append(s("circle", {
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
    eligible.append(s("g", {
      class: `marker mk rating-${letter}`, transform: `translate(${px.toFixed(1)},${py.toFixed(1)})`,
      tabindex: -1, role: "img", "aria-label": text, dataset: { listingId: e.listing_id },
    }, s("title", {}, text), s("g", { class: "glyph" }, markerShape(letter),
      s("text", { x: 0, y: letter === "R" ? 1.8 : 0.5 }, letter))));
  }
  for (const layer of [eligible, excludedLayer]) rovingFocus(layer);
  drawPlaces(places, answer, point);
  applyView();

  const feature = await boundary(answer.placing_authority.code);
  if (feature && feature.geometry) {
    boundaryLayer.append(s("path", { class: "boundary", d: geometryPath(feature.geometry, point), "aria-hidden": "true" }));
  }
  svg.dataset.drawn = answer.decision_id; // for tests: the map of this answer is complete
}

/** The placing authority's name and a few neighbours' (their population centres), no overlaps. */
function drawPlaces(layer, answer, point) {
  const home = answer.placing_authority.code;
  const reach = answer.max_distance_miles * 1.15;
  const origin = answer.origin;
  const kx = Math.cos((origin.lat * Math.PI) / 180);
  const near = state.authorities
    .map((a) => ({ a, d: Math.hypot((a.lon - origin.lon) * kx, a.lat - origin.lat) * MILES_PER_DEGREE }))
    .filter(({ a, d }) => a.code === home || d <= reach)
    .sort((x, y) => (x.a.code === home ? -1 : y.a.code === home ? 1 : x.d - y.d));
  const boxes = [];
  let neighbours = 0;
  for (const { a } of near) {
    const isHome = a.code === home;
    if (!isHome && neighbours >= 6) break;
    const [x, y] = point(a.lon, a.lat);
    const w = a.name.length * (isHome ? 7 : 6.2) / 2 + 4;
    const box = [x - w, y - 9, x + w, y + 5];
    if (box[0] < 0 || box[2] > MAP.width || box[1] < 0 || box[3] > MAP.height) continue;
    if (boxes.some((b) => box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1])) continue;
    boxes.push(box);
    if (!isHome) neighbours += 1;
    layer.append(s("g", { class: `place${isHome ? " home" : ""}`, transform: `translate(${x.toFixed(1)},${(y - 12).toFixed(1)})`,
      dataset: { code: a.code } }, s("text", { class: "glyph" }, a.name)));
  }
}

function geometryPath(geometry, point) {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates]
    : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
  return polygons.map((rings) => rings.map((ring) =>
    "M" + ring.map(([lon, lat]) => point(lon, lat).map((v) => v.toFixed(1)).join(",")).join("L") + "Z",
  ).join("")).join("");
}

/** A scale bar for the current zoom, in the corner, on a white ground. */
function drawScale() {
  const bar = $("#map .scale");
  if (!bar) return;
  const perMile = view.pxPerMile * view.k;
  const nice = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200];
  const length = nice.filter((m) => m * perMile <= MAP.width / 4).pop() || nice[0];
  const x = 10;
  const y = MAP.height - 12;
  const w = length * perMile;
  bar.replaceChildren(
    s("rect", { x: x - 4, y: y - 20, width: w + 8 + 40, height: 26, rx: 3 }),
    s("line", { x1: x, y1: y, x2: x + w, y2: y }),
    s("line", { x1: x, y1: y - 4, x2: x, y2: y + 1 }),
    s("line", { x1: x + w, y1: y - 4, x2: x + w, y2: y + 1 }),
    s("text", { x, y: y - 7 }, milesText(length)));
}

// ---------------------------------------------------------------------------------------
// Zoom and pan
// ---------------------------------------------------------------------------------------

function clampView() {
  view.k = Math.min(MAX_ZOOM, Math.max(1, view.k));
  view.tx = Math.min(0, Math.max(MAP.width * (1 - view.k), view.tx));
  view.ty = Math.min(0, Math.max(MAP.height * (1 - view.k), view.ty));
}

function applyView() {
  clampView();
  const svg = $("#map");
  const content = $("#map-view");
  if (content) content.setAttribute("transform", `translate(${view.tx.toFixed(2)},${view.ty.toFixed(2)}) scale(${view.k.toFixed(4)})`);
  svg.style.setProperty("--inv", String(1 / view.k));
  svg.dataset.zoom = view.k.toFixed(2);
  svg.dataset.pan = `${view.tx.toFixed(1)},${view.ty.toFixed(1)}`;
  $("#zoom-level").textContent = `${view.k < 10 ? view.k.toFixed(1).replace(/\.0$/, "") : Math.round(view.k)}×`;
  $("#zoom-out").disabled = view.k <= 1;
  $("#zoom-in").disabled = view.k >= MAX_ZOOM;
  drawScale();
}

/** Zoom by `factor` keeping the map point at (vx, vy) (viewBox units; default the centre) still. */
function zoomBy(factor, vx = MAP.width / 2, vy = MAP.height / 2) {
  const k = Math.min(MAX_ZOOM, Math.max(1, view.k * factor));
  view.tx = vx - ((vx - view.tx) * k) / view.k;
  view.ty = vy - ((vy - view.ty) * k) / view.k;
  view.k = k;
  applyView();
}

function panBy(dx, dy) {
  view.tx += dx;
  view.ty += dy;
  applyView();
}

function resetView() {
  Object.assign(view, { k: 1, tx: 0, ty: 0 });
  applyView();
}

/** A client point in viewBox units. */
function toViewBox(svg, clientX, clientY) {
  const ctm = svg.getScreenCTM();
  if (!ctm) return [MAP.width / 2, MAP.height / 2];
  const p = new DOMPoint(clientX, clientY).matrixTransform(ctm.inverse());
  return [p.x, p.y];
}

export function wireMapControls() {
  const svg = $("#map");
  $("#zoom-in").addEventListener("click", () => zoomBy(1.5));
  $("#zoom-out").addEventListener("click", () => zoomBy(1 / 1.5));
  $("#zoom-reset").addEventListener("click", resetView);
  svg.addEventListener("wheel", (event) => {
    if (!svg.dataset.drawn) return;
    event.preventDefault();
    const [vx, vy] = toViewBox(svg, event.clientX, event.clientY);
    zoomBy(Math.exp(-event.deltaY * 0.002), vx, vy);
  }, { passive: false });
  svg.addEventListener("keydown", (event) => {
    const onMarker = event.target !== svg;
    const step = 40;
    const keys = {
      "+": () => zoomBy(1.5), "=": () => zoomBy(1.5), "-": () => zoomBy(1 / 1.5), "_": () => zoomBy(1 / 1.5),
      0: resetView,
      ArrowLeft: () => panBy(step, 0), ArrowRight: () => panBy(-step, 0),
      ArrowUp: () => panBy(0, step), ArrowDown: () => panBy(0, -step),
    };
    const action = keys[event.key];
    if (!action || (onMarker && event.key.startsWith("Arrow"))) return; // arrows on a marker move between markers
    event.preventDefault();
    action();
  });
  let drag = null;
  svg.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || view.k <= 1) return;
    drag = { x: event.clientX, y: event.clientY, moved: false };
    svg.setPointerCapture(event.pointerId);
  });
  svg.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const [x0, y0] = toViewBox(svg, drag.x, drag.y);
    const [x1, y1] = toViewBox(svg, event.clientX, event.clientY);
    if (!drag.moved && Math.hypot(x1 - x0, y1 - y0) < 2) return;
    drag.moved = true;
    svg.classList.add("dragging");
    panBy(x1 - x0, y1 - y0);
    drag.x = event.clientX;
    drag.y = event.clientY;
  });
  const end = () => {
    drag = null;
    svg.classList.remove("dragging");
  };
  svg.addEventListener("pointerup", end);
  svg.addEventListener("pointercancel", end);
  applyView();
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
    event.stopPropagation();
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
    const row = $(`#shortlist-table tr[data-listing-id="${CSS.escape(item.dataset.listingId)}"]`);
    if (row) row.classList.add("hl");
  };
  layer.addEventListener("focusin", show);
  layer.addEventListener("mouseover", show);
}

/** The widen-search note, under the map (never over the drawing). */
export function mapNote(text) {
  const note = $("#map-note");
  note.hidden = !text;
  note.textContent = text || "";
}
