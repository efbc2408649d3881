// The public API, and its errors shown next to the controls they name.
//
// An error detail names a request path ("child.age", "bids.2.weekly_fee_gbp"); the control
// filling that path carries it in data-field. The officer reads the console's own wording
// (wording.js); the API's message is kept on the element's title for support.

import { $, $$, h } from "./format.js";
import { state } from "./state.js";
import { fieldMessage } from "./wording.js";

const API_ROOT = new URL("../v1/", document.baseURI); // /console/ -> /v1/, also behind a prefix

export class ApiError extends Error {
  constructor(status, error, message) {
    super(message);
    this.status = status;
    this.error = error; // {code, message, details: [{field, reason, ...}]} or null
  }
}

/** GET (no body) or POST (a JSON body) under /v1/; the answer's JSON, or an ApiError. */
export async function api(path, body) {
  const headers = { accept: "application/json" };
  const key = $("#api-key").value.trim();
  if (key) headers["X-API-Key"] = key;
  const init = { headers };
  if (body !== undefined) {
    init.method = "POST";
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(new URL(path, API_ROOT), init);
  } catch {
    throw new ApiError(0, null, "The matcher service cannot be reached.");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data && data.error ? data.error : null;
    throw new ApiError(response.status, error, error ? error.message : `HTTP ${response.status}`);
  }
  return data;
}

/** A problem found before calling the API, shaped like an API error; `reason` is already
 * the officer's wording. */
export function clientError(field, reason) {
  return new ApiError(0, { code: "console", message: reason, details: [{ field, reason }] }, reason);
}

/** Several such problems at once. */
export function clientErrors(details) {
  return new ApiError(0, { code: "console", message: details[0].reason, details }, details[0].reason);
}

function targetFor(field) {
  let best = null;
  for (const control of $$("[data-field]")) {
    const name = control.dataset.field;
    if ((field === name || field.startsWith(name + ".")) && (!best || name.length > best.field.length)) {
      best = { field: name, control };
    }
  }
  return best;
}

function errorHolder(control) {
  const id = `err-${control.id || control.dataset.field.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  let holder = document.getElementById(id);
  if (!holder) {
    holder = h("p", { class: "error", id });
    const box = control.closest(".field, .slider, fieldset, .bid-list-box") || control;
    if (box === control) control.after(holder);
    else box.append(holder);
  }
  if (control.matches("input, select, textarea")) {
    const described = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!described.includes(id)) control.setAttribute("aria-describedby", [id, ...described].join(" "));
  }
  return holder;
}

function banner(message) {
  const el = $("#banner");
  el.textContent = message;
  el.hidden = false;
}

/** Remove every error shown (or only those inside `root`). */
export function clearErrors(root = document) {
  if (root === document) $("#banner").hidden = true;
  for (const holder of $$(".error", root)) holder.remove();
  for (const el of $$("[aria-invalid]", root)) el.removeAttribute("aria-invalid");
  for (const el of $$("[aria-describedby]", root)) {
    const kept = el.getAttribute("aria-describedby").split(" ").filter((id) => !id.startsWith("err-"));
    if (kept.length) el.setAttribute("aria-describedby", kept.join(" "));
    else el.removeAttribute("aria-describedby");
  }
}

export function setStatus(el, text, failed = false) {
  el.textContent = text;
  el.classList.toggle("failed", failed);
}

/** Show an error: each detail next to its control in the officer's words, the rest in the banner. */
export function showError(err, statusEl, what, { focus = false, onSuggestion = null } = {}) {
  if (!(err instanceof ApiError)) {
    console.error(err); // a bug in this page, not an API answer
    err = new ApiError(0, null, String(err && err.message ? err.message : err));
  }
  const error = err.error || { code: "", message: err.message, details: [] };
  const limits = state.catalogue ? state.catalogue.limits : {};
  const placed = [];
  const unplaced = [];
  for (const detail of error.details || []) {
    const field = String(detail.field ?? "");
    const target = field ? targetFor(field) : null;
    const value = target && "value" in target.control ? target.control.value : "";
    const words = error.code === "console" ? detail.reason : fieldMessage(error, detail, { value, limits });
    if (!target) {
      unplaced.push(words);
      continue;
    }
    placeDetail(target, words, detail, onSuggestion);
    placed.push(target);
  }
  if (!placed.length) banner(unplaced.length ? unplaced.join(" ") : err.message);
  else if (unplaced.length) banner(unplaced.join(" "));
  if (placed.some((t) => t.field === "X-API-Key")) $("#connection").open = true;
  const many = placed.length > 1;
  setStatus(statusEl, placed.length
    ? `${what} failed: see the message${many ? "s" : ""} in red next to the field${many ? "s" : ""}.`
    : `${what} failed.`, true);
  if (focus && placed.length && placed[0].control.matches("input, select, textarea")) {
    placed[0].control.focus({ preventScroll: true });
    placed[0].control.closest(".field, fieldset, .bid-list-box")?.scrollIntoView({ block: "nearest" });
  }
}

function placeDetail(target, words, detail, onSuggestion) {
  const holder = errorHolder(target.control);
  const line = h("span", { class: "error-line", title: detail.reason && detail.reason !== words ? `API: ${detail.reason}` : null }, words);
  if (Array.isArray(detail.suggestions) && detail.suggestions.length) {
    for (const suggestion of detail.suggestions) {
      line.append(" ", h("button", {
        type: "button", class: "link", "aria-label": `Use ${suggestion}`,
        onclick: () => {
          target.control.value = suggestion;
          if (onSuggestion) onSuggestion();
        },
      }, suggestion));
    }
  }
  if (holder.childNodes.length) holder.append(h("br"));
  holder.append(line);
  if (target.control.matches("input, select, textarea")) target.control.setAttribute("aria-invalid", "true");
}

/** The snapshot and decision stamp of an answer. */
export function stamp(el, answer, extra = []) {
  el.replaceChildren(
    h("span", {}, "snapshot_version ", h("code", {}, answer.snapshot_version)),
    h("span", {}, "decision_id ", h("code", {}, answer.decision_id)),
    ...extra,
  );
}
