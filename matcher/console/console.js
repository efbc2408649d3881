// matcher officer console: a thin client of the public API. No matching or scoring here:
// every number shown comes from /v1/shortlist, /v1/rank or /v1/rank/compare.

const $ = (sel) => document.querySelector(sel);
const state = { catalogue: null, shortlist: null, rows: [], sort: { key: "distance_miles", dir: 1 },
                rank: null, weights: {}, debounce: null };
const RATING_LETTER = { outstanding: "O", good: "G", requires_improvement: "R", inadequate: "I",
                        not_yet_inspected: "N" };
const COLOURS = ["#1f5fa8", "#e07b00", "#2e8b57", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d",
                 "#d4ac0d", "#34495e"];

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
  const resp = await fetch(path, init);
  const data = await resp.json().catch(() => null);
  if (!resp.ok) { throw Object.assign(new Error("api"), { status: resp.status, data }); }
  return data;
}

function showError(err) {
  clearErrors();
  const error = err && err.data && err.data.error;
  if (!error) { banner(`Request failed (${err.status || "network"}).`); return; }
  let placed = false;
  for (const d of error.details || []) {
    const field = String(d.field || "");
    const holder = [...document.querySelectorAll("[data-error-for]")]
      .find((el) => field === el.dataset.errorFor || field.startsWith(el.dataset.errorFor + "."));
    if (holder) {
      holder.textContent = d.reason + (d.suggestions && d.suggestions.length
        ? ` Did you mean: ${d.suggestions.join(", ")}?` : "");
      const control = document.querySelector(`[data-field="${holder.dataset.errorFor}"]`);
      if (control) { control.setAttribute("aria-invalid", "true"); }
      placed = true;
    }
  }
  if (!placed) { banner(error.message); }
}
function banner(text) { const b = $("#banner"); b.textContent = text; b.hidden = false; }
function clearErrors() {
  $("#banner").hidden = true;
  document.querySelectorAll("[data-error-for]").forEach((el) => { el.textContent = ""; });
  document.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
}
function option(value, text) { const o = document.createElement("option"); o.value = value; o.textContent = text; return o; }
function human(code) { return code.replaceAll("_", " "); }

async function init() {
  const [catalogue, authorities] = await Promise.all([api("/v1/catalogue"), api("/v1/authorities")]);
  state.catalogue = catalogue;
  const list = $("#authority-list");
  for (const a of authorities) {
    list.append(option(a.name, a.code));
    for (const alias of a.aliases) { list.append(option(alias, a.name)); }
  }
  for (const d of catalogue.dpvs) { $("#dpv").append(option(d.code, human(d.code))); }
  $("#dpv").value = "residential";
  fillLots();
  $("#dpv").addEventListener("change", fillLots);
  for (const g of catalogue.genders) { $("#gender").append(option(g.code, human(g.code))); }
  for (const n of catalogue.needs) {
    const label = document.createElement("label");
    label.innerHTML = `<input type="checkbox" value="${n.code}"> ${human(n.code)}<small>${n.description}</small>`;
    $("#needs").append(label);
  }
  for (const p of catalogue.weights.profiles) {
    $("#profile").append(option(p.name, human(p.name)));
    $("#compare-profile").append(option(p.name, human(p.name)));
  }
  $("#compare-profile").value = "cost_focused";
  buildSliders(catalogue.weights.default_profile);
  $("#profile").addEventListener("change", () => { buildSliders($("#profile").value); scheduleRank(); });
  $("#referral").addEventListener("submit", (e) => { e.preventDefault(); runShortlist(); });
  $("#demo-bids").addEventListener("click", demoBids);
  $("#rank-button").addEventListener("click", runRank);
  document.querySelectorAll('input[name="order_by"]').forEach((r) => r.addEventListener("change", runRank));
  $("#compare-button").addEventListener("click", runCompare);
  $("#copy-weights").addEventListener("click", () => navigator.clipboard?.writeText($("#weights-json").value));
  document.querySelectorAll("#shortlist-table th button").forEach((b) =>
    b.addEventListener("click", () => sortBy(b.dataset.sort)));
}

