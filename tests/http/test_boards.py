"""The team board over HTTP: what each role sees, the polling fragment, filters kept."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from machines import clock
from models.breaches import Breach
from models.dispatches import Dispatch
from models.records import Record, Removal
from tests.http.journeys.custody import papers_held

# Runs on PostgreSQL too: the boards' list queries.
pytestmark = pytest.mark.postgres

BOARD_FRAGMENT = {"HX-Request": "true", "HX-Target": "board-body"}


@pytest.fixture
def board(people):
    """Two teams, each with a pending request, papers out (one overdue), a breach and a draft."""
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", "practitioner", manager=lina)
    sam = people.add("sam", "practitioner", manager=lina)
    mo = people.add("mo", "line_manager", team="Adults East")
    alex = people.add("alex", "practitioner", team="Adults East", manager=mo)
    dana = people.add("dana", "director", team="Directorate")
    now = clock.now()

    def removal(holder, description, state, due_in_days):
        return papers_held(
            holder,
            description,
            state,
            due_in_days,
            case_id="1000001",
            purpose="other",
            purpose_other="Home working",
            papers="Chronology",
            requested_at=now - dt.timedelta(days=10),
            taken_out_at=now - dt.timedelta(days=9) if state == "out" else None,
        )

    def breach(reporter, reference, state, discovered_hours_ago, **facts):
        return Breach.create(
            reference=reference,
            state=state,
            team=reporter.team_id,
            reported_by=reporter,
            reporter_manager=reporter.line_manager_id,
            reported_at=now,
            what_happened="Bag left on a train",
            happened_at=now,
            discovered_at=now - dt.timedelta(hours=discovered_hours_ago),
            **({"category": "loss", "police_reference": "CAD 123"} | facts),
        )

    def dispatch(drafter, description, state="drafted"):
        return Dispatch.create(
            team=drafter.team_id,
            case_id="1000002",
            description=description,
            state=state,
            method="secure_email",
            recipient_organisation="Family Court",
            recipient_role="Court clerk",
            address="clerk@court.example",
            drafted_by=drafter,
            drafted_at=now,
        )

    rows = {
        "north_pending": removal(pat, "North pending request", "requested", 5),
        "north_due": removal(sam, "North out not yet due", "out", 4),
        "north_overdue": removal(pat, "North out and overdue", "out", -3),
        "east_pending": removal(alex, "East pending request", "requested", 5),
        "east_overdue": removal(alex, "East out and overdue", "out", -2),
        "north_breach_new": breach(pat, "BR-NORTH-1", "reported", 10),
        "north_breach_notified": breach(sam, "BR-NORTH-2", "notified", 30),
        "east_breach": breach(alex, "BR-EAST-1", "risk_assessed", 5),
        "north_draft": dispatch(pat, "North court statement"),
        "north_checked": dispatch(sam, "North already checked", state="checked"),
        "east_draft": dispatch(alex, "East assessment report"),
    }
    people = {"lina": lina, "pat": pat, "sam": sam, "mo": mo, "alex": alex, "dana": dana}
    return {**people, **rows, "new_breach": breach}


def section(html: str, heading: str) -> str:
    """The HTML from an h2 to the next h2 (or the end)."""
    match = re.search(rf"<h2[^>]*>{re.escape(heading)}</h2>(.*?)(?=<h2|\Z)", html, re.S)
    assert match, f"no section {heading!r}"
    return match.group(1)


def figures(html: str) -> dict[str, int | str]:
    """The counts at the top of the board, label -> number (or the words, "more than 99")."""
    part = re.search(r'<dl class="app-figures">(.*?)</dl>', html, re.S).group(1)
    labels = re.findall(r'<dt class="app-figures__label">([^<]+)</dt>', part)
    values = re.findall(r'<dd class="app-figures__value">([^<]+)</dd>', part)
    said = [int(value) if value.isdigit() else value for value in values]
    return dict(zip(labels, said, strict=True))


def test_line_manager_sees_own_team_only(web, board):
    web.sign_in("lina")
    html = web.get("/board").get_data(as_text=True)
    assert "Team board: Children North" in html
    assert figures(html) == {
        "Waiting for approval": 1,
        "Papers out": 2,
        "Overdue": 1,
        "Open breach cases": 2,
        "Documents to check": 1,
    }

    pending = section(html, "Waiting for approval")
    assert f'href="/records/{board["north_pending"].record_id}">North pending request' in pending
    assert "East pending" not in html

    out = section(html, "Papers out of the office")
    # Overdue first, with how many days overdue; not-yet-due papers after, untagged.
    assert out.index("North out and overdue") < out.index("North out not yet due")
    assert "3 days overdue" in out
    assert out.count("days overdue") == 1
    assert "East out" not in html

    breaches = section(html, "Breach cases")
    assert "Reported: <strong>1</strong>" in breaches
    assert "Notified: <strong>1</strong>" in breaches
    assert "Risk assessed" not in breaches  # that stage is only Adults East's
    # Oldest first, each with its stage and the time left on the ICO's 72-hour clock.
    assert breaches.index("BR-NORTH-2") < breaches.index("BR-NORTH-1")
    assert "41 hours left to tell the ICO" in breaches  # discovered 30 h ago (41.99… left)
    assert "61 hours left to tell the ICO" in breaches  # discovered 10 h ago
    assert "BR-EAST" not in html

    checks = section(html, "Documents waiting for a second check")
    draft = board["north_draft"]
    assert f'href="/dispatches/{draft.id}">North court statement</a>' in checks
    assert "Pat Tester" in checks and ">1000002<" in checks
    assert "North already checked" not in html  # checked: no longer waiting
    assert "East assessment report" not in html
    assert "clerk@court.example" not in html  # the address never goes on a board


def test_line_manager_cannot_choose_another_team(web, board):
    web.sign_in("lina")
    east = board["alex"].team_id
    html = web.get(f"/board?team={east}").get_data(as_text=True)
    assert "East pending" not in html and "Team board: Children North" in html
    assert '<select class="govuk-select" id="team"' not in html


def test_director_sees_every_team_and_can_filter_one(web, board):
    web.sign_in("dana")
    html = web.get("/board").get_data(as_text=True)
    assert "Board: every team" in html
    assert figures(html) == {
        "Waiting for approval": 2,
        "Papers out": 3,
        "Overdue": 2,
        "Open breach cases": 3,
        "Documents to check": 2,
    }
    for text in (
        "North pending request",
        "East pending request",
        "BR-EAST-1",
        "BR-NORTH-1",
        "North court statement",
        "East assessment report",
    ):
        assert text in html
    checks = section(html, "Documents waiting for a second check")
    assert "Alex Tester, Adults East" in checks  # which team, when every team is shown
    out = section(html, "Papers out of the office")
    assert (
        out.index("North out and overdue")
        < out.index("East out and overdue")
        < out.index("North out not yet due")
    )

    east = board["alex"].team_id
    html = web.get(f"/board?team={east}").get_data(as_text=True)
    assert "Team board: Adults East" in html
    assert "North" not in section(html, "Waiting for approval")
    assert figures(html)["Documents to check"] == 1
    web.get("/board?team=999999", status=404)


def test_practitioner_gets_403_and_no_board_link(web, board):
    web.sign_in("pat")
    home = web.get("/").get_data(as_text=True)
    assert 'href="/board"' not in home
    html = web.get("/board", status=403).get_data(as_text=True)
    assert "North pending request" not in html
    fragment = web.get("/board", status=403, headers=BOARD_FRAGMENT).get_data(as_text=True)
    assert "North pending request" not in fragment


def test_board_link_in_the_navigation_for_managers(web, board):
    web.sign_in("lina")
    assert 'href="/board"' in web.get("/").get_data(as_text=True)


def test_polling_returns_only_the_fragment(web, board):
    web.sign_in("lina")
    page = web.get("/board")
    full = page.get_data(as_text=True)
    assert 'hx-trigger="every 30s, board-refresh"' in full and 'id="board-body"' in full
    # Not a live region: a screen reader would read the whole board again at every poll.
    assert "aria-live" not in re.search(r'<div id="board-body"[^>]*>', full).group(0)
    response = web.get("/board", headers=BOARD_FRAGMENT)
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and "<body" not in fragment and "<h1" not in fragment
    assert "govuk-header" not in fragment and 'id="board-body"' not in fragment
    assert "North pending request" in fragment and "North court statement" in fragment
    # Small: the board's content without the page around it (head, header, nav, footer).
    assert len(fragment.encode()) < len(full.encode()) - 3_000
    assert len(fragment.encode()) < 12_000
    assert "HX-Request" in response.headers.get("Vary", "")
    assert response.headers["Cache-Control"] == "no-store"


def test_polling_shows_changes_since_the_page_loaded(web, board):
    web.sign_in("lina")
    web.get("/board")
    board["north_pending"].__class__.update(state="approved_for_removal").where(
        Removal.id == board["north_pending"].id
    ).execute()
    fragment = web.get("/board", headers=BOARD_FRAGMENT).get_data(as_text=True)
    assert "North pending request" not in fragment
    assert figures(fragment)["Waiting for approval"] == 0


def test_a_history_restore_gets_the_full_page(web, board):
    web.sign_in("lina")
    html = web.get("/board", headers={**BOARD_FRAGMENT, "HX-History-Restore-Request": "true"})
    assert "<html" in html.get_data(as_text=True)


def test_polling_url_keeps_the_team_and_page(web, board, people):
    web.sign_in("dana")
    east = board["alex"].team_id
    html = web.get(f"/board?team={east}&page=1").get_data(as_text=True)
    poll = re.search(r'id="board-body" hx-get="([^"]+)"', html).group(1)
    assert poll.replace("&amp;", "&") == f"/board?team={east}&page=1"
    fragment = web.get(poll.replace("&amp;", "&"), headers=BOARD_FRAGMENT).get_data(as_text=True)
    assert "East pending request" in fragment and "North pending request" not in fragment


def test_pages_of_papers_out_keep_the_filter(web, board):
    alex = board["alex"]
    today = clock.uk_today()
    for n in range(30):
        record = Record.create(
            case_id=f"20000{n:02d}",
            description=f"East bundle {n:02d}",
            team=alex.team_id,
            created_by=alex,
        )
        Removal.create(
            record=record,
            team=alex.team_id,
            state="out",
            for_user=alex,
            requested_by=alex,
            purpose="court",
            papers="Bundle",
            due_on=today + dt.timedelta(days=n + 1),
        )
    web.sign_in("dana")
    east = alex.team_id
    html = web.get(f"/board?team={east}").get_data(as_text=True)
    assert "Page 1 of 2" in html
    next_link = (
        re.search(
            r'<a class="govuk-link govuk-pagination__link" href="([^"]+)" '
            r'rel="next"',
            html,
        )
        .group(1)
        .replace("&amp;", "&")
    )
    assert f"team={east}" in next_link and "page=2" in next_link
    second = web.get(next_link).get_data(as_text=True)
    assert "Page 2 of 2" in second and "Team board: Adults East" in second
    poll = re.search(r'id="board-body" hx-get="([^"]+)"', second).group(1).replace("&amp;", "&")
    assert f"team={east}" in poll and "page=2" in poll
    fragment = web.get(poll, headers=BOARD_FRAGMENT).get_data(as_text=True)
    assert "Page 2 of 2" in fragment


def test_board_statements_do_not_grow_with_drafts(web, board, statements):
    web.sign_in("dana")
    web.get("/board")
    with statements.counting():
        web.get("/board")
    before = statements.count
    pat = board["pat"]
    for n in range(15):
        Dispatch.create(
            team=pat.team_id,
            case_id="1000003",
            description=f"Extra draft {n}",
            method="special_delivery",
            recipient_organisation="School",
            recipient_role="Head teacher",
            address="1 High Street",
            drafted_by=board["sam" if n % 2 else "pat"],
            drafted_at=clock.now(),
        )
    with statements.counting():
        html = web.get("/board").get_data(as_text=True)
    assert statements.count == before
    assert figures(html)["Documents to check"] == 17
    assert "Showing the oldest 10 of 17" in html


def test_a_line_manager_sees_only_the_breach_cases_they_need_to_know(board, people, web):
    """A second manager in the team did not manage the reporters: no case on their board
    (the link would be a 404), though the team's removals are theirs to watch."""
    people.add("lee", "line_manager")  # Children North, manages nobody who reported
    web.sign_in("lee")
    page = web.get("/board").get_data(as_text=True)
    assert "BR-NORTH-1" not in page and "BR-NORTH-2" not in page
    assert figures(page)["Open breach cases"] == 0
    assert "North out and overdue" in page


