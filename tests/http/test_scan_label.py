""" "Scan label" over HTTP: what the server accepts from the camera, and what the pages load.

The browser decodes the label (tests/e2e/test_scan_label.py): the server sees only the code,
posted as if typed. A scanned code opens the record's page by its number; anything else is
refused on the find page with a GOV.UK error and changes nothing.
"""

from __future__ import annotations

import re
import time

import pytest

from models.audit import AuditEvent
from models.records import Record
from tests.conftest import PIN

SCANNED = "/records/scan"


@pytest.fixture
def site(people):
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", "practitioner", manager=lina, staff_number="10002")
    mo = people.add("mo", "line_manager", team="Adults East")
    people.add("alex", "practitioner", team="Adults East", manager=mo)
    people.add("rita", "records_manager", team="Information Governance")
    people.add("kiosk-north", "kiosk", staff_number="K0001", pin=None)
    record = Record.create_labelled(
        case_id="1234567", description="Court bundle, volume 2", team=pat.team_id, created_by=pat
    )
    return {"pat": pat, "record": record}


def error_message(html: str, field: str = "term") -> str:
    """The field's GOV.UK error message, as the person reads it."""
    match = re.search(
        rf'<p id="{field}-error" class="govuk-error-message">\s*'
        r'<span class="govuk-visually-hidden">Error:</span>\s*(.*?)\s*</p>',
        html,
        re.S,
    )
    assert match, f"no error message on {field}"
    return match.group(1)


def search_box(html: str) -> str:
    return re.search(r'<input[^>]*name="term"[^>]*value="([^"]*)"', html).group(1)


@pytest.mark.postgres  # the lookup by label code, and need to know, on both
def test_a_scanned_label_opens_its_record_and_only_its_number_is_in_the_address(web, site):
    record = site["record"]
    web.sign_in("pat")
    web.get("/records")
    response = web.post(SCANNED, {"label_code": record.label_code})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/records/{record.id}"
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Court bundle, volume 2" in page
    # Read in lower case, or with the white space a decoder may leave, it is the same label.
    again = web.post(SCANNED, {"label_code": f"  {record.label_code.lower()}\n"})
    assert again.headers["Location"] == f"/records/{record.id}"


@pytest.mark.postgres  # the lookup by label code, and need to know, on both
def test_another_teams_label_looks_like_no_record_at_all(web, site):
    record = site["record"]
    web.sign_in("alex")
    web.get("/records")
    theirs = web.post(SCANNED, {"label_code": record.label_code})
    nobodys = web.post(SCANNED, {"label_code": "SK-AAAAAAAA"})
    assert theirs.status_code == nobodys.status_code == 422
    theirs_html = theirs.get_data(as_text=True)
    assert "Court bundle" not in theirs_html
    assert error_message(theirs_html) == (
        f"No record you can see has the label code {record.label_code}"
    )
    assert error_message(nobodys.get_data(as_text=True)) == (
        "No record you can see has the label code SK-AAAAAAAA"
    )
    # The code read is put in the search box, where the summary's link goes, to correct it.
    assert search_box(theirs_html) == record.label_code
    assert 'href="#term"' in theirs_html
    assert theirs_html.count("<title>Error: Find a record") == 1


def test_someone_who_sees_every_team_opens_any_teams_record(web, site):
    web.sign_in("rita")
    web.get("/records")
    response = web.post(SCANNED, {"label_code": site["record"].label_code})
    assert response.headers["Location"] == f"/records/{site['record'].id}"


@pytest.mark.parametrize(
    ("read", "message"),
    [
        ("", "Scan the label, or type the code printed on it"),
        ("   ", "Scan the label, or type the code printed on it"),
        # A QR code that is a link, even one naming a label, is not followed.
        ("https://x.example/", "Scan a Safekeep record label, or type the code printed on it, "),
        ("https://safekeep.example/SK-AB3D5F7H", "Label code must be 20 characters or fewer"),
        ("SK-AB3D5F7", "Scan a Safekeep record label, or type the code printed on it, like "),
        ("SK-AB3D5F7I", "Scan a Safekeep record label, or type the code printed on it, like "),
        ("SK-AB3D5F7H2", "Scan a Safekeep record label, or type the code printed on it, like "),
        ("1234567", "Scan a Safekeep record label, or type the code printed on it, like "),
        ("SK-AB3D5F7H" * 3, "Label code must be 20 characters or fewer"),
    ],
)
def test_what_is_not_a_label_code_is_refused_and_changes_nothing(web, site, read, message):
    web.sign_in("pat")
    web.get("/records")
    events = AuditEvent.select().count()
    response = web.post(SCANNED, {"label_code": read})
    assert response.status_code == 422
    assert error_message(response.get_data(as_text=True)).startswith(message)
    assert AuditEvent.select().count() == events


