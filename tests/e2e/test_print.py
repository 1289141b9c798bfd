"""Printing, as Chromium prints (print media, the page size the CSS asks for): the label
sheet on one A4 page laid out as L7160 stock, and the breach report with its marking and
page number on every page and no heading left at the foot of a page."""

from __future__ import annotations

import datetime as dt
import io
import re

from playwright.sync_api import expect
from pypdf import PdfReader

from demo.activity import _breach_step, _told_everyone
from machines import clock
from machines.breach_rules import NO_ONE
from machines.risk import default_grid
from models.base import write_transaction
from models.breaches import Breach
from models.people import User
from models.records import Record
from tests.e2e.conftest import sign_in

MM = 72 / 25.4  # PDF points per millimetre
A4 = (210, 297)
LABEL_CODE = re.compile(r"SK-[A-Z0-9]{8}")


def _pdf(page) -> PdfReader:
    return PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True)))


def _size_mm(pdf_page) -> tuple[float, float]:
    box = pdf_page.mediabox
    return round(float(box.width) / MM), round(float(box.height) / MM)


def _label_positions(pdf_page) -> list[tuple[str, float, float]]:
    """Each label code on the page with where its text starts, in mm from the top left."""
    height = float(pdf_page.mediabox.height)
    found = []

    def visit(text, cm, tm, font, size):
        if LABEL_CODE.fullmatch(text.strip()):
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.append((text.strip(), x / MM, (height - y) / MM))

    pdf_page.extract_text(visitor_text=visit)
    return found


def test_the_label_sheet_prints_on_one_a4_page_lined_up_with_l7160_stock(page):
    sam = User.by_username("sam")
    # A full sheet: the 21 newest records of the team, each with a one-line description so
    # every label's text sits at the same height within its label.
    records = [
        Record.create(
            case_id=f"55509{n:02d}", description=f"Sheet {n:02d}", team=sam.team_id, created_by=sam
        )
        for n in range(21)
    ]
    sign_in(page, "sam")
    page.goto("/records/labels")
    expect(page.locator(".app-label")).to_have_count(21)
    pdf = _pdf(page)
    assert len(pdf.pages) == 1, f"the sheet printed on {len(pdf.pages)} pages"
    assert _size_mm(pdf.pages[0]) == A4
    text = pdf.pages[0].extract_text()
    assert "Print record labels" not in text and "Example London Borough" not in text

    positions = _label_positions(pdf.pages[0])
    assert [code for code, _, _ in positions] == [r.label_code for r in reversed(records)]
    xs = sorted({round(x, 1) for _, x, _ in positions})
    ys = sorted({round(y, 1) for _, _, y in positions})
    assert len(xs) == 3 and len(ys) == 7, (xs, ys)
    # L7160: 7.21 mm side margins, labels 63.5 mm wide every 66.04 mm across, 38.1 mm high
    # with no gap, from 15.15 mm below the top. The code follows the 2 mm padding, the 30 mm
    # QR code and a 2 mm gap.
    for left, right in zip(xs, xs[1:], strict=False):
        assert abs((right - left) - 66.04) < 0.2, xs
    for top, bottom in zip(ys, ys[1:], strict=False):
        assert abs((bottom - top) - 38.1) < 0.2, ys
    assert abs(xs[0] - (7.21 + 2 + 30 + 2)) < 0.5, xs
    assert 15.15 < ys[0] < 15.15 + 38.1, ys
    assert ys[-1] < A4[1] - 15.15, ys


# -- the breach report -----------------------------------------------------------------------

SECTION_HEADINGS = (
    "1. What happened",
    "2. Data involved",
    "3. Notifications",
    "4. Risk assessment, actions and decisions",
    "5. Timeline",
    "Risk assessment",
    "Decision",
)
MARGIN_TEXT = re.compile(r"OFFICIAL-SENSITIVE|Page \d+ of \d+")


