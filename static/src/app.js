// What every page needs: GOV.UK Frontend's components, focus after a change, the session's
// time limits and drafts kept across a sign-out. What only some pages need is in a module of
// its own, loaded by those pages (board.js, kiosk.js), importing what it shares from here.
// htmx is loaded beside it. No inline scripts anywhere: the CSP allows this origin only.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

// Conditional reveals: GOV.UK Frontend's radios and checkboxes scripts put aria-expanded on
// the inputs, which ARIA does not allow on radios or checkboxes (axe reports it; govuk-frontend
// issue 979). We take those groups over: the same reveal, with aria-controls only. Without
// JavaScript the revealed fields simply stay visible.
function takeOverReveals(scope) {
  scope.querySelectorAll('[data-module="govuk-radios"], [data-module="govuk-checkboxes"]')
    .forEach((group) => {
      if (!group.querySelector("[data-aria-controls]")) return;
      group.setAttribute("data-module", "app-reveal");
      const inputs = group.querySelectorAll("input[data-aria-controls]");
      const sync = () => inputs.forEach((input) => {
        const target = document.getElementById(input.dataset.ariaControls);
        if (!target) return;
        input.setAttribute("aria-controls", target.id);
        target.classList.toggle(`${target.classList[0]}--hidden`, !input.checked);
      });
      // A radio is unchecked without a change event of its own: listen on the whole form.
      (group.closest("form") || group).addEventListener("change", sync);
      sync();
    });
}

// A table's scroll region (components/tables.html) is a tab stop only while it has something
// to scroll (a narrow screen, zoom): at full width it would be one more stop for nothing.
const scrollStops = new ResizeObserver((entries) => entries.forEach(({ target }) => {
  const region = target.closest(".app-table-scroll");
  if (region.scrollWidth > region.clientWidth) region.setAttribute("tabindex", "0");
  else region.removeAttribute("tabindex");
}));
export function watchScrollRegions(scope) {
  scope.querySelectorAll(".app-table-scroll").forEach((region) => {
    scrollStops.observe(region);
    if (region.firstElementChild) scrollStops.observe(region.firstElementChild);
  });
}

// The title says "Error: " exactly while the page shows an error summary, also after a swap.
export function syncTitle() {
  const bare = document.title.replace(/^Error: /, "");
  document.title = document.querySelector(".govuk-error-summary") ? `Error: ${bare}` : bare;
}

takeOverReveals(document);
initAll();
watchScrollRegions(document);

// An alert about an earlier request (#app-alerts: "You do not have access", say) is out of
// date once another request has answered.
document.body.addEventListener("htmx:afterSwap", (event) => {
  const alerts = document.getElementById("app-alerts");
  if (alerts && event.detail.target !== alerts) alerts.replaceChildren();
});

// Components inside a panel htmx has just swapped in need starting too. After a change the
// focus would fall to the page body (the button pressed is gone). A change that was made
// comes back with a success banner, one that was refused with an error summary: GOV.UK
// Frontend moves the focus to either (role="alert"), so the outcome is read out. Otherwise
// the focus goes to the new panel's heading.
document.body.addEventListener("htmx:afterSettle", (event) => {
  const panel = event.detail.elt;
  takeOverReveals(panel);
  initAll({ scope: panel });
  watchScrollRegions(panel);
  syncTitle();
  const heading = panel.querySelector("#status-heading");
  if (heading && !panel.querySelector(".govuk-error-summary, .govuk-notification-banner")) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
});

// A next step's form fetched when its details is opened (records/_removal_parts.html
// next_step) comes from the page as it is now. If that page no longer offers the step (someone
// moved the removal on, or the sign-in ended) or could not be reached, say so rather than
// leave the details empty or loading.
function stepNotShown(placeholder) {
  const said = document.createElement("p");
  said.className = "govuk-body";
  said.textContent = placeholder.dataset.appStepMissing;
  placeholder.replaceChildren(said);
}
document.body.addEventListener("htmx:beforeSwap", (event) => {
  const placeholder = event.detail.elt;
  if (!placeholder.dataset || !placeholder.dataset.appStepMissing) return;
  const page = new DOMParser().parseFromString(event.detail.serverResponse, "text/html");
  if (page.querySelector(placeholder.getAttribute("hx-select"))) return;
  event.detail.shouldSwap = false;
  stepNotShown(placeholder);
});
document.body.addEventListener("htmx:sendError", (event) => {
  const placeholder = event.detail.elt;
  if (placeholder.dataset && placeholder.dataset.appStepMissing) stepNotShown(placeholder);
});

// A whole page that answers a step (a confirmation's question, a result to check) marks the
// person's next step with data-app-focus: the focus starts there, as after an htmx swap,
// unless GOV.UK Frontend has put it on an error summary already.
export function focusNextStep(selector = "[data-app-focus]") {
  const target = document.querySelector(selector);
  if (!target) return false;
  target.setAttribute("tabindex", "-1");
  target.focus();
  return true;
}
if (!document.querySelector(".govuk-error-summary")) focusNextStep();

