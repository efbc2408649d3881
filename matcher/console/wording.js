// The console's own words for the API's codes: field errors and exclusion or rejection
// reasons. The API's messages stay as they are (they are for developers and logs); an
// officer reads these. A code the console does not know falls back to the API's text.

import { label, lower } from "./format.js";

/** What the officer reads when a field is refused, by the request path of the field. */
const FIELD_WORDS = {
  referral_id: "Referral ID: 1 to 64 letters, digits or . _ : / - (no spaces).",
  placing_authority: "Enter the placing authority's name or ONS code.",
  origin: "Enter a postcode district such as HA1, or leave it empty.",
  dpv: "Choose a DPV.",
  lot: "Choose a lot of this DPV.",
  "child.age": "Age must be a whole number from 0 to 25.",
  "child.gender": "Choose a gender.",
  "child.needs": "Tick each need at most once (required or desirable, not both).",
  "child.secondary_needs": "Tick each need at most once (required or desirable, not both).",
  sibling_group_size: "Sibling group size must be a whole number from 1 to 10.",
  expected_duration_weeks: "Duration must be a whole number of weeks from 1 to 520.",
  start_date: "Start date must be a real date, e.g. 1 Dec 2026.",
  max_distance_miles: (limits) => `Radius must be a number of miles above 0 and at most ${limits.max_radius_miles}.`,
  min_ofsted_rating: "Choose a minimum Ofsted rating.",
  exclude_listing_ids: "At most 1,000 excluded listings.",
  preferred_listing_ids: "At most 50 preferred listings.",
  start_tolerance_days: "Start tolerance must be a whole number of days from 0 to 90.",
  tie_epsilon: "Tie margin must be a number from 0 to 0.2.",
  order_by: "Choose price or best match.",
  profile: "Choose a profile.",
  weights: "Weights must be 0 or more, with at least one above 0.",
};

/** The same for one bid's fields ("bids.2.weekly_fee_gbp" -> "weekly_fee_gbp"). */
const BID_WORDS = {
  bid_id: "the bid ID must be 1 to 64 letters, digits or . _ : / -.",
  listing_id: "the listing ID must be 1 to 64 letters, digits or . _ : / -.",
  weekly_fee_gbp: "the weekly fee must be an amount in pounds above 0, e.g. 4100 or 4100.50.",
  available_from: "the start date must be a real date, e.g. 28 Nov 2026.",
  additional_services: "at most 20 additional services.",
  code: "a service code is not valid.",
  units_per_week: "units a week must be a number above 0 and at most 168.",
  weeks: "weeks must be a whole number from 1 to 520.",
};

/** Codes whose API message is already meant for a person (or names the value sent). */
function byCode(error, detail, value) {
  switch (error.code) {
    case "unknown_authority":
      return value ? `No English children's-services authority is called “${value}”.` +
        (detail.suggestions && detail.suggestions.length ? " Did you mean:" : "")
        : "Enter the placing authority's name or ONS code.";
    case "unknown_location":
      return "Not a postcode or postcode district we know." + (detail.suggestions && detail.suggestions.length ? " Did you mean:" : "");
    case "outside_coverage":
      return "That place is outside Great Britain: enter a postcode district in England, Scotland or Wales.";
    case "invalid_weights":
      return FIELD_WORDS.weights;
    case "unauthorized":
      return "This service needs an API key: enter it under Connection.";
    case "forbidden":
      return "This API key is not accepted: check it under Connection.";
    default:
      return null;
  }
}

/**
 * The officer's wording for one error detail of an API error.
 * `field` is the detail's request path; `value` what the form holds for it (never sent back
 * by the API); `limits` the catalogue's limits.
 */
export function fieldMessage(error, detail, { value = "", limits = {} } = {}) {
  const field = String(detail.field ?? "");
  const coded = byCode(error, detail, value);
  if (coded) return coded;
  if (error.code === "limit_exceeded") {
    if (field === "bids") return `Too many bids: at most ${detail.limit ?? limits.max_bids} in one ranking.`;
    if (field === "max_distance_miles") return FIELD_WORDS.max_distance_miles(limits);
  }
  const bid = /^bids\.(\d+)(?:\.(.+))?$/.exec(field);
  if (bid) {
    const leaf = (bid[2] || "").split(".").filter((p) => !/^\d+$/.test(p)).pop();
    const words = BID_WORDS[leaf];
    return `Bid ${Number(bid[1]) + 1}: ${words || "this bid is not in the expected form."}`;
  }
  if (field === "bids") return error.code === "invalid_request" && /at least one/.test(detail.reason || "")
    ? "Add at least one bid." : "The bids are not in the expected form.";
  const base = field.startsWith("weights.") ? "weights" : field.startsWith("origin") ? "origin" : field;
  const words = FIELD_WORDS[base];
  if (typeof words === "function") return words(limits);
  if (words) return words;
  return detail.reason || error.message || "This value is not accepted.";
}

/** Listing exclusion and bid rejection reasons in plain English (no API field names). */
const REASON_WORDS = {
  dpv_mismatch: "On another DPV",
  lot_not_approved: "Not approved for this lot",
  gender_not_accepted: "Does not take the child's gender",
  age_out_of_range: "The child's age is outside its age range",
  needs_not_met: "Cannot meet every required need",
  sibling_group_too_large: "Cannot take a sibling group this size",
  no_vacancy: "No vacancy",
  not_available_by_start_date: "Its vacancy opens after the start date",
  ofsted_registration_suspended: "Ofsted registration suspended",
  ofsted_registration_cancelled: "Ofsted registration cancelled",
  ofsted_admissions_restricted: "Ofsted restricts its admissions on the start date",
  ofsted_rating_below_minimum: "Ofsted rating below your minimum",
  ofsted_not_yet_inspected: "Not yet inspected, and you asked for a rating",
  dpv_suspended: "Provider suspended from the DPV",
  dpv_barred: "Provider barred from the DPV",
  safeguarding_alert: "An open safeguarding alert serious enough to exclude it",
  no_valid_ceiling: "No ceiling price for this lot on the start date",
  too_far: "Beyond the radius",
  excluded_by_referral: "Excluded by you",
  unknown_listing: "The listing is not in the registry",
  above_ceiling: "Weekly fee above the listing's ceiling",
  service_not_on_menu: "A service that is not on the listing's menu",
  cannot_start_by_start_date: "Cannot start by the start date",
  duplicate_bid_id: "The same bid ID as an earlier bid",
  duplicate_listing_bid: "A second bid for the same listing",
};

/** A reason code in words ("no_vacancy" -> "No vacancy"). */
export function reasonWords(code) {
  return REASON_WORDS[code] || label(code);
}

/** A reason with its particulars: the needs a listing lacks. */
export function reasonWithDetail(code, missingNeeds = []) {
  if (code === "needs_not_met" && missingNeeds.length) return `Cannot meet: ${missingNeeds.map(lower).join(", ")}`;
  return reasonWords(code);
}
