// Officer console: a thin client of the matcher's public API (no framework, no build step).
//
// Every figure shown comes from /v1/shortlist, /v1/rank or /v1/rank/compare: nothing is
// matched, priced or scored here. The page builds request bodies from the form, draws the
// answers (a map, tables, bars), puts each API error next to the control it names in the
// officer's words, and never shows an answer as current for a referral it was not made for.
//
// Modules: format (DOM, words, money, dates), wording (officer wording for codes), api
// (requests and errors), state, referral (the form), shortlist (table, near misses), map,
// bids (form, CSV, JSON, DEMO), ranking (ranking, tie rule, weights, compare), exporting
// (CSV downloads, the printed summary). This one wires them together.

import { api, clearErrors, setStatus, showError } from "./api.js";
import { demoBids, refreshBidForm, renderBidList, wireBids } from "./bids.js";
import { $, $$, h, label, s } from "./format.js";
import { downloadRanking, downloadShortlist, renderPrintSummary } from "./exporting.js";
import { markerIcon, resetMapInfo, wireMapControls } from "./map.js";
import { describeLot, fillForm, fillLots, option, referralKey, referralSummary, renderPicks } from "./referral.js";
import {
  buildSliders, clearRanking, copyWeights, describeProfile, markRankingStale, runCompare, runRank, scheduleRank,
} from "./ranking.js";
import { filterNearMisses, renderTable, runShortlist, showAllExcluded, sortBy } from "./shortlist.js";
import { RATING_LETTER, state } from "./state.js";

/** A new shortlist answer: whatever was shown for another referral goes. */
function onShortlisted(answer) {
  state.shortlistSummary = referralSummary(answer);
  if (state.ranking && state.rankingKey !== state.shortlistKey) {
    clearRanking(`The referral changed (now ${answer.placing_authority.name}): the ranking and comparison made for ` +
      "the previous referral were cleared. Rank the bids again for this one.", { note: true });
  }
  resetMapInfo();
  refreshBidForm();
  renderPrintSummary();
  updateStale();
}

/** After any edit of the referral: say which answers no longer match the form. */
function updateStale() {
  const key = referralKey();
  $("#shortlist-changed").hidden = !state.shortlist || state.shortlistKey === key;
  if (state.ranking) markRankingStale(state.rankingKey !== key);
}

function onPicks(event) {
  renderTable();
  updateStale();
  if (event.detail.kind === "preferred") scheduleRank(); // a score input, like a weight
}

function wire() {
  $("#dpv").addEventListener("change", fillLots);
  $("#lot").addEventListener("change", describeLot);
  const form = $("#referral");
  form.addEventListener("submit", (event) => { event.preventDefault(); runShortlist(onShortlisted); });
  form.addEventListener("input", updateStale);
  form.addEventListener("change", updateStale);
  form.addEventListener("picks", onPicks);
  for (const button of $$("#shortlist-table thead button")) button.addEventListener("click", () => sortBy(button.dataset.sort));
  $("#near-filter").addEventListener("change", (event) => filterNearMisses(event.target.value));
  $("#show-all-excluded").addEventListener("change", (event) => showAllExcluded(event.target.checked));
  $("#download-shortlist").addEventListener("click", downloadShortlist);
  $("#download-ranking").addEventListener("click", downloadRanking);
  $("#print-button").addEventListener("click", () => window.print());
  wireMapControls();
  wireBids(() => {
    if (state.ranking) {
      $("#rank-stale").hidden = false;
      $("#rank-stale").textContent = "The bids have changed since this ranking: press Rank bids to rank them.";
    }
  });
  $("#demo-bids").addEventListener("click", () => { if (demoBids()) runRank(); });
  $("#rank-button").addEventListener("click", runRank);
  for (const radio of $$("input[name=order_by]")) radio.addEventListener("change", scheduleRank);
  for (const id of ["#start_tolerance_days", "#tie_epsilon"]) $(id).addEventListener("change", scheduleRank);
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
  setStatus($("#shortlist-status"), "");
  state.catalogue = catalogue;
  state.authorities = authorities;
  fillForm(catalogue, authorities);
  renderPicks();
  const profiles = catalogue.weights.profiles;
  $("#profile").replaceChildren(...profiles.map((p) => option(p.name, label(p.name), p.name === catalogue.weights.default_profile)));
  const other = profiles.find((p) => p.name !== catalogue.weights.default_profile);
  $("#compare-profile").replaceChildren(...profiles.map((p) => option(p.name, label(p.name), other && p.name === other.name)));
  $("#map-legend").replaceChildren(...catalogue.ofsted_ratings.map((r) => h("li", {},
    s("svg", { viewBox: "-11 -11 22 22", "aria-hidden": "true" }, markerIcon(RATING_LETTER[r.code] || "N")), label(r.code))),
  h("li", {}, s("svg", { viewBox: "-11 -11 22 22", "aria-hidden": "true" }, s("circle", { r: 4, fill: "#9aa1ab", stroke: "#5f6670" })), "Excluded"));
  describeProfile();
  buildSliders();
  wire();
  renderBidList();
  document.body.dataset.ready = "true";
}

start();