def _head(table_html: str) -> list[str]:
    head = re.search(r"<thead.*?</thead>", table_html, re.S).group(0)
    return re.findall(r"<th[^>]*>\s*([^<]*?)\s*</th>", head)


def _row_of(section_html: str, text: str) -> list[str]:
    row = next(
        r
        for r in re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", section_html, re.S)
        if text in r
    )
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
    ]


def test_every_team_board_names_each_rows_team(web, board):
    web.sign_in("dana")
    html = web.get("/board").get_data(as_text=True)
    pending = section(html, "Waiting for approval")
    assert _head(pending) == ["Papers", "Team", "For", "Purpose", "Due"]
    assert _row_of(pending, "North pending request")[:3] == [
        "North pending request",
        "Children North",
        "Pat Tester",
    ]
    assert _row_of(pending, "East pending request")[:3] == [
        "East pending request",
        "Adults East",
        "Alex Tester",
    ]
    out = section(html, "Papers out of the office")
    assert _head(out) == ["Papers", "Team", "Holder", "Purpose", "Due", "Whereabouts confirmed"]
    assert _row_of(out, "East out and overdue")[:3] == [
        "East out and overdue",
        "Adults East",
        "Alex Tester",
    ]
    assert _row_of(out, "North out not yet due")[1] == "Children North"
    tasks = re.search(r'id="location-tasks">(.*?)</ul>', html, re.S).group(1)
    assert "with Pat Tester (Children North), 3 days overdue" in re.sub(r"<[^>]+>", "", tasks)
    # The polled fragment is the same board.
    fragment = web.get("/board", headers=BOARD_FRAGMENT).get_data(as_text=True)
    assert _head(section(fragment, "Waiting for approval"))[1] == "Team"


