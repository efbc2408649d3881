// Ranking: the rank request, the ranked bids with their price and score breakdowns and the
// cheapest-first tie rule explained, rejected bids, the weights sliders and the comparison.

import { api, clearErrors, clientError, setStatus, showError, stamp } from "./api.js";
import { renderPrintSummary } from "./exporting.js";
import { $, $$, gbp, h, label, lower, miles, plural, showDate } from "./format.js";
import { referralBody, referralKey } from "./referral.js";
import { COMPONENT_COLOURS, state } from "./state.js";
import { reasonWords } from "./wording.js";

/** The rank request: the referral, the bids, the order and every input of the score. */
function rankBody() {
  if (!state.bids.length) throw clientError("bids", "Add at least one bid: with the form, a CSV file, or DEMO bids.");
  return {
    ...referralBody(),
    bids: state.bids,
    order_by: orderBy(),
    profile: $("#profile").value,
    weights: currentWeights(),
    start_tolerance_days: numeric("#start_tolerance_days"),
    tie_epsilon: numeric("#tie_epsilon"),
  };
}

function numeric(id) {
  const value = $(id).value.trim();
  if (value === "") return null;
  return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

function orderBy() {
  return $("input[name=order_by]:checked").value;
}

export async function runRank() {
  clearTimeout(state.rankTimer);
  state.rankTimer = null;
  const seq = ++state.seq.rank;
  const results = $("#results");
  const status = $("#rank-status");
  clearErrors();
  results.dataset.state = "loading";
  results.setAttribute("aria-busy", "true");
  setStatus(status, "Ranking…");
  try {
    const body = rankBody();
    const key = referralKey();
    const answer = await api("rank", body);
    if (seq !== state.seq.rank) return;
    state.ranking = answer;
    state.rankingKey = key;
    renderRanking(answer);
    setStatus(status, `${plural(answer.ranked.length, "bid", "bids")} ranked, ${answer.rejected.length} rejected.`);
    results.dataset.state = "done";
    if (state.compare) runCompare();
  } catch (err) {
    if (seq !== state.seq.rank) return;
    results.dataset.state = "error";
    showError(err, status, "Ranking");
  } finally {
    if (seq === state.seq.rank) results.setAttribute("aria-busy", "false");
  }
}

/**
 * Re-rank after a weight, preference or option changed (debounced), but only when the
 * ranking shown is for the referral the form holds now: never the old bids against a new
 * referral. Otherwise the ranking stays marked out of date until Rank bids is pressed.
 */
export function scheduleRank() {
  if (!state.ranking || !state.bids.length || state.rankingKey !== referralKey()) return;
  clearTimeout(state.rankTimer);
  state.rankTimer = setTimeout(runRank, 250);
}

/** Forget the ranking and the comparison (a new referral: they are not about it). */
export function clearRanking(why, { note = false } = {}) {
  clearTimeout(state.rankTimer);
  state.rankTimer = null;
  state.seq.rank += 1; // an answer still on its way is for the old referral: drop it
  state.seq.compare += 1;
  state.ranking = null;
  state.rankingKey = null;
  state.compare = null;
  const results = $("#results");
  results.dataset.state = "idle";
  results.dataset.stale = "false";
  results.setAttribute("aria-busy", "false");
  delete results.dataset.decisionId;
  $("#rank-stale").hidden = !note;
  $("#rank-stale").textContent = note ? why : "";
  $("#rank-stamp").replaceChildren();
  $("#rank-summary").textContent = note ? "Press Rank bids to rank the bids for this referral." : why;
  $("#tie-rule").hidden = true;
  $("#rank-tools").hidden = true;
  $("#component-legend").hidden = true;
  $("#ranked").replaceChildren();
  $("#rejected").hidden = true;
  $("#rejected-list").replaceChildren();
  $("#compare").hidden = true;
  $("#compare-table tbody").replaceChildren();
  setStatus($("#rank-status"), "");
  setStatus($("#compare-status"), "");
  renderPrintSummary();
}

/** Mark the ranking (and comparison) as not about the referral the form holds now. */
export function markRankingStale(stale) {
  const results = $("#results");
  results.dataset.stale = String(stale);
  const note = $("#rank-stale");
  note.hidden = !stale;
  if (stale) {
    note.textContent = "Out of date: this ranking is for the referral as it was before your changes. " +
      "Press Rank bids to rank again (weights will not re-rank it until then).";
  }
}

function listingName(listingId) {
  const entry = state.rows.find((e) => e.listing_id === listingId);
  return entry ? entry.name : null;
}

function demoTag(bidId) {
  return String(bidId).startsWith("DEMO-") ? [" ", h("span", { class: "tag demo" }, "DEMO")] : [];
}

function profileWeights(name) {
  const profile = state.catalogue.weights.profiles.find((p) => p.name === name);
  return profile ? profile.weights : {};
}

/** One sentence on whether and how the cheapest-first tie rule shaped this order. */
function tieRuleSentence(answer) {
  const eps = answer.tie_epsilon;
  const moved = answer.ranked.filter((r) => r.tie_break).length;
  if (answer.order_by === "price") {
    return "Ordered by price (lowest expected total first): the cheapest-first tie rule does not apply.";
  }
  const priceZero = answer.weights.weights.price === 0;
  const zero = priceZero
    ? `The price weight is 0, so price adds nothing to the scores, but the tie rule still applies: it compares ` +
      `expected total cost, not the price score. `
    : "";
  if (eps === 0) return `${zero}Tie margin 0: the bids are in score order (the cheapest-first tie rule is off).`;
  return `${zero}Cheapest-first tie rule: bids that fully meet the child's needs and score within ${eps} of each ` +
    `other rank cheapest first (“if two options fully meet needs, choose the cheapest”); ` +
    (moved ? `it moved ${plural(moved, "bid", "bids")} here, marked “tie rule”.` : "it moved no bid here.") +
    (priceZero && eps > 0 ? " Set the tie margin to 0 to rank by score alone." : "");
}

function renderRanking(answer) {
  const results = $("#results");
  const w = answer.weights;
  markRankingStale(false);
  stamp($("#rank-stamp"), answer, [
    h("span", {}, "contract terms ", h("code", {}, answer.contract_terms_version)),
    h("span", {}, "weights ", h("code", {}, w.profile)),
  ]);
  const edited = Object.entries(w.weights).some(([k, v]) => profileWeights(w.profile)[k] !== v);
  $("#rank-summary").textContent =
    `${plural(answer.ranked.length, "bid", "bids")} ranked by ` +
    `${answer.order_by === "price" ? "price (lowest expected total first)" : "best match (highest score first)"}` +
    `, with the ${lower(w.profile)} weights${edited ? " as edited" : ""}. ` +
    `${plural(answer.rejected.length, "bid was", "bids were")} rejected.`;
  const tie = $("#tie-rule");
  tie.hidden = false;
  tie.textContent = tieRuleSentence(answer);
  $("#rank-tools").hidden = false;
  const names = Object.keys(w.weights);
  const legend = $("#component-legend");
  legend.hidden = !answer.ranked.length;
  legend.replaceChildren(h("li", {}, "Score components:"), ...names.map((n, i) =>
    h("li", {}, swatch(i), label(n))));
  const byId = new Map(answer.ranked.map((r) => [r.bid_id, r]));
  const passedBy = new Map(); // bid -> the bids the tie rule placed above it
  for (const r of answer.ranked) {
    for (const other of (r.tie_break ? r.tie_break.moved_above : [])) {
      if (!passedBy.has(other)) passedBy.set(other, []);
      passedBy.get(other).push(r);
    }
  }
  $("#ranked").replaceChildren(...answer.ranked.map((r) => rankedItem(r, names, answer, byId, passedBy)));
  const rejected = $("#rejected");
  rejected.hidden = !answer.rejected.length;
  $("#rejected-list").replaceChildren(...answer.rejected.map(rejectedItem));
  results.dataset.weights = JSON.stringify(w.weights);
  results.dataset.orderBy = answer.order_by;
  results.dataset.decisionId = answer.decision_id;
  renderPrintSummary();
}

function swatch(i) {
  return h("span", { class: "swatch", style: `background:${COMPONENT_COLOURS[i % COMPONENT_COLOURS.length]}`, "aria-hidden": "true" });
}

/** "B3 (score 0.638) is placed above B4 (0.642) by the tie rule: ..." for a bid the rule moved. */
function tieNote(r, answer, byId, passedBy) {
  const lines = [];
  if (r.tie_break) {
    const over = r.tie_break.moved_above.map((id) => `${id} (${byId.get(id).score.toFixed(3)})`).join(", ");
    lines.push(`Placed above ${over} although it scores ${r.score.toFixed(3)}: it fully meets the child's needs and is ` +
      `the cheapest such bid within ${answer.tie_epsilon} of the best remaining score (cheapest-first tie rule).`);
  }
  const winners = passedBy.get(r.bid_id);
  if (winners) {
    const names = winners.map((w) => `${w.bid_id} (${w.score.toFixed(3)})`).join(" and ");
    const why = r.fully_meets_needs ? ", which cost less," : "";
    const tail = r.fully_meets_needs ? "" : `: ${winners.length > 1 ? "they fully meet" : "it fully meets"} the child's needs and this bid does not`;
    lines.push(`Placed below ${names}${why} by the cheapest-first tie rule, although it scores ${r.score.toFixed(3)}${tail}.`);
  }
  if (!lines.length) return null;
  return h("p", { class: "tie-note" }, h("span", { class: "tag tie" }, "tie rule"), ` ${lines.join(" ")}`);
}

function rankedItem(r, names, answer, byId, passedBy) {
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
    ...parts.map((c, i) => h("li", { title: `${label(c.n)}: value ${c.value.toFixed(3)} × weight ${c.weight} → ${c.contribution.toFixed(4)}`, dataset: { component: c.n } },
      swatch(i), `${label(c.n)} ${c.value.toFixed(2)}×${c.weight} → ${c.contribution.toFixed(3)}`)));
  const preferred = r.components.preference && r.components.preference.value === 1; // as the request said

  const data = r.tie_break ? { bidId: r.bid_id, tieBreak: r.tie_break.moved_above.join(" ") } : { bidId: r.bid_id };
  return h("li", { class: "bid", dataset: data },
    h("div", { class: "rank" }, h("span", { class: "visually-hidden" }, "Rank "), String(r.rank)),
    h("div", { class: "bid-head" }, h("strong", {}, r.bid_id), ...demoTag(r.bid_id), ` · ${r.listing_name} `,
      h("span", { class: "sub" }, `${r.listing_id} · ${r.provider_name}`)),
    h("div", { class: "bid-facts hint" },
      `${miles(r.distance_miles)} mi · ${r.in_area ? "in area" : "outside the area"} · Ofsted: ${label(r.ofsted_rating)}`,
      r.fully_meets_needs ? [" · ", h("span", { class: "tag good" }, "fully meets needs")] : [" · ", h("span", { class: "tag muted" }, "does not fully meet needs")],
      preferred ? [" · ", h("span", { class: "tag good" }, "preferred")] : null),
    tieNote(r, answer, byId, passedBy),
    h("div", { class: "bid-body" }, price,
      h("div", { class: "score" },
        h("div", { class: "score-line" }, "Score ", h("strong", {}, r.score.toFixed(3)), " of 1"),
        bar, components)),
  );
}

