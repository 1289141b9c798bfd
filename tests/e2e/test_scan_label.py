""" "Scan label" in Chromium, its camera a video of a printed label (Chromium's fake camera).

The fake camera is a launch option, so these tests start a browser of their own, its camera
showing the QR code of a label as the label sheet prints it. The video is a Y4M file written
here: a text header, then each frame's grey levels and flat colour planes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from demo.accounts import DEMO_PIN
from models.people import User
from models.records import Record
from tests.e2e.conftest import check_accessibility, screenshot, sign_in
from views.records import label_qr

WIDTH, HEIGHT, FRAMES = 640, 480, 5
# Reading a code from the fake camera's frames takes seconds when both cores are busy (the
# whole suite at once): the default 5 s ran out once.
DECODE = 20_000


def write_label_video(text: str, path: Path) -> Path:
    """A still video of a white label with `text`'s QR code, as the label sheet makes it."""
    rows = label_qr(text).matrix
    scale = (HEIGHT * 2 // 3) // len(rows)
    left, top = (WIDTH - len(rows) * scale) // 2, (HEIGHT - len(rows) * scale) // 2
    luma = bytearray(b"\xff" * (WIDTH * HEIGHT))
    for y in range(len(rows) * scale):
        for x in range(len(rows) * scale):
            if rows[y // scale][x // scale]:
                luma[(top + y) * WIDTH + left + x] = 0
    colour = b"\x80" * (WIDTH // 2 * HEIGHT // 2)  # no colour: U and V at their middle
    frame = b"FRAME\n" + bytes(luma) + colour + colour
    header = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * FRAMES)
    return path


@pytest.fixture
def camera_browser(playwright, browser_type_launch_args, tmp_path):
    """Start Chromium whose camera shows a label holding the text given; closed afterwards."""
    browsers = []

    def launch(text: str):
        video = write_label_video(text, tmp_path / f"label-{len(browsers)}.y4m")
        fake_camera = [
            "--use-fake-ui-for-media-stream",  # the camera permission is given, no prompt
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ]
        args = {**browser_type_launch_args}
        args["args"] = [*browser_type_launch_args.get("args", []), *fake_camera]
        browsers.append(playwright.chromium.launch(**args))
        return browsers[-1]

    yield launch
    for browser in browsers:
        browser.close()


def _identify_at_kiosk(page, staff_number: str = "10002") -> None:
    sign_in(page, "kiosk-north", javascript=False)
    page.get_by_label("Staff number").fill(staff_number)
    page.get_by_label("PIN").fill(DEMO_PIN)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello Pat Reyes")


def test_a_scanned_label_opens_the_record_on_a_laptop_and_at_the_kiosk(camera_browser, base_url):
    pat = User.by_username("pat")
    record = Record.create_labelled(
        case_id="5550606", description="Scanned court bundle", team=pat.team_id, created_by=pat
    )
    browser = camera_browser(record.label_code)

    # A laptop, the site's own CSP in force: the decoder's worker must come from this site.
    context = browser.new_context(base_url=base_url, viewport={"width": 1366, "height": 768})
    page = context.new_page()
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Security Policy" in m.text else None)
    workers = []
    page.on("worker", lambda worker: workers.append(worker.url))
    sign_in(page, "pat", javascript=False)
    page.goto("/records")
    page.get_by_role("button", name="Scan label").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Scanned court bundle", timeout=DECODE
    )
    expect(page).to_have_url(re.compile(rf"/records/{record.id}$"))
    assert not refused, refused
    if not page.evaluate("'BarcodeDetector' in window"):
        assert any("qr-scanner-decoder" in url for url in workers), workers
    context.close()

    # The kiosk: the camera's code goes where the USB scanner's would.
    context = browser.new_context(base_url=base_url, viewport={"width": 1366, "height": 768})
    page = context.new_page()
    _identify_at_kiosk(page)
    page.get_by_role("button", name="Scan label").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Scanned court bundle", timeout=DECODE
    )
    expect(page.locator(".govuk-summary-list, #kiosk")).not_to_have_count(0)
    context.close()


def test_the_kiosk_refuses_a_code_that_is_not_a_label_and_says_how_to_carry_on(
    camera_browser, base_url
):
    browser = camera_browser("https://x.example/a-link-not-a-label")
    # axe is a script the CSP would refuse: this context lets it in.
    context = browser.new_context(
        base_url=base_url, bypass_csp=True, viewport={"width": 1366, "height": 768}
    )
    page = context.new_page()
    _identify_at_kiosk(page)
    start = page.get_by_role("button", name="Scan label")
    start.focus()
    page.keyboard.press("Enter")
    scanner = page.get_by_role("region", name="Scan the label")
    status = scanner.get_by_role("status")
    expect(status).to_have_text(re.compile("^That is not a Safekeep record label"), timeout=DECODE)
    expect(page.get_by_role("button", name="Stop scanning")).to_be_focused()
    expect(start).to_be_hidden()  # one button to press while scanning: Stop
    assert page.url.endswith("/kiosk/")  # nothing was opened
    check_accessibility(page)
    screenshot(page, "kiosk-scan-not-a-label")
    page.keyboard.press("Enter")  # Stop scanning
    expect(scanner).to_be_hidden()
    expect(start).to_be_focused()
    assert page.evaluate("document.querySelector('.app-scan__video').srcObject") is None
    page.keyboard.press("Enter")  # Scan label again; Escape stops it too
    expect(status).to_have_text(re.compile("^That is not a Safekeep record label"), timeout=DECODE)
    page.keyboard.press("Escape")
    expect(scanner).to_be_hidden()
    expect(start).to_be_focused()

    # Camera permission refused: the person is told to type the code, and taken there.
    page.add_init_script(
        "navigator.mediaDevices.getUserMedia = () => "
        "Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));"
    )
    page.reload()
    page.get_by_role("button", name="Scan label").click()
    expect(status).to_have_text(re.compile("^The camera cannot be used.*Type the code printed"))
    check_accessibility(page)
    page.get_by_role("button", name="Type the code instead").click()
    expect(page.get_by_label("Scan the record's label")).to_be_focused()
    context.close()
