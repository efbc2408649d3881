// The bids to rank: entered with a form (a listing from the shortlist, its menu's services),
// loaded from a CSV file, generated as DEMO bids, or pasted as JSON. The console checks only
// their shape (an amount, a date, a code); the API checks everything else (ceilings, menus,
// eligibility, duplicates) and says why in the ranking's rejected bids.

import { clearErrors, clientErrors, setStatus, showError } from "./api.js";
import { $, dateField, gbp, h, label, parseDate, parseMoney, showDate } from "./format.js";
import { state } from "./state.js";

const ID = /^[A-Za-z0-9._:/-]{1,64}$/;
const CODE = /^[a-z][a-z0-9_]{0,63}$/;
const DEMO_FRACTIONS = [0.97, 0.91, 1.03, 0.88, 0.95, 0.86, 0.99, 0.93]; // the 1.03 bid is above its ceiling
const CSV_COLUMNS = ["bid_id", "listing_id", "weekly_fee_gbp", "available_from", "additional_services"];
const REQUIRED_COLUMNS = CSV_COLUMNS.slice(0, 3);

let fromField = null;
let changed = () => {};

/** A bid as the API takes it, fields in the API's order; optional ones only when given. */
function bid(bidId, listingId, fee, services, from) {
  const out = { bid_id: bidId, listing_id: listingId, weekly_fee_gbp: fee };
  if (services.length) out.additional_services = services;
  if (from) out.available_from = from;
  return out;
}

function entryFor(listingId) {
  return state.rows.find((r) => r.listing_id === listingId) || null;
}

/** "hours", "sessions"... for a service on a listing's menu ("units" when not known). */
function unitOf(listingId, code) {
  const entry = entryFor(listingId);
  const item = entry && (entry.additional_services || []).find((m) => m.code === code);
  return item ? `${item.unit}s` : "units";
}

function nextBidId() {
  const used = new Set(state.bids.map((b) => b.bid_id));
  let n = state.bids.length + 1;
  while (used.has(`B${n}`)) n += 1;
  return `B${n}`;
}

/** Replace the bids; redraw the list and the JSON; tell the page. */
function setBids(bids, { demo = false } = {}) {
  state.bids = bids;
  $("#demo-note").hidden = !demo && !bids.some((b) => String(b.bid_id).startsWith("DEMO-"));
  renderBidList();
  changed();
}

export function renderBidList() {
  const table = $("#bid-list");
  table.hidden = !state.bids.length;
  $("#bid-list-empty").hidden = Boolean(state.bids.length);
  $("#clear-bids").disabled = !state.bids.length;
  $("#bid-list-h").textContent = state.bids.length ? `Bids to rank (${state.bids.length})` : "Bids to rank";
  $("tbody", table).replaceChildren(...state.bids.map((b, i) => {
    const entry = entryFor(b.listing_id);
    return h("tr", { dataset: { bidId: b.bid_id } },
      h("td", {}, String(b.bid_id), String(b.bid_id).startsWith("DEMO-") ? [" ", h("span", { class: "tag demo" }, "DEMO")] : null),
      h("td", {}, state.names.get(b.listing_id) || "", h("span", { class: "sub" }, String(b.listing_id)),
        state.shortlist && !entry ? h("span", { class: "tag bad" }, "not on this shortlist") : null),
      h("td", { class: "num" }, gbp(b.weekly_fee_gbp)),
      h("td", {}, b.available_from ? showDate(b.available_from) : "–"),
      h("td", {}, (b.additional_services || []).map((sv) => `${label(sv.code)}: ${sv.units_per_week} ${unitOf(b.listing_id, sv.code)} a week for ${sv.weeks} weeks`).join("; ") || "–"),
      h("td", {}, h("button", {
        type: "button", class: "link", "aria-label": `Remove bid ${b.bid_id}`,
        onclick: () => setBids(state.bids.filter((_, j) => j !== i)),
      }, "Remove")));
  }));
  $("#bids").value = JSON.stringify(state.bids, null, 1);
}

