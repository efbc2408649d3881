// What goes to the placement panel and the audit file: CSV downloads of the shortlist and of
// the ranking (every column shown, with the answer's referral_id, decision_id,
// snapshot_version and the weights used), and the printed summary (print.css lays it out).

import { $, h, lower } from "./format.js";
import { state } from "./state.js";

const yes = (b) => (b ? "yes" : "no");

/** One CSV cell: quoted when needed; text a spreadsheet would run as a formula is defused. */
function csvCell(value) {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text) && !/^[-+]?\d+(\.\d+)?$/.test(text)) text = `'${text}`;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvText(header, rows) {
  return [header, ...rows].map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

function download(name, text) {
  const blob = new Blob(["\uFEFF", text], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const fileSafe = (text) => String(text).replace(/[^A-Za-z0-9._-]+/g, "_");

/** The shortlist as CSV: the API's order, every column of the table and the answer's ids. */
function shortlistCsv(answer) {
  const header = ["referral_id", "decision_id", "snapshot_version", "placing_authority_code", "placing_authority",
    "max_distance_miles", "listing_id", "name", "provider_id", "provider_name", "distance_miles", "in_area",
    "ceiling_weekly_gbp", "vacancies", "available_from", "ofsted_rating", "ofsted_urn", "open_alerts", "kpi_score",
    "additional_services", "preferred", "marked_to_exclude"];
  const rows = answer.shortlist.map((e) => [answer.referral_id, answer.decision_id, answer.snapshot_version,
    answer.placing_authority.code, answer.placing_authority.name, answer.max_distance_miles, e.listing_id, e.name,
    e.provider_id, e.provider_name, e.distance_miles, yes(e.in_area), e.ceiling_weekly_gbp, e.vacancies,
    e.available_from ?? "", e.ofsted_rating, e.ofsted_urn,
    e.open_alerts.map((a) => `${a.severity} ${a.raised_on} ${a.raised_by} ${a.id}`).join("; "), e.kpi_score ?? "",
    (e.additional_services || []).map((m) => `${m.code} ${m.rate_gbp}/${m.unit}`).join("; "),
    yes(state.preferred.has(e.listing_id)), yes(state.excluded.has(e.listing_id))]);
  return csvText(header, rows);
}

/** The ranking as CSV: ranked bids in rank order, then rejected bids, each with the weights. */
function rankingCsv(answer) {
  const names = Object.keys(answer.weights.weights);
  const head = ["referral_id", "decision_id", "snapshot_version", "contract_terms_version", "order_by", "profile",
    "tie_epsilon", ...names.map((n) => `weight_${n}`)];
  const fields = ["status", "rank", "bid_id", "listing_id", "listing_name", "provider_id", "provider_name",
    "distance_miles", "in_area", "ofsted_rating", "fully_meets_needs", "weekly_fee_gbp", "children",
    "gross_weekly_core_gbp", "discounts", "net_weekly_core_gbp", "additional_services",
    "additional_services_total_gbp", "expected_duration_weeks", "expected_total_cost_gbp", "average_weekly_cost_gbp",
    "ceiling_weekly_gbp", "headroom_weekly_gbp", "score", ...names.flatMap((n) => [`${n}_value`, `${n}_contribution`]),
    "tie_break_moved_above", "rejection_reasons", "rejection_details"];
  const common = [answer.referral_id, answer.decision_id, answer.snapshot_version, answer.contract_terms_version,
    answer.order_by, answer.weights.profile, answer.tie_epsilon, ...names.map((n) => answer.weights.weights[n])];
  const ranked = answer.ranked.map((r) => {
    const p = r.price;
    return [...common, "ranked", r.rank, r.bid_id, r.listing_id, r.listing_name, r.provider_id, r.provider_name,
      r.distance_miles, yes(r.in_area), r.ofsted_rating, yes(r.fully_meets_needs), p.weekly_fee_gbp, p.children,
      p.gross_weekly_core_gbp, p.discounts.map((d) => `${d.kind} ${d.percent}% ${d.weekly_amount_gbp}`).join("; "),
      p.net_weekly_core_gbp,
      p.additional_services.map((sv) => `${sv.code} ${sv.units_per_week} ${sv.unit} x ${sv.rate_gbp} x ${sv.weeks_charged} weeks = ${sv.cost_gbp}`).join("; "),
      p.additional_services_total_gbp, p.expected_duration_weeks, p.expected_total_cost_gbp, p.average_weekly_cost_gbp,
      p.ceiling_weekly_gbp, p.headroom_weekly_gbp, r.score,
      ...names.flatMap((n) => [r.components[n].value, r.components[n].contribution]),
      r.tie_break ? r.tie_break.moved_above.join(" ") : "", "", ""];
  });
  const blanks = fields.length - 3 - 3;
  const rejected = answer.rejected.map((r) => [...common, "rejected", "", r.bid_id, r.listing_id,
    ...Array(blanks).fill(""), r.reasons.join("; "), Object.keys(r.details).length ? JSON.stringify(r.details) : ""]);
  return csvText([...head, ...fields], [...ranked, ...rejected]);
}

export function downloadShortlist() {
  const answer = state.shortlist;
  if (answer) download(`shortlist-${fileSafe(answer.referral_id)}-${answer.decision_id}.csv`, shortlistCsv(answer));
}

export function downloadRanking() {
  const answer = state.ranking;
  if (answer) download(`ranking-${fileSafe(answer.referral_id)}-${answer.decision_id}.csv`, rankingCsv(answer));
}

/** The printed page's summary: the referral as sent, and which answers (ids) the page shows. */
export function renderPrintSummary() {
  const box = $("#print-summary");
  const answer = state.shortlist;
  if (!answer) {
    box.replaceChildren();
    return;
  }
  const ids = [
    ["Shortlist decision_id", answer.decision_id],
    ["Snapshot", answer.snapshot_version],
  ];
  if (state.ranking) {
    const w = state.ranking.weights;
    ids.push(["Ranking decision_id", state.ranking.decision_id],
      ["Ranking", `by ${lower(state.ranking.order_by)}, ${lower(w.profile)} weights: ` +
        Object.entries(w.weights).map(([k, v]) => `${lower(k)} ${v}`).join(", ") +
        `; tie margin ${state.ranking.tie_epsilon}; contract terms ${state.ranking.contract_terms_version}`]);
  }
  const rows = [...(state.shortlistSummary || []), ...ids];
  box.replaceChildren(
    h("h2", {}, `Referral ${answer.referral_id}: shortlist${state.ranking ? " and ranking" : ""}`),
    h("dl", {}, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("p", {}, `Printed ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC from the matcher officer console. ` +
      "The matcher prepares and explains; the officer decides."));
}
