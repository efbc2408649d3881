// DOM helpers and how the console writes things: words, money, distances, dates.
//
// Dates are always unambiguous: "2 Dec 2026" on screen (never the browser's month-first
// 12/02/2026), ISO 8601 in requests and downloads. Typed dates are read day-first.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];
const SVG_NS = "http://www.w3.org/2000/svg";

/** An element with attributes and children (strings become text nodes: never parsed as HTML). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** The same for SVG elements. */
export function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function setAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

const ACRONYMS = { cse: "CSE", cce: "CCE", uasc: "UASC", dpv: "DPV", sen: "SEN", ofsted: "Ofsted", kpi: "KPI", ifa: "IFA" };

/** "cse_risk" -> "CSE risk"; "requires_improvement" -> "requires improvement". */
export function lower(code) {
  return String(code).split("_").map((w) => ACRONYMS[w] || w).join(" ");
}

/** "requires_improvement" -> "Requires improvement", "cse_risk" -> "CSE risk". */
export function label(code) {
  const text = lower(code);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A money string from the API ("164492.41") with thousands separators; never re-rounded. */
export function gbp(amount) {
  if (amount === null || amount === undefined || amount === "") return "–";
  const [whole, pence] = String(amount).split(".");
  const negative = whole.startsWith("-");
  const digits = (negative ? whole.slice(1) : whole).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "−" : ""}£${digits}${pence === undefined ? "" : "." + pence}`;
}

/**
 * An amount typed by a person ("£3,465.5", "3465.32") as the API's money string
 * ("3465.50", "3465.32"), or null when it is not an amount in pounds and pence.
 */
export function parseMoney(text) {
  const t = String(text).trim().replace(/^£\s*/, "");
  const grouped = /^\d{1,3}(,\d{3})+(\.\d{1,2})?$/.test(t);
  if (!grouped && !/^\d+(\.\d{1,2})?$/.test(t)) return null;
  const plain = t.replaceAll(",", "");
  const [whole, pence] = plain.split(".");
  return pence === undefined ? whole : `${whole}.${pence.padEnd(2, "0")}`;
}

export const count = (n) => Number(n).toLocaleString("en-GB");
export const miles = (d) => Number(d).toFixed(2);
export const plural = (n, one, many) => `${count(n)} ${n === 1 ? one : many}`;

/** A distance in words: "1 mile", "1.5 miles", "20 miles". */
export function milesText(n) {
  const v = Number(n);
  return `${v.toLocaleString("en-GB", { maximumFractionDigits: 3 })} ${v === 1 ? "mile" : "miles"}`;
}

// ---------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
  "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const pad = (n) => String(n).padStart(2, "0");

function isoOf(year, month, day) {
  const d = new Date(Date.UTC(year, month - 1, day));
  if (year < 1900 || d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  return `${year}-${pad(month)}-${pad(day)}`;
}

/**
 * A date typed by a person as ISO "YYYY-MM-DD", or null. Accepts ISO, day-first numbers
 * ("2/12/2026", "2.12.2026", "2-12-2026") and words ("2 Dec 2026", "Wed 2 December 2026").
 */
export function parseDate(text) {
  const t = String(text).trim();
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(t);
  if (m) return isoOf(+m[1], +m[2], +m[3]);
  m = /^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$/.exec(t);
  if (m) return isoOf(+m[3], +m[2], +m[1]);
  m = /^(?:[A-Za-z]+,?\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,})\.?,?\s+(\d{4})$/.exec(t);
  if (m) {
    const word = m[2].toLowerCase();
    const month = MONTHS.findIndex((name) => name.toLowerCase().startsWith(word.slice(0, 3)) &&
      name.toLowerCase().startsWith(word));
    if (month >= 0) return isoOf(+m[3], month + 1, +m[1]);
  }
  return null;
}

function parts(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso));
  if (!m) return null;
  const date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return { year: +m[1], month: +m[2], day: +m[3], weekday: date.getUTCDay() };
}

/** "2026-12-02" -> "2 Dec 2026" (anything else is returned as given). */
export function showDate(iso) {
  const p = parts(iso);
  return p ? `${p.day} ${MONTHS[p.month - 1].slice(0, 3)} ${p.year}` : String(iso ?? "");
}

/** "2026-12-02" -> "Wednesday 2 December 2026". */
function longDate(iso) {
  const p = parts(iso);
  return p ? `${DAYS[p.weekday]} ${p.day} ${MONTHS[p.month - 1]} ${p.year}` : String(iso ?? "");
}

/** Today in the browser's time zone, ISO. */
export function todayIso() {
  const now = new Date();
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/**
 * A text input that takes dates day-first: below it, the date read ("Wednesday 2 December
 * 2026") or what is wrong; on leaving the field, the text becomes "2 Dec 2026".
 * `input.dataset.iso` holds the ISO date read ("" when empty or unreadable).
 */
export function dateField(input, echo, { optional = false } = {}) {
  const read = () => {
    const text = input.value.trim();
    const iso = text ? parseDate(text) : null;
    input.dataset.iso = iso || "";
    echo.classList.toggle("bad", Boolean(text) && !iso);
    echo.textContent = !text ? (optional ? "" : "Enter a date, e.g. 1 Dec 2026.")
      : iso ? longDate(iso) : "Not a date we can read: use day month year, e.g. 1 Dec 2026 or 1/12/2026.";
    return iso;
  };
  input.addEventListener("input", read);
  input.addEventListener("change", () => {
    const iso = read();
    if (iso) input.value = showDate(iso);
  });
  return {
    read,
    set(iso) {
      input.value = iso ? showDate(iso) : "";
      read();
    },
  };
}