function fillLots() {
  const dpv = state.catalogue.dpvs.find((d) => d.code === $("#dpv").value);
  const lot = $("#lot"); lot.replaceChildren();
  for (const l of dpv.lots) { lot.append(option(l.code, human(l.code))); }
}

function referralBody() {
  const num = (id) => { const v = $(id).value; return v === "" ? null : Number(v); };
  return {
    referral_id: "CONSOLE-" + Date.now(),
    placing_authority: $("#placing_authority").value,
    dpv: $("#dpv").value, lot: $("#lot").value,
    child: { age: num("#age"), gender: $("#gender").value,
             needs: [...document.querySelectorAll("#needs input:checked")].map((c) => c.value) },
    sibling_group_size: num("#sibling_group_size"),
    expected_duration_weeks: num("#expected_duration_weeks"),
    start_date: $("#start_date").value,
    max_distance_miles: num("#max_distance_miles"),
    min_ofsted_rating: $("#min_ofsted_rating").value,
    limit: 100, explain: true, explain_limit: 300,
  };
}

async function runShortlist() {
  clearErrors();
  try {
    const answer = await api("/v1/shortlist", referralBody());
    state.shortlist = answer;
    $("#shortlist-audit").textContent = `snapshot_version ${answer.snapshot_version} · decision_id ${answer.decision_id}`;
    $("#shortlist-summary").textContent = `${answer.eligible_count} eligible within ${answer.max_distance_miles} miles of ` +
      `${answer.placing_authority.name}; ${answer.excluded_within_radius_count} excluded inside the radius.`;
    const widen = $("#widen");
    widen.hidden = answer.widen_search.length === 0;
    widen.textContent = "Few eligible. Widening the search would give: " +
      answer.widen_search.map((w) => `${w.eligible_count} within ${w.max_distance_miles} miles`).join(", ") + ".";
    state.rows = answer.shortlist.map((e) => ({ ...e, ceiling: Number(e.ceiling_weekly_gbp), alerts: e.open_alerts.length }));
    renderTable();
    await drawMap(answer);
  } catch (err) { showError(err); }
}

function sortBy(key) {
  const s = state.sort;
  s.dir = s.key === key ? -s.dir : 1; s.key = key;
  renderTable();
}

function renderTable() {
  const { key, dir } = state.sort;
  const rows = [...state.rows].sort((a, b) => (a[key] > b[key] ? 1 : a[key] < b[key] ? -1 : 0) * dir
    || (a.distance_miles - b.distance_miles) || a.listing_id.localeCompare(b.listing_id));
  document.querySelectorAll("#shortlist-table th").forEach((th) => {
    const b = th.querySelector("button");
    th.setAttribute("aria-sort", b.dataset.sort === key ? (dir > 0 ? "ascending" : "descending") : "none");
  });
  const body = $("#shortlist-table tbody"); body.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement("tr");
    tr.dataset.listingId = r.listing_id;
    const cells = [`${r.name} (${r.listing_id})`, r.distance_miles.toFixed(2), r.in_area ? "yes" : "no",
      r.ceiling_weekly_gbp, String(r.vacancies), human(r.ofsted_rating), r.alerts ? `${r.alerts} open` : "none"];
    for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.append(td); }
    body.append(tr);
  }
}