def _long_case() -> Breach:
    """A case far enough along for every section of the report, with a long timeline."""
    pat, lina, ash = (User.by_username(u) for u in ("pat", "lina", "ash"))
    now = clock.now()
    with write_transaction():
        breach = Breach.open_case(
            {
                "what_happened": "A letter went to a previous address.",
                "happened_at": now - dt.timedelta(hours=6),
                "discovered_at": now - dt.timedelta(hours=5),
                "category": "wrong_recipient",
                "data_categories": ["basic_identifiers", "health"],
                "people_affected": 2,
                "records_affected": 1,
                "children_or_vulnerable": True,
                "special_category": True,
            },
            pat,
            now - dt.timedelta(hours=5),
            case_id="5550999",
        )
    _breach_step(
        breach,
        "notify",
        pat,
        now - dt.timedelta(hours=4),
        {
            "notifications": _told_everyone("wrong_recipient", now - dt.timedelta(hours=4)),
            "media_advised": False,
            "media_reason": "One letter; no press interest expected.",
        },
    )
    _breach_step(
        breach,
        "assess_risk",
        lina,
        now - dt.timedelta(hours=3),
        {
            "likelihood": 3,
            "severity": 3,
            "likely_outcomes": "A family's history read by a neighbour. " * 6,
            "actions_taken": "The recipient was asked to return the letter unopened. " * 6,
            "reportable_override": None,
            "reportable_reason": "A neighbour read about a child's health: reportable.",
            "grid": default_grid(),
        },
    )
    _breach_step(
        breach,
        "refer_to_ico",
        User.by_username("rita"),
        now - dt.timedelta(hours=2, minutes=30),
        {
            "ico_referred_at": now - dt.timedelta(hours=2, minutes=30),
            "ico_reference": "IC-123456-A1B2",
            "ico_told_by": "Rita Lowe",
        },
    )
    _breach_step(
        breach,
        "record_exemption",
        User.by_username("cal"),
        now - dt.timedelta(hours=2),
        {
            "exemption_reason": "Telling the family now would put a child at risk.",
            "approved_by_caldicott": True,
        },
    )
    _breach_step(
        breach,
        "caldicott_agree",
        User.by_username("cal"),
        now - dt.timedelta(hours=1, minutes=30),
        {"caldicott_advice": "Refer to the ICO; no disciplinary action.", "agreed": True},
    )
    _breach_step(
        breach,
        "decide",
        ash,
        now - dt.timedelta(hours=1),
        {
            "legal_advice": True,
            "disciplinary": False,
            "not_referred_reason": "",
            "staff_member": NO_ONE,
            "refer_to_regulator": False,
        },
    )
    return Breach.get_by_id(breach.id)


def _closed_near_miss() -> Breach:
    """A near miss walked to closed as the demo's is: every section of the report, short."""
    pat, lina, cal, ash, rita = (User.by_username(u) for u in ("pat", "lina", "cal", "ash", "rita"))
    now = clock.now()
    at = lambda hours: now - dt.timedelta(hours=hours)  # noqa: E731 - reads better inline
    with write_transaction():
        breach = Breach.open_case(
            {
                "what_happened": "A court bundle was left on the office printer and found by a"
                " colleague in the same team a few minutes later.",
                "happened_at": at(8),
                "discovered_at": at(8),
                "category": "near_miss",
                "data_categories": ["basic_identifiers"],
                "people_affected": 1,
                "records_affected": 1,
                "children_or_vulnerable": True,
                "special_category": False,
                "data_left_control": False,
            },
            pat,
            at(8),
            case_id="5550998",
        )
    steps = (
        (
            "notify",
            pat,
            7,
            {
                "notifications": _told_everyone("near_miss", at(7)),
                "media_advised": False,
                "media_reason": "Nothing left the office.",
            },
        ),
        (
            "assess_risk",
            lina,
            6,
            {
                "likelihood": 1,
                "severity": 2,
                "likely_outcomes": "None: the papers stayed in the team.",
                "actions_taken": "Team reminded to use secure print release.",
                "reportable_override": None,
                "reportable_reason": "Found by a colleague within minutes: no one outside saw it.",
                "grid": default_grid(),
            },
        ),
        ("skip_informing", lina, 5, {"skip_reason": "The papers never left the team's control."}),
        (
            "caldicott_agree",
            cal,
            4,
            {
                "caldicott_advice": "No referral or investigation: a team reminder is enough.",
                "agreed": True,
            },
        ),
        (
            "decide",
            ash,
            3,
            {
                "legal_advice": False,
                "disciplinary": False,
                "not_referred_reason": "",
                "staff_member": NO_ONE,
                "refer_to_regulator": False,
            },
        ),
        (
            "close",
            rita,
            2,
            {
                "report_complete": True,
                "lessons_learned": "Secure print release switched on for the team's printer.",
            },
        ),
    )
    for event, actor, hours, values in steps:
        _breach_step(breach, event, actor, at(hours), values)
    return Breach.get_by_id(breach.id)


