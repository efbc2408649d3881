// What the page holds between answers. Nothing about a child is kept beyond the open page.

export const RATING_LETTER = { outstanding: "O", good: "G", requires_improvement: "R", inadequate: "I", not_yet_inspected: "N" };
export const COMPONENT_COLOURS = ["#1d4f91", "#e08a00", "#1b7f4c", "#8e3fa8", "#c2362b", "#138a8a", "#6b4f2a", "#c9a400", "#5b6472"];

export const state = {
  catalogue: null,
  authorities: [],
  shortlist: null, // the last shortlist answer shown
  shortlistKey: null, // referralKey() of the request that answer is for
  shortlistSummary: null, // the referral as sent for that answer, [label, value] pairs (printed)
  rows: [], // the shortlist's entries, with their API order
  names: new Map(), // listing_id -> name, of every listing shortlisted on this page
  sort: { key: "distance", dir: 1 },
  boundaries: new Map(),
  preferred: new Map(), // listing_id -> name
  excluded: new Map(), // listing_id -> name
  bids: [], // the bids to rank, exactly as the API receives them
  ranking: null, // the last rank answer shown
  rankingKey: null, // referralKey() of the request it answered
  compare: null, // the last compare answer shown
  seq: { shortlist: 0, rank: 0, compare: 0 },
  rankTimer: null,
  showAllExcluded: false,
  nearFilter: "",
};
