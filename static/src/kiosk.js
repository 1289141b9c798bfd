// The kiosk's idle timer (templates/kiosk/layout.html loads this on kiosk screens only).
import { csrfToken, timeoutWarning } from "/static/build/app.js";

// The kiosk: the person identified is forgotten after 60 s without input, on the server as
// well as here. Their key and pointer input tells the server they are still there; a warning
// comes 15 s before the end, so someone reading without pressing keys can carry on.
const kiosk = document.querySelector("#kiosk[data-idle-url]");
const kioskWarningElement = document.getElementById("app-kiosk-warning");
if (kiosk && kioskWarningElement) {
  const limit = Number(kiosk.dataset.idleSeconds) * 1000;
  const warnBefore = Number(kiosk.dataset.warnSeconds) * 1000;
  // At most one "still here" request per 10 s. Input inside that gap is sent at its end, so
  // the server has always seen input at least as late as this screen has, and never forgets
  // the person before the screen does.
  const THROTTLE = 10_000;
  let warnTimer;
  let endTimer;
  let trailing;
  let lastSent = Date.now(); // the page itself was a request
  const signOut = () => window.location.assign(kiosk.dataset.idleUrl);
  const send = () => {
    lastSent = Date.now();
    fetch(kiosk.dataset.stillHereUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
    })
      .then((response) => {
        if (response.status === 410) signOut(); // the server has already forgotten them
      })
      .catch(() => {}); // offline for a moment: the next input tries again
  };
  const warning = timeoutWarning(kioskWarningElement, () => {
    warning.hide();
    restart();
    send();
  });
  const restart = () => {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warnTimer = setTimeout(() => warning.show(warnBefore), limit - warnBefore);
    endTimer = setTimeout(signOut, limit);
  };
  const input = () => {
    if (warning.showing) return; // only the warning's button carries on from here
    restart();
    const wait = lastSent + THROTTLE - Date.now();
    if (wait <= 0) {
      clearTimeout(trailing);
      trailing = undefined;
      send();
    } else if (trailing === undefined) {
      trailing = setTimeout(() => {
        trailing = undefined;
        send();
      }, wait);
    }
  };
  ["keydown", "pointerdown", "input"].forEach((type) => document.addEventListener(type, input));
  restart();
}
