// The shortlist: the request, its summary, the widen-search offer, the eligible table (with
// Prefer and Exclude), and the near misses (listings of the referral's own DPV and lot kept
// out by one reason), the other exclusions behind a toggle.

import { api, clearErrors, setStatus, showError, stamp } from "./api.js";
import { $, $$, count, gbp, h, label, miles, milesText, plural, s, showDate } from "./format.js";
import { drawMap, mapNote, markerIcon } from "./map.js";
import { referralBody, referralKey, togglePick } from "./referral.js";
import { RATING_LETTER, state } from "./state.js";
import { reasonWithDetail, reasonWords } from "./wording.js";

const OTHER_KIND = new Set(["dpv_mismatch", "lot_not_approved"]);

/** Excluded listings of the referral's own DPV and lot that one reason alone keeps out. */
function nearMisses(answer) {
  return answer.excluded_within_radius.filter((x) => x.reasons.length === 1 && !OTHER_KIND.has(x.reasons[0]));
}

/** The excluded listings the map draws: the near misses, or all when asked. */
function excludedShown(answer) {
  return state.showAllExcluded ? answer.excluded_within_radius : nearMisses(answer);
}

/** Send the referral; show the answer. `onAnswer(answer, key)` runs once it is shown. */
export async function runShortlist(onAnswer) {
  const seq = ++state.seq.shortlist;
  clearErrors();
  const status = $("#shortlist-status");
  setStatus(status, "Shortlisting…");
  $("#shortlist-button").disabled = true;
  const body = referralBody();
  try {
    const answer = await api("shortlist", body);
    if (seq !== state.seq.shortlist) return;
    state.shortlist = answer;
    state.shortlistKey = referralKey(body);
    state.rows = answer.shortlist.map((entry, order) => ({ ...entry, order }));
    for (const e of answer.shortlist) state.names.set(e.listing_id, e.name);
    $("#shortlist-panel").classList.remove("stale");
    $("#shortlist-stale").hidden = true;
    $("#shortlist-changed").hidden = true;
    renderShortlist(answer);
    setStatus(status, `${plural(answer.eligible_count, "listing", "listings")} eligible.`);
    onAnswer(answer);
    await drawMap(answer, excludedShown(answer));
  } catch (err) {
    if (seq !== state.seq.shortlist) return;
    showError(err, status, "Shortlist", { focus: true, onSuggestion: () => $("#referral").requestSubmit() });
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
  const shown = answer.shortlist.length < answer.eligible_count ? ` The table shows the nearest ${count(answer.shortlist.length)}.` : "";
  $("#shortlist-summary").textContent =
    `${plural(answer.eligible_count, "listing is", "listings are")} eligible within ${milesText(answer.max_distance_miles)} of ` +
    `${origin} (placing authority ${answer.placing_authority.name}, ${answer.placing_authority.code}).${shown}`;
  $("#download-shortlist").disabled = false;
  renderWiden(answer);
  renderTable();
  renderNearMisses(answer);
}

/** Offer only the wider radii that would find more listings than this one. */
function renderWiden(answer) {
  const box = $("#widen");
  const wider = answer.widen_search;
  box.hidden = wider.length === 0;
  if (box.hidden) {
    mapNote("");
    return;
  }
  const adding = wider.filter((w) => w.eligible_count > answer.eligible_count);
  const none = wider.filter((w) => w.eligible_count <= answer.eligible_count);
  const within = `within ${milesText(answer.max_distance_miles)}`;
  box.replaceChildren(
    h("strong", {}, answer.eligible_count ? `Few eligible ${within}. ` : `None eligible ${within}. `),
    adding.length ? "A wider search would find: " : "",
    ...adding.map((w) => h("button", {
      type: "button", class: "secondary", dataset: { miles: w.max_distance_miles },
      onclick: () => { $("#max_distance_miles").value = w.max_distance_miles; $("#referral").requestSubmit(); },
    }, `${count(w.eligible_count)} within ${milesText(w.max_distance_miles)}`)),
    none.length ? h("span", { class: "no-gain" }, `${adding.length ? " " : ""}Searching ${none.map((w) => milesText(w.max_distance_miles)).join(" or ")} ` +
      `would find no more.${adding.length ? "" : " Try fewer required needs or another lot."}`) : "",
  );
  mapNote(`${answer.eligible_count ? `Only ${count(answer.eligible_count)}` : "None"} eligible ${within}.` + (adding.length
    ? ` Wider: ${adding.map((w) => `${count(w.eligible_count)} within ${milesText(w.max_distance_miles)}`).join(", ")}.`
    : " A wider search finds no more."));
}

// ---------------------------------------------------------------------------------------
// The eligible table (sortable), with Prefer and Exclude
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

export function sortBy(key) {
  state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
  renderTable();
}

function ratingBadge(code) {
  const letter = RATING_LETTER[code] || "N";
  return h("span", { class: "rating" },
    s("svg", { viewBox: "-11 -11 22 22", "aria-hidden": "true", class: "icon" }, markerIcon(letter)),
    label(code));
}

export function renderTable() {
  const { key, dir } = state.sort;
  const value = SORT_VALUE[key];
  const rows = [...state.rows].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    return (va < vb ? -1 : va > vb ? 1 : 0) * dir || a.order - b.order;
  });
  for (const th of $$("#shortlist-table thead th")) {
    const button = $("button", th);
    if (!button) continue;
    if (button.dataset.sort === key) th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
    else th.removeAttribute("aria-sort");
  }
  const body = $("#shortlist-table tbody");
  if (state.shortlist && !rows.length) {
    body.replaceChildren(h("tr", { class: "empty-row" }, h("td", { colspan: 8 },
      `None eligible within ${milesText(state.shortlist.max_distance_miles)}.`)));
    return;
  }
  body.replaceChildren(...rows.map((r) => h("tr", {
    dataset: { listingId: r.listing_id }, class: state.excluded.has(r.listing_id) ? "to-exclude" : null,
  },
  h("td", {}, h("span", { class: "name", title: r.name }, r.name),
    h("span", { class: "sub", title: `${r.provider_name} · ${r.listing_id}` }, `${r.listing_id} · ${r.provider_name}`)),
  h("td", { class: "num" }, miles(r.distance_miles)),
  h("td", {}, r.in_area ? "Yes" : "No"),
  h("td", { class: "num" }, gbp(r.ceiling_weekly_gbp)),
  h("td", { class: "num" }, String(r.vacancies), r.available_from ? h("span", { class: "sub" }, `from ${showDate(r.available_from)}`) : null),
  h("td", {}, ratingBadge(r.ofsted_rating)),
  h("td", {}, alertsCell(r.open_alerts)),
  h("td", { class: "pick-cell no-print" }, pickButtons(r)),
  )));
}

