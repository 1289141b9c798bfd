// "Scan label" (templates/components/scan_label.html): the camera reads a record's QR label
// and the code is posted as if typed. Loaded only by the pages that offer it. The picture
// never leaves the device: qr-scanner decodes it here (the browser's BarcodeDetector, or its
// decoder in a worker served from this site), and only a label code is sent.
import QrScanner from "/static/vendor/qr-scanner.min.js";

const SAID = {
  starting: "Starting the camera…",
  point: "Point the camera at the label",
  notALabel:
    "That is not a Safekeep record label. Point the camera at the record's label, " +
    "or stop scanning and type the code printed on it.",
  noCamera:
    "The camera cannot be used: it may be in use by another program, or permission to use " +
    "it was refused. Type the code printed on the label instead.",
  opening: (code) => `Label read: opening record ${code}`,
};

// The camera's light goes off at once: destroy() alone lets the stream run 300 ms longer.
function release(scanner) {
  scanner.pause(true);
  scanner.destroy();
}

function scanLabel(element) {
  const pattern = new RegExp(`^(?:${element.dataset.labelPattern})$`);
  const start = element.querySelector(".app-scan__start");
  const stop = element.querySelector(".app-scan__stop");
  const region = element.querySelector(".app-scan__region");
  const status = element.querySelector(".app-scan__status");
  let video = element.querySelector(".app-scan__video");
  const form = element.querySelector(".app-scan__form");
  let scanner = null;
  let lastRefused = null;

  const say = (words) => {
    if (status.textContent !== words) status.textContent = words;
  };

  function close({ toTyping = false } = {}) {
    if (scanner) {
      release(scanner);
      scanner = null;
    }
    region.hidden = true;
    start.hidden = false;
    const typed = document.getElementById(element.dataset.typedField);
    (toTyping && typed ? typed : start).focus();
  }

  function read(result) {
    // Only a label code is followed: a QR code holding a link or anything else is refused,
    // never opened (the label's QR code holds its code alone: views/records.py labels).
    const code = result.data.trim().toUpperCase();
    if (!pattern.test(code)) {
      if (result.data !== lastRefused) say(SAID.notALabel);
      lastRefused = result.data;
      return;
    }
    scanner.stop();
    say(SAID.opening(code));
    form.elements.label_code.value = code;
    form.requestSubmit();
  }

  let opened = 0; // which press of "Scan label" this is: an older one stops trying

  async function open() {
    const attempt = ++opened;
    start.hidden = true;
    region.hidden = false; // before the scanner looks at the video: it must be displayed
    video.hidden = false;
    stop.textContent = "Stop scanning";
    lastRefused = null;
    say(SAID.starting);
    stop.focus();
    // A camera let go of a moment ago (Stop, then Scan label again at once) can still be
    // busy: one more try a moment later before saying it cannot be used.
    for (const wait of [0, 700]) {
      if (wait) await new Promise((resume) => setTimeout(resume, wait));
      if (attempt !== opened || region.hidden) return; // stopped, or pressed again, meanwhile
      // A video element of its own for each scanner: qr-scanner stops the stream of the one
      // it was given 300 ms after it is stopped, and pressing Scan label again within that
      // would have had the new stream cut (no picture, or "cannot be used").
      const fresh = video.cloneNode(false);
      video.replaceWith(fresh);
      video = fresh;
      const mine = new QrScanner(video, read, {
        returnDetailedScanResult: true,
        preferredCamera: "environment",
        maxScansPerSecond: 10,
      });
      scanner = mine;
      try {
        await mine.start();
        if (scanner === mine) say(SAID.point);
        return;
      } catch {
        // Permission refused, no camera after all, or another program holds it.
        mine.destroy();
        if (scanner !== mine) return; // stopped (and perhaps started again) meanwhile
        scanner = null;
      }
    }
    video.hidden = true;
    stop.textContent = "Type the code instead";
    say(SAID.noCamera);
  }

  start.addEventListener("click", open);
  // Once the camera is given up on, the button says "Type the code instead".
  stop.addEventListener("click", () => close({ toTyping: scanner === null && video.hidden }));
  region.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  // Leaving the page (or the kiosk's idle timer) lets go of the camera.
  window.addEventListener("pagehide", () => scanner && release(scanner));

  // Offered only where a camera can be asked for: none in an insecure context or without one.
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    QrScanner.hasCamera().then((found) => {
      element.hidden = !found;
    });
  }
}

document.querySelectorAll('[data-module="app-scan"]').forEach(scanLabel);
