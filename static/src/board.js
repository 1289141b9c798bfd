// The board's polling (templates/boards/board.html loads this on the board only).
import { syncTitle, watchScrollRegions } from "/static/build/app.js";

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
    const values = [...scope.querySelectorAll("#board-counts dd")];
    return new Map([...scope.querySelectorAll("#board-counts dt")]
      .map((dt, i) => [dt.textContent.trim(), values[i] ? values[i].textContent.trim() : ""]));
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