async function drawMap(answer) {
  const svg = $("#map");
  svg.querySelectorAll(":not(title)").forEach((n) => n.remove());
  const o = answer.origin, W = 600, H = 420;
  const kx = Math.cos(o.lat * Math.PI / 180) * 69.17, ky = 69.0;  // miles per degree
  const r = answer.max_distance_miles;
  const scale = Math.min(W, H) / (2.3 * r);
  const px = (lon, lat) => [W / 2 + (lon - o.lon) * kx * scale, H / 2 - (lat - o.lat) * ky * scale];
  const ns = "http://www.w3.org/2000/svg";
  const el = (name, attrs, parent = svg) => {
    const n = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) { n.setAttribute(k, v); }
    parent.append(n); return n;
  };
  try {
    const feature = await api(`/v1/authorities/${answer.placing_authority.code}/boundary`);
    const g = feature.geometry;
    const polys = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
    const d = polys.map((poly) => poly.map((ring) => "M" + ring.map(([lon, lat]) => px(lon, lat).join(",")).join("L") + "Z").join(" ")).join(" ");
    el("path", { d, class: "boundary" });
  } catch (err) { /* the map still shows the radius and listings */ }
  el("circle", { cx: W / 2, cy: H / 2, r: r * scale, class: "radius" });
  el("path", { d: `M${W / 2 - 7},${H / 2}h14M${W / 2},${H / 2 - 7}v14`, class: "origin" });
  for (const x of answer.excluded_within_radius) {
    const [cx, cy] = px(x.lon, x.lat);
    const c = el("circle", { cx, cy, r: 3, class: "excluded", tabindex: "0",
      "aria-label": `Excluded: ${x.name}, ${x.distance_miles} miles: ${x.reasons.map(human).join(", ")}` });
    el("title", {}, c).textContent = `${x.name} (${x.listing_id}): ${x.reasons.map(human).join(", ")}` +
      (x.missing_needs.length ? ` (missing: ${x.missing_needs.map(human).join(", ")})` : "");
  }
  for (const e of answer.shortlist) {
    const [cx, cy] = px(e.lon, e.lat);
    const g = el("g", { class: "eligible", tabindex: "0", "data-listing-id": e.listing_id,
      "aria-label": `Eligible: ${e.name}, ${e.distance_miles} miles, Ofsted ${human(e.ofsted_rating)}` });
    el("circle", { cx, cy, r: 7 }, g);
    el("text", { x: cx, y: cy }, g).textContent = RATING_LETTER[e.ofsted_rating] || "?";
    el("title", {}, g).textContent = `${e.name} (${e.listing_id}), ${e.distance_miles} mi, ${human(e.ofsted_rating)}`;
  }
}

function demoBids() {
  if (!state.shortlist) { banner("Shortlist a referral first."); return; }
  const fractions = [0.97, 0.9, 0.93, 0.86, 0.95, 0.88, 0.99, 0.92];
  const bids = state.shortlist.shortlist.slice(0, 8).map((e, i) => ({
    bid_id: `DEMO-${i + 1}`, listing_id: e.listing_id,
    weekly_fee_gbp: (Math.round(Number(e.ceiling_weekly_gbp) * fractions[i] * 100) / 100).toFixed(2),
  }));
  if (bids.length > 2) {  // one above its ceiling, to show a rejection with its reason
    const e = state.shortlist.shortlist[2];
    bids[2].weekly_fee_gbp = (Number(e.ceiling_weekly_gbp) + 50).toFixed(2);
  }
  $("#bids").value = JSON.stringify(bids, null, 1);
  $("#demo-note").hidden = false;
}

function currentWeights() {
  const w = {};
  document.querySelectorAll("#sliders input").forEach((s) => { w[s.dataset.component] = Number(s.value); });
  return w;
}

function buildSliders(profileName) {
  const profile = state.catalogue.weights.profiles.find((p) => p.name === profileName);
  $("#profile").value = profileName;
  const box = $("#sliders"); box.replaceChildren();
  for (const comp of state.catalogue.weights.components) {
    const id = `w-${comp.code}`;
    const div = document.createElement("div"); div.className = "slider";
    div.innerHTML = `<label for="${id}" title="${comp.description}">${human(comp.code)}</label>
      <input type="range" id="${id}" min="0" max="10" step="0.5" value="${profile.weights[comp.code]}"
             data-component="${comp.code}" aria-describedby="${id}-out">
      <output id="${id}-out" for="${id}">${profile.weights[comp.code]}</output>`;
    box.append(div);
    div.querySelector("input").addEventListener("input", (e) => {
      div.querySelector("output").textContent = e.target.value; showWeights(); scheduleRank(); });
  }
  showWeights();
}

function showWeights() { $("#weights-json").value = JSON.stringify({ weights: currentWeights() }, null, 1); }

function scheduleRank() {
  clearTimeout(state.debounce);
  state.debounce = setTimeout(() => {
    document.querySelector('input[name="order_by"][value="best_match"]').checked = true;
    runRank();
  }, 250);
}