function rejectedItem(r) {
  const name = listingName(r.listing_id);
  const details = Object.entries(r.details || {}).map(([k, v]) => {
    if (k.endsWith("_gbp")) return `${lower(k.slice(0, -4))} ${gbp(v)}`;
    if (k === "available_from") return `can start ${showDate(v)}`;
    if (k === "missing_needs") return `lacks ${v.map(lower).join(", ")}`;
    if (k === "services_not_on_menu") return `not on the menu: ${v.map(lower).join(", ")}`;
    return `${lower(k)}: ${Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : v}`;
  });
  return h("li", { dataset: { bidId: r.bid_id } },
    h("strong", {}, r.bid_id), ...demoTag(r.bid_id), ` for ${name ? `${name} (${r.listing_id})` : r.listing_id}: `,
    ...r.reasons.map((code, i) => [i ? "; " : "", h("strong", { class: "why" }, reasonWords(code))]),
    details.length ? ` — ${details.join(", ")}.` : "");
}

// ---------------------------------------------------------------------------------------
// Weights: sliders from a profile, copy as JSON, compare with another profile
// ---------------------------------------------------------------------------------------

export function buildSliders() {
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

export function describeProfile() {
  const profile = state.catalogue.weights.profiles.find((p) => p.name === $("#profile").value);
  $("#profile-hint").textContent = profile ? profile.description : "";
}

export async function copyWeights() {
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

export async function runCompare() {
  const seq = ++state.seq.compare;
  const status = $("#compare-status");
  clearErrors();
  setStatus(status, "Comparing…");
  try {
    const body = {
      request: { ...rankBody(), order_by: "best_match", profile: null, weights: null },
      a: { profile: $("#profile").value, weights: currentWeights() },
      b: { profile: $("#compare-profile").value },
    };
    const answer = await api("rank/compare", body);
    if (seq !== state.seq.compare) return;
    state.compare = answer;
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
