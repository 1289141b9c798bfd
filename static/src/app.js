// Safekeep's only script: start GOV.UK Frontend components. htmx is loaded beside it.
// No inline scripts anywhere: the CSP allows scripts from this origin only.
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
function watchScrollRegions(scope) {
  scope.querySelectorAll(".app-table-scroll").forEach((region) => {
    scrollStops.observe(region);
    if (region.firstElementChild) scrollStops.observe(region.firstElementChild);
  });
}

// The title says "Error: " exactly while the page shows an error summary, also after a swap.
function syncTitle() {
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

// Kiosk idle timer: after 60 seconds without input, sign the person out of the kiosk.
// (The server enforces the same limit on the next request, so this is a courtesy.)
const kiosk = document.querySelector("#kiosk[data-idle-url]");
if (kiosk) {
  const limit = Number(kiosk.dataset.idleSeconds) * 1000;
  let timer;
  const restart = () => {
    clearTimeout(timer);
    timer = setTimeout(() => window.location.assign(kiosk.dataset.idleUrl), limit);
  };
  ["keydown", "pointerdown", "input"].forEach((type) => document.addEventListener(type, restart));
  restart();
}

// The board polls every 30 s (templates/boards/board.html). A poll never moves the focus: only
// the parts that changed are swapped, and a part holding the focus waits for a later poll
// once the focus has moved on. What changed is said politely in the status line. The person
// can pause the polling (WCAG 2.2.2), and the pause is remembered for this page in this tab.
const board = document.getElementById("board-body");
if (board) startBoard(board);

function startBoard(body) {
  const status = document.getElementById("board-status");
  const button = document.getElementById("board-pause");
  const key = `safekeep:paused:${window.location.pathname}`;
  let paused = window.sessionStorage.getItem(key) === "1";
  const showPaused = () => {
    button.textContent = paused ? "Restart automatic updates" : "Pause automatic updates";
  };
  // The figures at a glance, by label: what the status line compares.
  const figures = (scope) => {
    const values = [...scope.querySelectorAll("#board-counts td")];
    return new Map([...scope.querySelectorAll("#board-counts th")]
      .map((th, i) => [th.textContent.trim(), values[i] ? values[i].textContent.trim() : ""]));
  };
  // What a person can see of a part: its words and where its links go.
  const signature = (part) => part.textContent.replace(/\s+/g, " ").trim() + " "
    + [...part.querySelectorAll("a[href]")].map((a) => a.getAttribute("href")).join(" ");
  let known = figures(document);

  showPaused();
  if (paused) status.textContent = "Automatic updates are paused.";
  button.addEventListener("click", () => {
    paused = !paused;
    if (paused) window.sessionStorage.setItem(key, "1");
    else window.sessionStorage.removeItem(key);
    showPaused();
    status.textContent = paused ? "Automatic updates are paused." : "Automatic updates restarted.";
    if (!paused) body.dispatchEvent(new Event("board-refresh"));  // catch up at once
  });

  // No poll while paused or while the tab is hidden (no eval: the CSP forbids it).
  document.body.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.elt === body && (paused || document.hidden)) event.preventDefault();
  });

  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.requestConfig.elt !== body) return;
    if (event.detail.target !== body) {
      // An error (retargeted to #app-alerts) is read out, but must not take the focus.
      event.detail.serverResponse = String(event.detail.serverResponse).replace(
        'data-module="govuk-error-summary"',
        'data-module="govuk-error-summary" data-disable-auto-focus="true"');
      return;
    }
    if (event.detail.xhr.status !== 200) return;
    event.detail.shouldSwap = false;
    // Answering again: an alert from a failed poll is out of date.
    document.getElementById("app-alerts").replaceChildren();
    syncTitle();
    const fresh = document.createElement("template");
    fresh.innerHTML = event.detail.serverResponse;
    const now = figures(fresh.content);  // before the parts move out of the template
    let changed = false;
    fresh.content.querySelectorAll(".app-board-part").forEach((part) => {
      const current = document.getElementById(part.id);
      if (!current || signature(current) === signature(part)) return;
      changed = true;
      if (current.contains(document.activeElement)) return;
      current.replaceWith(part);
      watchScrollRegions(part);
    });
    const updated = fresh.content.getElementById("board-updated");
    document.getElementById("board-updated").replaceWith(updated);
    const differences = [...now].filter(([label, value]) => known.get(label) !== value)
      .map(([label, value]) => `${label.toLowerCase()} ${value} (was ${known.get(label)})`);
    known = now;
    if (changed || differences.length) {
      const what = differences.length ? `: ${differences.join(", ")}` : "";
      status.textContent = `Board updated at ${updated.dataset.time}${what}.`;
    }
  });
}
