// Safekeep's only script: start GOV.UK Frontend components. htmx is loaded beside it.
// No inline scripts anywhere: the CSP allows scripts from this origin only.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

initAll();

// Components inside a panel htmx has just swapped in need starting too.
document.body.addEventListener("htmx:afterSettle", (event) => {
  initAll({ scope: event.detail.elt });
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