def test_one_team_boards_have_no_team_column(web, new_web, board):
    web.sign_in("dana")
    east = board["alex"].team_id
    html = web.get(f"/board?team={east}").get_data(as_text=True)
    assert _head(section(html, "Waiting for approval")) == ["Papers", "For", "Purpose", "Due"]
    assert _head(section(html, "Papers out of the office")) == [
        "Papers",
        "Holder",
        "Purpose",
        "Due",
        "Whereabouts confirmed",
    ]
    lina = new_web()
    lina.sign_in("lina")
    html = lina.get("/board").get_data(as_text=True)
    assert _head(section(html, "Waiting for approval")) == ["Papers", "For", "Purpose", "Due"]
    assert '<td class="govuk-table__cell">Children North</td>' not in html


def test_board_statements_do_not_grow_with_rows_from_more_teams(web, board, people, statements):
    web.sign_in("dana")
    web.get("/board")
    with statements.counting():
        web.get("/board")
    before = statements.count
    today = clock.uk_today()
    for n in range(8):  # a request and papers out in each of eight more teams
        holder = people.add(f"worker{n}", "practitioner", team=f"Team {n}")
        for state in ("requested", "out"):
            record = Record.create(
                case_id=f"30000{n}",
                description=f"Team {n} {state}",
                team=holder.team_id,
                created_by=holder,
            )
            Removal.create(
                record=record,
                team=holder.team_id,
                state=state,
                for_user=holder,
                requested_by=holder,
                purpose="court",
                papers="Bundle",
                due_on=today + dt.timedelta(days=n + 1),
                requested_at=clock.now(),
            )
    with statements.counting():
        html = web.get("/board").get_data(as_text=True)
    assert statements.count == before
    assert _row_of(section(html, "Papers out of the office"), "Team 7 out")[1] == "Team 7"