// Copy buttons: a selectable box works without JavaScript; with it, one click copies.
document.body.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copyTarget);
  if (!source) return;
  source.select();
  try {
    await navigator.clipboard.writeText(source.value);
    button.textContent = "Copied";
  } catch {
    document.execCommand("copy");
  }
});

// The printable breach report's button (hidden without JavaScript; Ctrl+P still works).
document.body.addEventListener("click", (event) => {
  if (event.target.closest(".app-print-button")) window.print();
});

// -- Time limits (WCAG 2.2.1): warn before signing anyone out, and let them carry on ----------

export function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  } catch {
    return undefined;
  }
}

function spokenTime(ms) {
  const seconds = Math.max(1, Math.round(ms / 1000));
  if (seconds >= 90) return `${Math.round(seconds / 60)} minutes`;
  if (seconds >= 60) return "1 minute";
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}

// A warning from components/timeout_warning.html: show the paragraph for this limit with
// the time left in words (said once, not counted down: a ticking live region drowns out a
// screen reader), and put the focus on its one button.
export function timeoutWarning(element, onContinue) {
  let returnFocus = null;
  const button = element.querySelector("[data-timeout-continue]");
  const warning = {
    get showing() {
      return !element.hidden;
    },
    show(msLeft, variant = "idle") {
      element.querySelectorAll("[data-timeout-variant]").forEach((p) => {
        p.hidden = p.dataset.timeoutVariant !== variant;
        if (!p.hidden) element.setAttribute("aria-describedby", p.id);
      });
      element.querySelectorAll("[data-timeout-time]").forEach((span) => {
        span.textContent = spokenTime(msLeft);
      });
      if (!warning.showing) returnFocus = document.activeElement;
      element.hidden = false;
      button.focus();
    },
    hide() {
      if (!warning.showing) return;
      element.hidden = true;
      if (returnFocus && returnFocus !== document.body && document.contains(returnFocus)) {
        returnFocus.focus();
      } else {
        // Nothing had the focus: back to the step or the page's heading, not the top.
        focusNextStep() || focusNextStep("main h1");
      }
      returnFocus = null;
    },
  };
  button.addEventListener("click", () => onContinue(warning));
  return warning;
}

// -- What was typed survives being signed out (kept in this tab only, never on the server) --

const DRAFT_KEY = "safekeep-draft";
const here = () => window.location.pathname + window.location.search;

function readDraft() {
  try {
    return JSON.parse(window.sessionStorage.getItem(DRAFT_KEY));
  } catch {
    return null;
  }
}

function writeDraft(draft) {
  try {
    window.sessionStorage.setItem(DRAFT_KEY, JSON.stringify(draft));
  } catch {
    // storage full or refused: the person is told nothing was kept, which stays true
  }
}

const KEPT_TYPES = new Set(["text", "textarea", "select-one", "select-multiple", "radio",
  "checkbox", "number", "date", "datetime-local", "email", "tel", "url", "search", "time"]);

function draftFields(form) {
  const fields = [];
  for (const el of form.elements) {
    if (!el.name || el.disabled || !KEPT_TYPES.has(el.type)) continue;
    if (el.type === "radio" || el.type === "checkbox") {
      fields.push({ name: el.name, value: el.value, checked: el.checked });
    } else if (el.type === "select-multiple") {
      fields.push({ name: el.name, values: [...el.selectedOptions].map((o) => o.value) });
    } else {
      fields.push({ name: el.name, value: el.value });
    }
  }
  return fields;
}

function changedByPerson(form) {
  return [...form.elements].some((el) => {
    if (!el.name || !KEPT_TYPES.has(el.type)) return false;
    if (el.type === "radio" || el.type === "checkbox") return el.checked !== el.defaultChecked;
    if (el.options) return [...el.options].some((o) => o.selected !== o.defaultSelected);
    return el.value !== el.defaultValue;
  });
}

const timeoutElement = document.getElementById("app-timeout-warning");
const signedInAs = timeoutElement ? timeoutElement.dataset.user : null;

// Forms the draft keeps: staff pages' POST forms, not signing in or out, not the kiosk.
function keepsDrafts(form) {
  return (
    signedInAs &&
    form.method === "post" &&
    !form.closest("#kiosk, .app-sign-out") &&
    !form.querySelector('input[type="password"]')
  );
}

function saveDraft(form, bounced) {
  writeDraft({
    user: signedInAs,
    page: here(),
    action: form.getAttribute("action") || "",
    fields: draftFields(form),
    bounced,
    at: Date.now(),
  });
}

// Sent forms are kept until the next page shows where they went: if that is the sign-in page
// (the session had ended), they are put back after signing in again.
document.addEventListener("submit", (event) => {
  if (keepsDrafts(event.target)) saveDraft(event.target, false);
}, true);