function pickButtons(r) {
  const preferred = state.preferred.has(r.listing_id);
  const excluded = state.excluded.has(r.listing_id);
  return [
    h("button", {
      type: "button", class: "secondary small prefer", "aria-pressed": String(preferred),
      "aria-label": `Prefer ${r.name}`, title: "The child's or family's preference (best match)",
      onclick: () => togglePick("preferred", r.listing_id, r.name),
    }, "Prefer"),
    h("button", {
      type: "button", class: "secondary small exclude", "aria-pressed": String(excluded),
      "aria-label": `Exclude ${r.name}`, title: "Leave it out when you shortlist again",
      onclick: () => togglePick("excluded", r.listing_id, r.name),
    }, "Exclude"),
  ];
}

function alertsCell(alerts) {
  if (!alerts.length) return "None";
  return [
    h("span", { class: "flag" }, h("span", { "aria-hidden": "true" }, "⚠ "), `${alerts.length} open`),
    h("span", { class: "sub" }, alerts.map((a) => `${a.severity}, raised ${showDate(a.raised_on)} by ${a.raised_by}`).join("; ")),
  ];
}

// ---------------------------------------------------------------------------------------
// Near misses, everything excluded, whole-registry counts
// ---------------------------------------------------------------------------------------

function renderNearMisses(answer) {
  const section = $("#near-misses");
  section.hidden = false;
  const near = nearMisses(answer);
  const all = answer.excluded_within_radius;
  const total = answer.excluded_within_radius_count;
  const groups = new Map();
  for (const x of near) {
    const code = x.reasons[0];
    if (!groups.has(code)) groups.set(code, []);
    groups.get(code).push(x);
  }
  const ordered = [...groups].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
  if (state.nearFilter && !groups.has(state.nearFilter)) state.nearFilter = "";
  const checked = all.length < total ? ` (of the nearest ${count(all.length)} of ${count(total)} excluded)` : "";
  $("#near-h").textContent = `Near misses (${count(near.length)})`;
  $("#near-intro").textContent = near.length
    ? `${plural(near.length, "listing", "listings")} of this DPV and lot inside the radius ${near.length === 1 ? "is" : "are"} kept out by one reason alone${checked}.`
    : `No listing of this DPV and lot inside the radius is kept out by one reason alone${checked}.`;
  $("#near-filter").closest(".row").hidden = !near.length;
  $("#near-filter").replaceChildren(
    h("option", { value: "" }, `All reasons (${count(near.length)})`),
    ...ordered.map(([code, items]) => h("option", { value: code, selected: code === state.nearFilter }, `${reasonWords(code)} (${count(items.length)})`)));
  $("#near-groups").replaceChildren(...ordered.map(([code, items]) => h("li", {
    dataset: { reason: code, count: items.length }, hidden: Boolean(state.nearFilter) && code !== state.nearFilter,
  },
  h("h4", {}, `${reasonWords(code)} · ${count(items.length)}`),
  h("ul", {}, ...items.map((x) => h("li", { dataset: { listingId: x.listing_id } },
    `${x.name} (${x.listing_id}) · ${miles(x.distance_miles)} mi`,
    code === "needs_not_met" ? h("span", { class: "sub" }, reasonWithDetail(code, x.missing_needs)) : null))))));

  const others = all.length - near.length;
  $("#show-all-label").textContent = `Show every excluded listing inside the radius (${count(total)}; ` +
    `${count(others + (total - all.length))} more: another DPV or lot, or more than one reason)`;
  $("#show-all-excluded").checked = state.showAllExcluded;
  $("#all-excluded").hidden = !state.showAllExcluded;
  $("#excluded-table tbody").replaceChildren(...(state.showAllExcluded ? all : []).map((x) => h("tr", { dataset: { listingId: x.listing_id } },
    h("td", {}, x.name, h("span", { class: "sub" }, x.listing_id)),
    h("td", { class: "num" }, miles(x.distance_miles)),
    h("td", {}, x.reasons.map((code) => reasonWithDetail(code, x.missing_needs)).join("; ")),
  )));

  const counts = Object.entries(answer.excluded_counts).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  $("#excluded-counts").replaceChildren(
    h("p", { class: "hint" }, "Across the whole registry (every listing in every area, not only inside this radius): " +
      "how many listings each reason would exclude. A listing can fail several."),
    h("ul", {}, ...counts.map(([code, n]) => h("li", { dataset: { reason: code } }, `${reasonWords(code)}: ${count(n)}`))));
}

/** Filter the near misses by reason ("" for all). */
export function filterNearMisses(code) {
  state.nearFilter = code;
  for (const group of $$("#near-groups > li")) group.hidden = Boolean(code) && group.dataset.reason !== code;
}

/** Show every excluded listing (table and map) or only the near misses. */
export async function showAllExcluded(on) {
  state.showAllExcluded = on;
  if (!state.shortlist) return;
  renderNearMisses(state.shortlist);
  await drawMap(state.shortlist, excludedShown(state.shortlist), { keepView: true });
}