def test_confirm_location_tasks_show_the_ten_longest_overdue_and_say_there_are_more(web, board):
    for n in range(12):
        papers_held(board["pat"], f"Late bundle {n:02d}", due_in_days=-(20 + n))
    web.sign_in("lina")
    html = web.get("/board").get_data(as_text=True)
    tasks = re.search(r'id="location-tasks">(.*?)</ul>', html, re.S).group(1)
    shown = re.findall(r">(Late bundle \d\d|North out and overdue)</a>", tasks)
    assert shown == [f"Late bundle {n:02d}" for n in range(11, 1, -1)]  # longest overdue first
    assert 'More papers are this late: see <a class="govuk-link" href="#papers-out">' in html


def test_waiting_requests_and_open_cases_beyond_the_first_ten_are_counted(web, board):
    """The board lists the oldest ten of each and says how many there are in all."""
    web.sign_in("lina")
    assert "Showing the oldest" not in web.get("/board").get_data(as_text=True)  # all listed
    for n in range(10):
        papers_held(board["pat"], f"Waiting {n:02d}", "requested", requested_at=clock.now())
        board["new_breach"](board["pat"], f"BR-MORE-{n}", "reported", 0, category="near_miss")
    html = web.get("/board").get_data(as_text=True)
    assert "Showing the oldest 10 of 11." in section(html, "Waiting for approval")
    cases = section(html, "Breach cases")
    assert "Showing the oldest 10 of 12:" in cases and 'href="/breaches"' in cases