// ---------------------------------------------------------------------------------------
// The form
// ---------------------------------------------------------------------------------------

/** The listings on offer follow the shortlist (called with each new answer). */
export function refreshBidForm() {
  const select = $("#bid-listing");
  const previous = select.value;
  select.replaceChildren(h("option", { value: "" }, state.rows.length ? "Choose a listing" : state.shortlist ? "No eligible listing" : "Shortlist first"),
    ...state.rows.map((r) => h("option", { value: r.listing_id, selected: r.listing_id === previous },
      `${r.name} (${r.listing_id}) · ceiling ${gbp(r.ceiling_weekly_gbp)}`)));
  showMenu();
  if (!$("#bid-id").value) $("#bid-id").value = nextBidId();
  renderBidList();
}

/** The chosen listing's menu: a row per service, ticked to add it. */
function showMenu() {
  const entry = entryFor($("#bid-listing").value);
  const box = $("#bid-services-list");
  $("#bid-fee-hint").textContent = entry
    ? `Per child per week; this listing's ceiling for the lot is ${gbp(entry.ceiling_weekly_gbp)}.`
    : "Per child per week, e.g. 3465.32.";
  if (!entry) {
    box.replaceChildren(h("p", { class: "hint" }, "Choose a listing first."));
    return;
  }
  const menu = entry.additional_services || [];
  if (!menu.length) {
    box.replaceChildren(h("p", { class: "hint" }, "This listing tenders no additional services."));
    return;
  }
  box.replaceChildren(...menu.map((m) => {
    const id = `svc-${m.code}`;
    return h("div", { class: "service", dataset: { code: m.code } },
      h("label", { for: id }, h("input", { type: "checkbox", id, value: m.code }),
        `${label(m.code)}: ${gbp(m.rate_gbp)} per ${m.unit}`),
      h("div", { class: "field" }, h("label", { for: `${id}-units` }, `${m.unit}s a week`),
        h("input", { id: `${id}-units`, inputmode: "decimal", autocomplete: "off", "data-field": `bid.additional_services.${m.code}.units_per_week` })),
      h("div", { class: "field" }, h("label", { for: `${id}-weeks` }, "weeks"),
        h("input", { id: `${id}-weeks`, inputmode: "numeric", autocomplete: "off", "data-field": `bid.additional_services.${m.code}.weeks` })));
  }));
}

function addFromForm(event) {
  event.preventDefault();
  const form = $("#bid-form");
  clearErrors(form);
  const status = $("#bid-form-status");
  const problems = [];
  const listingId = $("#bid-listing").value;
  if (!listingId) problems.push({ field: "bid.listing_id", reason: "Choose a listing from the shortlist." });
  const bidId = $("#bid-id").value.trim();
  if (!ID.test(bidId)) problems.push({ field: "bid.bid_id", reason: "Bid ID: 1 to 64 letters, digits or . _ : / - (no spaces)." });
  const fee = parseMoney($("#bid-fee").value);
  if (!fee) problems.push({ field: "bid.weekly_fee_gbp", reason: "Weekly fee must be an amount in pounds, e.g. 3465.32 (no more than 2 decimals)." });
  const fromText = $("#bid-from").value.trim();
  const from = fromText ? parseDate(fromText) : null;
  if (fromText && !from) problems.push({ field: "bid.available_from", reason: "Not a date we can read: use day month year, e.g. 28 Nov 2026." });
  const services = [];
  for (const row of form.querySelectorAll(".service")) {
    const code = row.dataset.code;
    if (!row.querySelector("input[type=checkbox]").checked) continue;
    const units = row.querySelector(`#svc-${code}-units`).value.trim();
    const weeks = row.querySelector(`#svc-${code}-weeks`).value.trim();
    if (!/^\d+(\.\d+)?$/.test(units)) problems.push({ field: `bid.additional_services.${code}.units_per_week`, reason: `${label(code)}: units a week must be a number, e.g. 10 or 2.5.` });
    if (!/^\d+$/.test(weeks)) problems.push({ field: `bid.additional_services.${code}.weeks`, reason: `${label(code)}: weeks must be a whole number, e.g. 12.` });
    services.push({ code, units_per_week: Number(units), weeks: Number(weeks) });
  }
  if (problems.length) {
    showError(clientErrors(problems), status, "Adding the bid", { focus: true });
    return;
  }
  setBids([...state.bids, bid(bidId, listingId, fee, services, from)]);
  setStatus(status, `Bid ${bidId} added.`);
  $("#bid-fee").value = "";
  fromField.set("");
  showMenu();
  $("#bid-id").value = nextBidId();
}