def test_a_huge_scan_is_refused_by_its_length_at_once(web, site):
    web.sign_in("pat")
    web.get("/records")
    started = time.perf_counter()
    response = web.post(SCANNED, {"label_code": "SK-" + "A" * 1_000_000})
    assert response.status_code == 422
    assert time.perf_counter() - started < 2
    html = response.get_data(as_text=True)
    assert error_message(html) == "Label code must be 20 characters or fewer"


def test_a_scan_needs_the_forms_token_and_a_staff_sign_in(web, site, new_web):
    web.sign_in("pat")
    forged = web.client.post(SCANNED, data={"label_code": site["record"].label_code})
    assert forged.status_code == 400
    signed_out = new_web().client.post(SCANNED, data={"label_code": site["record"].label_code})
    assert signed_out.status_code in (302, 303, 400)
    assert "/records/" not in signed_out.headers.get("Location", "")


def test_the_kiosk_account_cannot_open_records_by_scanning(web, site):
    web.sign_in("kiosk-north")
    web.get("/kiosk/")
    response = web.post(SCANNED, {"label_code": site["record"].label_code})
    assert response.status_code in (302, 303, 403)
    assert "Court bundle" not in response.get_data(as_text=True)
    assert f"/records/{site['record'].id}" not in response.headers.get("Location", "")


# -- Which pages offer it, and what they load ---------------------------------------------


def scan_script(html: str) -> str | None:
    match = re.search(r'<script type="module" src="(/static/[^"]*scan[^"]*)"', html)
    return match.group(1) if match else None


def scan_form_action(html: str) -> str:
    region = re.search(r'<div class="app-scan"[^>]*hidden>.*?</form>', html, re.S)
    assert region, "no Scan label component (hidden until the script finds a camera)"
    assert '<button type="button" class="govuk-button govuk-button--secondary app-scan__start' in (
        region.group(0)
    )
    return re.search(r'<form method="post" action="([^"]+)"', region.group(0)).group(1)


def test_scan_label_is_offered_on_the_find_page_and_at_the_kiosk_and_nowhere_else(
    web, new_web, site
):
    web.sign_in("pat")
    for url in ("/", f"/records/{site['record'].id}", "/records/labels"):
        response = web.get(url)
        html = response.get_data(as_text=True)
        assert scan_script(html) is None and "qr-scanner" not in html, url
        assert "camera=()" in response.headers["Permissions-Policy"], url
    find = web.get("/records")
    html = find.get_data(as_text=True)
    assert scan_form_action(html) == SCANNED
    assert scan_script(html)
    assert "camera=(self)" in find.headers["Permissions-Policy"]
    refused = web.post(SCANNED, {"label_code": "nonsense"})
    assert "camera=(self)" in refused.headers["Permissions-Policy"]  # scan again from there

    kiosk = new_web()
    kiosk.sign_in("kiosk-north")
    before = kiosk.get("/kiosk/")  # nobody identified yet: nothing to scan for
    assert scan_script(before.get_data(as_text=True)) is None
    assert "camera=()" in before.headers["Permissions-Policy"]
    identified = kiosk.post("/kiosk/identify", {"staff_number": "10002", "pin": PIN})
    assert identified.status_code == 303
    page = kiosk.get("/kiosk/")
    html = page.get_data(as_text=True)
    # The camera's code goes where the USB scanner's does: the kiosk's own scan.
    assert scan_form_action(html) == "/kiosk/scan"
    assert scan_script(html)
    assert "camera=(self)" in page.headers["Permissions-Policy"]
    # A code the kiosk does not know: the person scans again from the same screen.
    unknown = kiosk.post("/kiosk/scan", {"label_code": "SK-AAAAAAAA"})
    assert unknown.status_code == 422
    assert "camera=(self)" in unknown.headers["Permissions-Policy"]


def test_the_decoder_is_a_worker_file_from_this_site_not_a_blob(web, site):
    """The scanner's files chain from the page's script, each fingerprinted and cached; the
    decoder runs from its own file, which `worker-src 'self'` allows (no blob: URL)."""
    web.sign_in("pat")
    page = web.get("/records")
    csp = dict(d.strip().split(" ", 1) for d in page.headers["Content-Security-Policy"].split(";"))
    assert csp["worker-src"] == "'self'"
    assert "blob:" not in page.headers["Content-Security-Policy"]

    def fetched(url: str) -> str:
        assert re.fullmatch(r"/static/dist/[\w.-]+\.[0-9a-f]{12}\.js", url), url
        response = web.client.get(url)
        assert response.status_code == 200 and "immutable" in response.headers["Cache-Control"]
        return response.get_data(as_text=True)

    scan = fetched(scan_script(page.get_data(as_text=True)))
    library = fetched(re.search(r'from "([^"]+)"', scan).group(1))
    worker_module = fetched(re.search(r'import\("([^"]+)"\)', library).group(1))
    decoder = fetched(re.search(r'new Worker\("([^"]+)"\)', worker_module).group(1))
    assert "createObjectURL" not in worker_module + decoder
    assert "self.onmessage" in decoder