def many_cases(reporter, prefix: str, state: str, how_many: int) -> None:
    """`how_many` open cases reported by `reporter` at `state`, in one insert."""
    now = clock.now()
    Breach.insert_many(
        [
            {
                "reference": f"{prefix}-{n}",
                "state": state,
                "team": reporter.team_id,
                "reported_by": reporter.id,
                "reporter_manager": reporter.line_manager_id,
                "staff_member": reporter.id,
                "reported_at": now,
                "what_happened": "Letter sent to an old address",
                "happened_at": now,
                "discovered_at": now - dt.timedelta(hours=1),
                "category": "wrong_recipient",
                "version": 1,
            }
            for n in range(how_many)
        ]
    ).execute()


def test_a_line_managers_count_of_open_cases_stops_past_99_and_says_more_than(web, new_web, board):
    """A line manager's count at each stage reads no further than 100 of their reports' cases
    (models/breach_stages.py): past 99 the board says "more than 99", and the figure at the
    top "more than" the stages' sum. A director's, from the tally, is exact."""
    many_cases(board["pat"], "BR-MANY", "reported", 99)
    web.sign_in("lina")
    html = web.get("/board").get_data(as_text=True)
    cases = section(html, "Breach cases")
    # 99 and the one already there: at the bound exactly, still a number.
    assert "Reported: <strong>100</strong>" not in cases
    assert "Reported: <strong>more than 99</strong>" in cases
    assert "Notified: <strong>1</strong>" in cases
    assert figures(html)["Open breach cases"] == "more than 100"
    assert "Showing the oldest 10 of more than 100:" in cases

    dana = new_web()
    dana.sign_in("dana")
    html = dana.get("/board").get_data(as_text=True)
    cases = section(html, "Breach cases")
    assert "Reported: <strong>100</strong>" in cases
    assert figures(html)["Open breach cases"] == 102  # and Adults East's risk assessed one
    assert "Showing the oldest 10 of 102:" in cases


def test_a_line_managers_count_at_99_is_a_number(web, board):
    many_cases(board["pat"], "BR-MANY", "reported", 98)  # 99 with the one already there
    web.sign_in("lina")
    html = web.get("/board").get_data(as_text=True)
    assert "Reported: <strong>99</strong>" in section(html, "Breach cases")
    assert figures(html)["Open breach cases"] == 100


def test_the_boards_stages_follow_cases_however_they_are_written(web, board):
    """The open cases at each stage come from a tally the database keeps by stage and team
    (models/breach_stages.py): created, moved on, closed, moved to another team, deleted, or
    rolled back, a director's board says what the rows say."""
    from models.base import db
    from tests import invariants

    web.sign_in("dana")
    invariants.assert_board_stages_agree(web)
    north, east = board["north_breach_new"], board["east_breach"]
    Breach.update(state="notified").where(Breach.id == north.id).execute()
    Breach.update(state="closed", closed_at=clock.now()).where(
        Breach.id == board["north_breach_notified"].id
    ).execute()
    Breach.update(team=board["pat"].team_id).where(Breach.id == east.id).execute()
    with db.atomic() as transaction:  # taken back: the counts too
        Breach.update(state="decided").where(Breach.id == north.id).execute()
        many_cases(board["alex"], "BR-GONE", "reported", 3)
        transaction.rollback()
    invariants.assert_board_stages_agree(web)
    html = web.get("/board").get_data(as_text=True)
    assert invariants.board_stages(html) == {"Notified": 1, "Risk assessed": 1}
    assert figures(html)["Open breach cases"] == 2
    north_team = web.get(f"/board?team={board['pat'].team_id}").get_data(as_text=True)
    assert figures(north_team)["Open breach cases"] == 2  # Adults East's case moved here

    Breach.delete().where(Breach.id == east.id).execute()
    many_cases(board["alex"], "BR-EAST-MORE", "reported", 2)
    invariants.assert_board_stages_agree(web)
    assert invariants.board_stages(web.get("/board").get_data(as_text=True)) == {
        "Reported": 2,
        "Notified": 1,
    }