// ---------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------

/** CSV text (RFC 4180: commas, double quotes, "" inside quotes) as records with their line numbers. */
function parseCsv(text) {
  const records = [];
  let record = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  let i = 0;
  const src = text.replace(/^\uFEFF/, "");
  const endField = () => { record.push(field); field = ""; };
  const endRecord = () => {
    endField();
    if (record.some((f) => f.trim() !== "")) records.push({ line: start, fields: record });
    record = [];
    start = line;
  };
  while (i < src.length) {
    const c = src[i];
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i += 1; continue; }
      if (c === "\n") line += 1;
      field += c;
      i += 1;
      continue;
    }
    if (c === '"' && field === "") { quoted = true; i += 1; continue; }
    if (c === ",") { endField(); i += 1; continue; }
    if (c === "\r" && src[i + 1] === "\n") i += 1;
    if (c === "\n" || c === "\r") { line += 1; i += 1; endRecord(); continue; }
    field += c;
    i += 1;
  }
  if (field !== "" || record.length) endRecord();
  return records;
}

/** Bids from CSV text, or every problem found ("Line 3: ..."); nothing is sent to the API. */
function bidsFromCsv(text, maxBids = 200) {
  const records = parseCsv(text);
  const errors = [];
  if (!records.length) return { bids: [], errors: ["The file is empty: the first line must be the header " + CSV_COLUMNS.join(",") + "."] };
  const header = records[0].fields.map((f) => f.trim().toLowerCase());
  for (const name of header) {
    if (!CSV_COLUMNS.includes(name)) errors.push(`Line 1: unknown column “${name}” (the columns are ${CSV_COLUMNS.join(", ")}).`);
  }
  for (const name of REQUIRED_COLUMNS) if (!header.includes(name)) errors.push(`Line 1: the column ${name} is missing.`);
  if (new Set(header).size !== header.length) errors.push("Line 1: a column is named twice.");
  if (errors.length) return { bids: [], errors };
  const rows = records.slice(1);
  if (!rows.length) errors.push("There are no bids under the header.");
  if (rows.length > maxBids) errors.push(`${rows.length} bids: at most ${maxBids} can be ranked at once.`);
  const bids = [];
  for (const { line, fields } of rows) {
    if (fields.length !== header.length) {
      errors.push(`Line ${line}: ${fields.length} values for ${header.length} columns.`);
      continue;
    }
    const get = (name) => (header.includes(name) ? fields[header.indexOf(name)].trim() : "");
    const where = `Line ${line}${get("bid_id") ? ` (bid ${get("bid_id")})` : ""}`;
    const bidId = get("bid_id");
    const listingId = get("listing_id");
    const fee = parseMoney(get("weekly_fee_gbp"));
    const fromText = get("available_from");
    const from = fromText ? parseDate(fromText) : null;
    if (!ID.test(bidId)) errors.push(`${where}: bid_id must be 1 to 64 letters, digits or . _ : / -.`);
    if (!ID.test(listingId)) errors.push(`${where}: listing_id must be 1 to 64 letters, digits or . _ : / -.`);
    if (!fee) errors.push(`${where}: weekly_fee_gbp must be an amount in pounds, e.g. 3465.32 (no more than 2 decimals).`);
    if (fromText && !from) errors.push(`${where}: available_from is not a date (use 2026-11-28 or 28/11/2026).`);
    const services = [];
    for (const item of get("additional_services").split(";").map((x) => x.trim()).filter(Boolean)) {
      const m = /^([a-z][a-z0-9_]{0,63})\s*:\s*(\d+(?:\.\d+)?)\s*:\s*(\d+)$/.exec(item);
      if (!m || !CODE.test(m[1])) {
        errors.push(`${where}: additional service “${item}” must be code:units_per_week:weeks, e.g. therapy_session:10:12.`);
        continue;
      }
      services.push({ code: m[1], units_per_week: Number(m[2]), weeks: Number(m[3]) });
    }
    bids.push(bid(bidId, listingId, fee, services, from));
  }
  return { bids: errors.length ? [] : bids, errors };
}