function rankBody() {
  let bids;
  try { bids = JSON.parse($("#bids").value); } catch (e) {
    throw { data: { error: { message: "Bids are not valid JSON.", details: [{ field: "bids", reason: "not valid JSON: " + e.message }] } } };
  }
  const order = document.querySelector('input[name="order_by"]:checked').value;
  return { ...referralBody(), bids, order_by: order, weights: order === "best_match" ? currentWeights() : null,
           explain: false };
}

async function runRank() {
  clearErrors();
  try {
    const answer = await api("/v1/rank", rankBody());
    state.rank = answer;
    $("#rank-audit").textContent = `snapshot_version ${answer.snapshot_version} · decision_id ${answer.decision_id} · ` +
      `order_by ${answer.order_by} · terms ${answer.contract_terms_version}`;
    renderRanking(answer);
  } catch (err) { showError(err); }
}

function renderRanking(answer) {
  const list = $("#ranked"); list.replaceChildren();
  const names = state.catalogue.weights.components.map((c) => c.code);
  for (const r of answer.ranked) {
    const li = document.createElement("li"); li.dataset.bidId = r.bid_id;
    const p = r.price;
    const discounts = p.discounts.map((d) => `${human(d.kind)} ${d.percent}% (−£${d.weekly_amount_gbp}/wk)`).join(", ") || "no discount";
    const bar = names.map((n, i) => `<span style="width:${(100 * r.components[n].contribution).toFixed(2)}%;background:${COLOURS[i]}" title="${human(n)}: ${r.components[n].contribution.toFixed(3)}"></span>`).join("");
    const parts = names.map((n) => `${human(n)} ${r.components[n].value.toFixed(2)}×${r.components[n].weight}`).join(" · ");
    li.innerHTML = `<strong>${r.bid_id}</strong> ${r.listing_name} (${r.listing_id}), ${r.distance_miles} mi, Ofsted ${human(r.ofsted_rating)}<br>
      Expected total £${p.expected_total_cost_gbp} over ${p.expected_duration_weeks} weeks (average £${p.average_weekly_cost_gbp}/wk):
      core £${p.gross_weekly_core_gbp}/wk, ${discounts}, net £${p.net_weekly_core_gbp}/wk, services £${p.additional_services_total_gbp}<br>
      Score ${r.score.toFixed(3)}${r.fully_meets_needs ? " · fully meets needs" : ""}
      <div class="bar" role="img" aria-label="Score components: ${parts}">${bar}</div>
      <div class="legend">${parts}</div>`;
    list.append(li);
  }
  const rej = $("#rejected"); rej.replaceChildren();
  if (answer.rejected.length) {
    const h = document.createElement("h3"); h.textContent = "Rejected bids"; rej.append(h);
    const ul = document.createElement("ul");
    for (const r of answer.rejected) {
      const li = document.createElement("li"); li.className = "rejected"; li.dataset.bidId = r.bid_id;
      const extra = r.details.ceiling_weekly_gbp ? ` (ceiling £${r.details.ceiling_weekly_gbp}, £${r.details.excess_weekly_gbp} over)` : "";
      li.textContent = `${r.bid_id} (${r.listing_id}): ${r.reasons.map(human).join(", ")}${extra}`;
      ul.append(li);
    }
    rej.append(ul);
  }
}

async function runCompare() {
  clearErrors();
  try {
    const request = { ...rankBody(), order_by: "best_match", weights: null };
    const answer = await api("/v1/rank/compare", { request, a: { weights: currentWeights() },
                                                   b: { profile: $("#compare-profile").value } });
    $("#compare-audit").textContent = `Kendall's tau ${answer.kendall_tau ?? "n/a"} · decision_id ${answer.decision_id}`;
    const table = $("#compare-table"); table.hidden = false;
    const body = table.querySelector("tbody"); body.replaceChildren();
    for (const m of answer.movements) {
      const tr = document.createElement("tr");
      const move = m.movement > 0 ? `up ${m.movement}` : m.movement < 0 ? `down ${-m.movement}` : "same";
      for (const c of [m.bid_id, m.rank_a, m.rank_b, move]) { const td = document.createElement("td"); td.textContent = c; tr.append(td); }
      body.append(tr);
    }
  } catch (err) { showError(err); }
}

init().catch((err) => banner("Could not load the catalogue: " + (err.status || err.message)));