def _content_lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines()]
    return [line for line in lines if line and not MARGIN_TEXT.fullmatch(line)]


def test_the_breach_report_prints_marked_and_numbered_with_headings_kept(page):
    breach = _long_case()
    sign_in(page, "rita")
    page.goto(f"/breaches/{breach.id}/report")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Breach {breach.reference}")
    longest = 0
    # Longer and longer descriptions move every section boundary down the pages, so that each
    # heading comes to the foot of a page in one of the prints.
    for lines in range(0, 48, 3):
        Breach.update(
            what_happened="A letter went to a previous address." + " The details." * 9 * lines
        ).where(Breach.id == breach.id).execute()
        page.reload()
        pdf = _pdf(page)
        count = len(pdf.pages)
        longest = max(longest, count)
        # pypdf reads a page's text slowly (most of this test's time): once a page.
        texts = [pdf_page.extract_text() for pdf_page in pdf.pages]
        for number, (pdf_page, text) in enumerate(zip(pdf.pages, texts, strict=True), start=1):
            assert _size_mm(pdf_page) == A4
            # The marking at the top and foot of every page, and where the page is.
            assert text.count("OFFICIAL-SENSITIVE") >= 2, (lines, number, text[:200])
            assert f"Page {number} of {count}" in text, (lines, number)
            content = _content_lines(text)
            # No empty page at the end, and no heading left at the foot of a page.
            assert content, f"page {number} of {count} is empty ({lines} lines)"
            assert content[-1] not in SECTION_HEADINGS, (lines, number, content[-3:])
        # The report ends with the last event of the timeline, not an empty block.
        assert "Decision recorded" in " ".join(_content_lines(texts[-1])[-2:])
    assert longest >= 3  # the report really ran over several pages


def _grid_pages(texts: list[str]) -> list[int]:
    """The pages (from 1) that hold a row of the risk grid (S5 at the top to S1)."""
    row = re.compile(r"^S[1-5] (This case: )?(No|Yes)\b", re.MULTILINE)
    return [n for n, text in enumerate(texts, start=1) for _ in row.findall(text)]


def test_reports_print_compactly_with_the_risk_grid_whole_on_one_page(page):
    sign_in(page, "rita")
    # Six pages each before the grid was made compact and the print 11 pt: a closed near miss
    # now fits two, a long decided case three.
    for breach, pages in ((_closed_near_miss(), 2), (_long_case(), 3)):
        page.goto(f"/breaches/{breach.id}/report")
        pdf = _pdf(page)
        assert len(pdf.pages) == pages, (breach.category, len(pdf.pages))
        texts = [p.extract_text() for p in pdf.pages]
        grid = _grid_pages(texts)
        assert len(grid) == 5 and len(set(grid)) == 1, grid
        text = " ".join(texts)
        # The key names each level in whole words; the headers' long words stay whole.
        assert "S5 Catastrophic" in text and "L4 Highly likely" in text
        assert "Catastrop\n" not in text