async function loadCsv() {
  const input = $("#bids-csv");
  const file = input.files && input.files[0];
  const status = $("#rank-status");
  clearErrors($("#bids-panel"));
  if (!file) return;
  const text = await file.text();
  const { bids, errors } = bidsFromCsv(text, state.catalogue.limits.max_bids);
  input.value = "";
  if (errors.length) {
    showError(clientErrors(errors.map((reason) => ({ field: "csv", reason }))), status, `Loading ${file.name}`);
    input.dataset.loaded = "error";
    return;
  }
  setBids(bids);
  setStatus(status, `Loaded ${bids.length} ${bids.length === 1 ? "bid" : "bids"} from ${file.name}.`);
  input.dataset.loaded = file.name;
}

// ---------------------------------------------------------------------------------------
// JSON and DEMO bids
// ---------------------------------------------------------------------------------------

function useJson() {
  const status = $("#rank-status");
  clearErrors($("#bids-panel"));
  let parsed;
  try {
    parsed = JSON.parse($("#bids").value);
  } catch (err) {
    showError(clientErrors([{ field: "bids-json", reason: `Not valid JSON: ${err.message}` }]), status, "Reading the JSON");
    return;
  }
  if (!Array.isArray(parsed) || !parsed.every((b) => b && typeof b === "object" && !Array.isArray(b))) {
    showError(clientErrors([{ field: "bids-json", reason: "The JSON must be a list of bids: [{\"bid_id\": …}, …]." }]), status, "Reading the JSON");
    return;
  }
  setBids(parsed);
  setStatus(status, `${parsed.length} ${parsed.length === 1 ? "bid" : "bids"} taken from the JSON.`);
}

/** One DEMO bid per shortlisted listing (up to 8), priced from its ceiling. */
export function demoBids() {
  if (!state.shortlist || !state.shortlist.shortlist.length) {
    setStatus($("#rank-status"), "Shortlist a referral with eligible listings first: DEMO bids are made for them.", true);
    return false;
  }
  setBids(state.shortlist.shortlist.slice(0, DEMO_FRACTIONS.length).map((entry, i) => ({
    bid_id: `DEMO-${String(i + 1).padStart(2, "0")}`,
    listing_id: entry.listing_id,
    weekly_fee_gbp: (Math.round(Number(entry.ceiling_weekly_gbp) * DEMO_FRACTIONS[i] * 100) / 100).toFixed(2),
  })), { demo: true });
  return true;
}

/** Wire the bid controls; `onChange` runs whenever the bids change. */
export function wireBids(onChange) {
  changed = onChange;
  fromField = dateField($("#bid-from"), $("#bid-from-echo"), { optional: true });
  $("#bid-listing").addEventListener("change", showMenu);
  $("#bid-form").addEventListener("submit", addFromForm);
  $("#bids-csv").addEventListener("change", loadCsv);
  $("#use-json").addEventListener("click", useJson);
  $("#clear-bids").addEventListener("click", () => setBids([]));
  refreshBidForm();
}
