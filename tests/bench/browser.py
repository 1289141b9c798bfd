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