function restoreDraft(draft) {
  const form = [...document.querySelectorAll("form")].find(
    (f) => keepsDrafts(f) && (f.getAttribute("action") || "") === draft.action,
  );
  if (!form) return false;
  for (const field of draft.fields) {
    const named = [...form.elements].filter((el) => el.name === field.name);
    for (const el of named) {
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.value === field.value) el.checked = field.checked;
      } else if (field.values) {
        [...el.options].forEach((o) => { o.selected = field.values.includes(o.value); });
      } else if (named.length === 1) {
        el.value = field.value;
      }
    }
  }
  form.dispatchEvent(new Event("change", { bubbles: true })); // conditional reveals follow
  const banner = document.createElement("div");
  banner.className = "govuk-notification-banner";
  banner.setAttribute("role", "region");
  banner.setAttribute("aria-labelledby", "app-draft-restored-title");
  banner.tabIndex = -1;
  banner.innerHTML =
    '<div class="govuk-notification-banner__header"><h2 class="govuk-notification-banner__title"' +
    ' id="app-draft-restored-title">Important</h2></div><div class="govuk-notification-banner__content">' +
    '<p class="govuk-notification-banner__heading">What you typed before you were signed out has' +
    " been put back. Check it, then send it again.</p></div>";
  const alerts = document.getElementById("app-alerts");
  alerts.parentNode.insertBefore(banner, alerts.nextSibling);
  banner.focus();
  return true;
}

const draft = readDraft();
const signInForm = document.querySelector("[data-sign-in-page]");
if (draft && signInForm) {
  // Signed out with a form sent or half-typed: say it is kept, and keep it for afterwards.
  const next = new URLSearchParams(window.location.search).get("next");
  if (next === draft.page) {
    writeDraft({ ...draft, bounced: true });
    const note = document.querySelector("[data-draft-note]");
    if (note) {
      note.textContent = "What you had typed has been kept in this browser tab. It will be put " +
        "back in the form when you sign in again.";
    }
  }
} else if (draft) {
  window.sessionStorage.removeItem(DRAFT_KEY);
  const fresh = Date.now() - draft.at < 24 * 3600 * 1000;
  if (draft.bounced && fresh && draft.page === here() && draft.user === signedInAs) {
    restoreDraft(draft);
  }
}

// Staff sessions end after SESSION_IDLE_MINUTES without a request, and after
// SESSION_MAX_HOURS in all. Warn before either; "Stay signed in" is a request, so it resets
// the idle limit. Before warning or signing out, ask the server (without counting as
// activity): another tab may have kept the session going.
if (timeoutElement) {
  const data = timeoutElement.dataset;
  const idle = Number(data.idleSeconds) * 1000;
  const warnBefore = Number(data.warnSeconds) * 1000;
  let lifetimeEnd = Date.now() + Number(data.lifetimeSeconds) * 1000;
  let idleEnd = Date.now() + idle;
  let warnTimer;
  let endTimer;

  const ask = async (method) => {
    try {
      const response = await fetch(data.statusUrl, {
        method,
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.status === 401) return { signed_in: false };
      return response.ok ? await response.json() : null;
    } catch {
      return null; // not answered: go by this page's own count
    }
  };
  const learn = (status) => {
    idleEnd = Date.now() + status.idle_seconds * 1000;
    lifetimeEnd = Date.now() + status.lifetime_seconds * 1000;
  };
  const schedule = () => {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    const left = Math.min(idleEnd, lifetimeEnd) - Date.now();
    warnTimer = setTimeout(warn, Math.max(0, left - warnBefore));
    endTimer = setTimeout(end, Math.max(0, left));
  };
  const warn = async () => {
    const status = await ask("GET");
    if (status && status.signed_in === false) return end();
    if (status) learn(status);
    const left = Math.min(idleEnd, lifetimeEnd) - Date.now();
    if (left > warnBefore + 1000) return schedule(); // kept alive elsewhere
    warning.show(left, lifetimeEnd <= idleEnd ? "lifetime" : "idle");
  };
  const end = async () => {
    const status = await ask("GET");
    if (status && status.signed_in !== false) {
      learn(status);
      if (Math.min(status.idle_seconds, status.lifetime_seconds) > 0) return schedule();
    }
    const reason = lifetimeEnd <= idleEnd ? "lifetime" : "idle";
    const form = [...document.querySelectorAll("form")].find(
      (f) => keepsDrafts(f) && changedByPerson(f),
    );
    if (form) saveDraft(form, true);
    const url = new URL(data.signInUrl, window.location.href);
    url.searchParams.set("next", here());
    url.searchParams.set("ended", reason);
    window.location.assign(url.toString());
  };
  const warning = timeoutWarning(timeoutElement, async () => {
    warning.hide();
    const status = await ask("POST"); // the request itself is the activity
    if (status && status.signed_in === false) return end();
    if (status) learn(status);
    else idleEnd = Date.now() + idle;
    schedule();
  });
  // Every request the page makes (a board's poll, a panel's change) resets the idle limit.
  document.body.addEventListener("htmx:afterRequest", () => {
    idleEnd = Date.now() + idle;
    if (!warning.showing) schedule();
  });
  schedule();
}

