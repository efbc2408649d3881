// The referral form: filled from the catalogue, read into a ShortlistRequest.

import { $, $$, dateField, h, label, todayIso } from "./format.js";
import { state } from "./state.js";

let startDate = null; // the start date field (dateField)

function option(value, text, selected = false) {
  return h("option", { value, selected }, text);
}

export { option };

/** Fill the form's choices and defaults from the catalogue and the authorities. */
export function fillForm(catalogue, authorities) {
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
  $("#needs").replaceChildren(...catalogue.needs.map((n) => {
    const must = `need-${n.code}`;
    const want = `want-${n.code}`;
    return h("tr", { dataset: { need: n.code } },
      h("th", { scope: "row" }, h("label", { for: must, id: `${must}-l` }, label(n.code),
        h("span", { class: "desc", id: `${must}-d` }, n.description))),
      h("td", { class: "c" }, h("input", {
        type: "checkbox", id: must, value: n.code, class: "must", "aria-labelledby": `${must}-l`,
        "aria-describedby": `${must}-d`, onchange: () => exclusive(must, want),
      })),
      h("td", { class: "c" }, h("input", {
        type: "checkbox", id: want, value: n.code, class: "want", "aria-label": `${label(n.code)}: desirable`,
        "aria-describedby": `${must}-d`, onchange: () => exclusive(want, must),
      })));
  }));
  const minRating = $("#min_ofsted_rating");
  for (const r of catalogue.ofsted_ratings.filter((r) => r.code !== "not_yet_inspected")) {
    minRating.append(option(r.code, label(r.code), r.code === defaults.min_ofsted_rating));
  }
  $("#sibling_group_size").value = defaults.sibling_group_size ?? 1;
  $("#expected_duration_weeks").value = defaults.expected_duration_weeks ?? 52;
  $("#max_distance_miles").value = defaults.max_distance_miles ?? 20;
  $("#accept_not_yet_inspected").checked = defaults.accept_not_yet_inspected ?? true;
  startDate = dateField($("#start_date"), $("#start_date-echo"));
  const today = todayIso();
  startDate.set(today);
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  $("#referral_id").value = `CONSOLE-${today.replaceAll("-", "")}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  renderPicks();
}

/** A need is required or desirable, never both. */
function exclusive(changed, other) {
  if ($(`#${changed}`).checked) $(`#${other}`).checked = false;
}

export function fillLots() {
  const dpv = state.catalogue.dpvs.find((d) => d.code === $("#dpv").value);
  const lot = $("#lot");
  const previous = lot.value;
  lot.replaceChildren(...dpv.lots.map((l) => option(l.code, label(l.code), l.code === previous)));
  describeLot();
}

export function describeLot() {
  const dpv = state.catalogue.dpvs.find((d) => d.code === $("#dpv").value);
  const lot = dpv.lots.find((l) => l.code === $("#lot").value);
  $("#lot-hint").textContent = `${dpv.description} ${lot ? lot.description : ""}`;
}

/** A number typed, sent as a number when it reads as one (else as typed: the API refuses it). */
function numeric(id) {
  const value = $(id).value.trim();
  if (value === "") return null;
  return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

/** The ShortlistRequest for what the form says (sent as typed: the API validates). */
export function referralBody() {
  const text = $("#start_date").value.trim();
  const body = {
    referral_id: $("#referral_id").value.trim(),
    placing_authority: $("#placing_authority").value,
    dpv: $("#dpv").value,
    lot: $("#lot").value,
    child: {
      age: numeric("#age"),
      gender: $("#gender").value,
      needs: $$("#needs input.must:checked").map((c) => c.value),
    },
    sibling_group_size: numeric("#sibling_group_size"),
    expected_duration_weeks: numeric("#expected_duration_weeks"),
    start_date: text ? ($("#start_date").dataset.iso || text) : null,
    max_distance_miles: numeric("#max_distance_miles"),
    min_ofsted_rating: $("#min_ofsted_rating").value,
    accept_not_yet_inspected: $("#accept_not_yet_inspected").checked,
    exclude_listing_ids: [...state.excluded.keys()],
    preferred_listing_ids: [...state.preferred.keys()],
    limit: 200,
    explain: true,
    explain_limit: 1000,
  };
  const secondary = $$("#needs input.want:checked").map((c) => c.value);
  if (secondary.length) body.child.secondary_needs = secondary;
  const district = $("#postcode_district").value.trim();
  if (district) body.origin = { postcode_district: district };
  return body;
}

/**
 * Identifies the referral a shortlist or ranking was made for: everything the form sends
 * except the preferences, which change scores but not who is eligible (a ranking follows
 * them live, like the weights).
 */
export function referralKey(body = referralBody()) {
  const { preferred_listing_ids: _ignored, ...rest } = body;
  return JSON.stringify(rest);
}

/** The preferred and excluded listings, as removable chips in the form. */
export function renderPicks() {
  const chips = (map, kind) => [...map].map(([id, name]) => h("li", { dataset: { listingId: id } },
    `${name} (${id})`,
    h("button", {
      type: "button", class: "link", "aria-label": `Remove ${name} from the ${kind} listings`,
      onclick: () => togglePick(kind, id, name),
    }, "×")));
  $("#preferred-list").replaceChildren(...chips(state.preferred, "preferred"));
  $("#excluded-list").replaceChildren(...chips(state.excluded, "excluded"));
}

/** Prefer or exclude a listing (or undo it); the form says so and fires a change. */
export function togglePick(kind, id, name) {
  const map = kind === "preferred" ? state.preferred : state.excluded;
  const other = kind === "preferred" ? state.excluded : state.preferred;
  if (map.has(id)) map.delete(id);
  else {
    map.set(id, name);
    other.delete(id); // a listing is preferred or excluded, not both
  }
  renderPicks();
  $("#referral").dispatchEvent(new CustomEvent("picks", { detail: { kind, id } }));
}

/** What the referral says, for the printed summary: [label, value] pairs. */
export function referralSummary(answer) {
  const body = referralBody();
  const needs = (codes) => (codes && codes.length ? codes.map(label).join(", ") : "none");
  const names = (map) => (map.size ? [...map].map(([id, name]) => `${name} (${id})`).join("; ") : "none");
  return [
    ["Referral ID", answer.referral_id],
    ["Placing authority", `${answer.placing_authority.name} (${answer.placing_authority.code})`],
    ["DPV and lot", `${label(body.dpv)}, ${label(body.lot)}`],
    ["Child", `age ${body.child.age}, ${body.child.gender}`],
    ["Required needs", needs(body.child.needs)],
    ["Desirable needs", needs(body.child.secondary_needs)],
    ["Sibling group", String(body.sibling_group_size)],
    ["Duration", `${body.expected_duration_weeks} weeks`],
    ["Start date", startDate ? $("#start_date-echo").textContent : String(body.start_date)],
    ["Radius", `${answer.max_distance_miles} miles from ${answer.origin.resolved_from === "authority" ? `the centre of ${answer.placing_authority.name}` : answer.origin.label}`],
    ["Minimum Ofsted rating", `${label(body.min_ofsted_rating)}${body.accept_not_yet_inspected ? " (not yet inspected accepted)" : ""}`],
    ["Preferred listings", names(state.preferred)],
    ["Excluded listings", names(state.excluded)],
  ];
}
