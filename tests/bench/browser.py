"""Click to settled swap in Chromium with the CPU slowed down, as on a low-spec council laptop.

Each timing runs from the click (a capturing listener's `performance.now()`) to the last
`htmx:afterSettle` it causes: the whole round trip, the swap and the settle, which INP
does not cover. CPU throttling is Chrome's own (`Emulation.setCPUThrottlingRate`).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from tests.bench.load import percentile

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
# A first visit on a council network: every byte Chromium receives, headers included.
FIRST_VISIT_BUDGET = 60 * 1024
WARM_UP = 2  # the first clicks of a page compile its scripts: not what a person waits for

_IDLE = "() => new Promise(done => requestIdleCallback(() => done(), {timeout: 2000}))"
_LISTEN = """() => {
  window.__bench = {clicked: null, settled: []};
  document.addEventListener('click', () => { window.__bench.clicked = performance.now(); },
                            true);
  document.body.addEventListener('htmx:afterSettle',
                                 () => { window.__bench.settled.push(performance.now()); });
}"""


@dataclass
class Clicks:
    label: str
    times: list[float]  # ms, warm-up clicks left out

    def describe(self) -> str:
        if not self.times:
            return f"{self.label}: no timings"
        return (
            f"median {statistics.median(self.times):.0f} ms, p90 "
            f"{percentile(self.times, 0.9):.0f} ms, fastest {min(self.times):.0f} ms, slowest "
            f"{max(self.times):.0f} ms ({len(self.times)} clicks)"
        )


def _sign_in(page, username: str, password: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _time_clicks(
    browser,
    base_url: str,
    username: str,
    password: str,
    record_ids: Iterable[int],
    button: str,
    throttle: float,
    before=None,
) -> list[float]:
    # Playwright's waiting evaluates its predicate with eval(), which the CSP refuses.
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1366, "height": 768}, bypass_csp=True
    )
    try:
        page = context.new_page()
        _sign_in(page, username, password)
        cdp = context.new_cdp_session(page)
        times = []
        for record_id in record_ids:
            page.goto(f"/records/{record_id}")
            page.wait_for_load_state("networkidle")
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
            # A person reads the page before pressing a button: click once its scripts are done.
            page.evaluate(_IDLE)
            page.evaluate(_LISTEN)
            if before:
                before(page)
            page.get_by_role("button", name=button, exact=True).click()
            page.wait_for_function("() => window.__bench.settled.length > 0", timeout=30_000)
            # Out-of-band swaps settle as well: give the last of them time to happen.
            page.wait_for_timeout(300)
            clicked, settled = page.evaluate("[window.__bench.clicked, window.__bench.settled]")
            times.append(max(settled) - clicked)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
        return times[WARM_UP:]
    finally:
        context.close()


def _tick_safeguards(page) -> None:
    for label in ("lockable bag", "password protected", "USB memory stick", "notebook secure"):
        page.get_by_label(label).check()


def measure_clicks(
    base_url: str,
    password: str,
    approver: str,
    to_approve: list[int],
    holder: str,
    to_take_out: list[int],
    throttle: float = 6,
) -> list[Clicks] | str:
    """Approve each of `to_approve` as `approver`, take out each of `to_take_out` as `holder`
    (safeguards ticked before the clock starts); the timings, or why there are none."""
    if not os.path.exists(CHROMIUM):
        return f"skipped: no Chromium at {CHROMIUM}"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "skipped: playwright is not installed"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            return [
                Clicks(
                    "Approve",
                    _time_clicks(
                        browser, base_url, approver, password, to_approve, "Approve", throttle
                    ),
                ),
                Clicks(
                    "Take out",
                    _time_clicks(
                        browser,
                        base_url,
                        holder,
                        password,
                        to_take_out,
                        "Take out",
                        throttle,
                        before=_tick_safeguards,
                    ),
                ),
            ]
        finally:
            browser.close()


# -- what a first visit costs on the wire ----------------------------------------------------


@dataclass
class Transfer:
    url: str
    status: int
    bytes: int  # on the wire: response headers and the (compressed) body


def first_visit(browser, base_url: str, path: str, storage_state=None) -> list[Transfer]:
    """Every response of a first visit to `path` in a fresh context (empty cache, cache off),
    with the bytes Chromium received for each: `Network.loadingFinished`'s encodedDataLength,
    which counts the response headers as well as the body as sent (compressed)."""
    context = browser.new_context(base_url=base_url, storage_state=storage_state)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        urls: dict[str, tuple[str, int]] = {}
        done: dict[str, int] = {}
        cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e))
        cdp.on(
            "Network.loadingFinished",
            lambda e: done.__setitem__(e["requestId"], int(e["encodedDataLength"])),
        )
        page.goto(path)
        page.wait_for_load_state("networkidle")
        return [
            Transfer(urls[rid]["response"]["url"], urls[rid]["response"]["status"], size)
            for rid, size in done.items()
            if rid in urls
        ]
    finally:
        context.close()


def signed_in_state(browser, base_url: str, username: str, password: str) -> dict:
    """The cookies of a signed-in session, for a first visit with an empty cache."""
    context = browser.new_context(base_url=base_url)
    try:
        page = context.new_page()
        _sign_in(page, username, password)
        return context.storage_state()
    finally:
        context.close()


def measure_first_visits(base_url: str, username: str, password: str) -> list[str] | str:
    """What Chromium transfers on a first visit to the sign-in page and, signed in as
    `username`, to the home page: a line each, or why there are none."""
    if not os.path.exists(CHROMIUM):
        return f"skipped: no Chromium at {CHROMIUM}"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "skipped: playwright is not installed"
    lines = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            state = signed_in_state(browser, base_url, username, password)
            for label, path, storage in (
                ("sign-in page", "/sign-in", None),
                (f"home page signed in as {username}", "/", state),
            ):
                transfers = first_visit(browser, base_url, path, storage)
                total = sum(t.bytes for t in transfers)
                verdict = "within" if total <= FIRST_VISIT_BUDGET else "OVER"
                lines.append(
                    f"{label}: {total / 1024:.1f} KB in {len(transfers)} responses, {verdict} "
                    f"the {FIRST_VISIT_BUDGET // 1024} KB budget"
                )
                lines.extend(
                    f"      {t.bytes / 1024:5.1f} KB  {t.url.removeprefix(base_url)}"
                    for t in sorted(transfers, key=lambda t: -t.bytes)
                )
        finally:
            browser.close()
    return lines
