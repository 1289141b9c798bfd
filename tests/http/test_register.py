"""The governance register over HTTP: who sees it, its filters, figures, chart and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest

from models.breaches import Breach

# Runs on PostgreSQL too: the register's queries (counts, medians, filters, export).
pytestmark = pytest.mark.postgres

REGISTER_ROLES = ("governance", "records_manager", "dpo", "caldicott_guardian")


@pytest.fixture
def staff(people):
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", "practitioner", manager=lina)
    mo = people.add("mo", "line_manager", team="Adults East")
    alex = people.add("alex", "practitioner", team="Adults East", manager=mo)
    people.add("dana", "director", team="Directorate")
    for n, role in enumerate(REGISTER_ROLES):
        people.add(f"ig{n}", role, team="Information Governance")
    return {"pat": pat, "alex": alex, "north": pat.team, "east": alex.team}


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def case(
    reference: str,
    reporter,
    discovered: str,
    *,
    category: str = "wrong_recipient",
    state: str = "reported",
    **times,
) -> Breach:
    """A case built by hand: times are naive UTC, given as ISO text or hours after discovery."""
    found = at(discovered)
    values = {
        k: found + dt.timedelta(hours=v) if isinstance(v, int | float) else at(v)
        for k, v in times.items()
    }
    return Breach.create(
        reference=reference,
        state=state,
        team=reporter.team_id,
        reported_by=reporter,
        reporter_manager=reporter.line_manager_id,
        reported_at=found,
        what_happened="Letter sent to an old address",
        happened_at=found,
        discovered_at=found,
        category=category,
        **values,
    )


@pytest.fixture
def cases(staff):
    pat, alex = staff["pat"], staff["alex"]
    return [
        # January 2026 (GMT): three cases, two referred to the ICO (one at exactly 72 hours).
        case(
            "BR-2026-0001",
            pat,
            "2026-01-05 09:00",
            state="closed",
            notified_at=10,
            assessed_at=24,
            informed_at=100,
            decided_at=200,
            closed_at=400,
            ico_referred_at=72,
            reportable=True,
        ),
        case(
            "BR-2026-0002",
            pat,
            "2026-01-20 09:00",
            category="loss",
            state="decided",
            notified_at=20,
            assessed_at=48,
            informed_at=120,
            decided_at=300,
            ico_referred_at=80,
            reportable=True,
        ),
        case(
            "BR-2026-0003",
            alex,
            "2026-01-28 12:00",
            category="near_miss",
            state="notified",
            notified_at=30,
        ),
        # None in February; March 31st 23:30 UTC is 1 April in London (BST).
        case("BR-2026-0004", alex, "2026-03-31 23:30", category="loss"),
    ]


def register(web, query: str = "", status: int = 200) -> str:
    return web.get(f"/register{query}", status=status).get_data(as_text=True)


def references(page: str) -> set[str]:
    table = page.split('id="register-cases"', 1)[1] if 'id="register-cases"' in page else ""
    return set(re.findall(r"BR-\d{4}-\d{4}", table))


@pytest.mark.parametrize("user", ["pat", "lina"])
def test_practitioner_and_line_manager_get_403_and_no_register_link(web, staff, user):
    web.sign_in(user)
    assert ">Register<" not in web.get("/").get_data(as_text=True)
    register(web, status=403)


def test_the_director_reads_the_register_but_does_not_download_it(web, cases):
    """The procedure's report goes to the Director: the register and its figures, not the
    spreadsheet, which stays with the roles that keep the register."""
    web.sign_in("dana")
    assert ">Register<" in web.get("/").get_data(as_text=True)
    page = register(web)
    assert len(references(page)) == 4
    assert 'id="register-csv"' not in page
    web.get("/breaches/register.csv", status=403)


@pytest.mark.parametrize("user", ["ig0", "ig1", "ig2", "ig3"])
def test_governance_roles_see_the_register_in_the_navigation(web, cases, user):
    web.sign_in(user)
    home = web.get("/").get_data(as_text=True)
    assert 'href="/register"' in home and ">Register<" in home
    page = register(web)
    assert references(page) == {"BR-2026-0001", "BR-2026-0002", "BR-2026-0003", "BR-2026-0004"}
    assert 'aria-current="page">Register<' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?state=closed", {"BR-2026-0001"}),
        ("?state=reported", {"BR-2026-0004"}),
        ("?category=loss", {"BR-2026-0002", "BR-2026-0004"}),
        ("?category=near_miss", {"BR-2026-0003"}),
        # Dates are UK calendar days of discovery, both ends included.
        ("?from-day=1&from-month=4&from-year=2026", {"BR-2026-0004"}),
        ("?to-day=31&to-month=3&to-year=2026", {"BR-2026-0001", "BR-2026-0002", "BR-2026-0003"}),
        (
            "?from-day=20&from-month=1&from-year=2026&to-day=28&to-month=1&to-year=2026",
            {"BR-2026-0002", "BR-2026-0003"},
        ),
        ("?category=loss&state=decided", {"BR-2026-0002"}),
    ],
)
def test_filters_narrow_the_register(web, cases, query, expected):
    web.sign_in("ig0")
    assert references(register(web, query)) == expected


def test_team_filter(web, staff, cases):
    web.sign_in("ig0")
    east = references(register(web, f"?team={staff['east'].id}"))
    assert east == {"BR-2026-0003", "BR-2026-0004"}
    page = register(web, f"?team={staff['north'].id}&category=loss")
    assert references(page) == {"BR-2026-0002"}
    assert f'<option value="{staff["north"].id}" selected' in page


def test_bad_filters_are_reported_not_ignored(web, cases):
    web.sign_in("ig0")
    page = register(web, "?from-day=31&from-month=2&from-year=2026&state=lost", status=422)
    assert "There is a problem" in page
    assert "The ‘from’ date must be a real date" in page
    assert "Select a stage from the list" in page
    page = register(
        web, "?from-day=2&from-month=2&from-year=2026&to-day=1&to-month=2&to-year=2026", status=422
    )
    assert "must be the same as or after the ‘from’ date" in page


def figures_text(page: str) -> str:
    """The figures section as plain text, for reading like a person would."""
    section = page.split('id="figures">', 1)[1].split("<h2", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", section)).split())


def test_figures_match_hand_worked_numbers(web, cases):
    web.sign_in("ig0")
    page = register(web)
    text = figures_text(page)
    assert "4 cases in the register" in page
    # Two referrals: 72 hours exactly is in time, 80 hours is late.
    assert "Referred to the ICO within 72 hours of discovery 50% (1 of 2 referrals)" in text
    # Time in each stage, in lifecycle order (reported at discovery): reported until told
    # 10, 20, 30 -> 20; told until assessed 14, 28 -> 21; assessed until the service user was
    # told 76, 72 -> 74; told until decided 100, 180 -> 140; decided until closed 200; the
    # whole case 400.
    stages = re.findall(r"\d\. ([^0-9]+?) (\d[^A-Z]*?) (\d+)(?= \d\.| Cases per month)", text)
    assert stages == [
        ("Discovered, until reported in Safekeep", "0 hours", "4"),
        ("Reported, until everyone on the list was told", "20 hours", "3"),
        ("Everyone told, until the risk was assessed", "21 hours", "2"),
        (
            "Risk assessed, until the service user was told (or not, with the reason)",
            "3.1 days (74 hours)",
            "2",
        ),
        ("Service user told, until the Assistant Director's decision", "5.8 days (140 hours)", "2"),
        ("Decided, until the case was closed", "8.3 days (200 hours)", "1"),
        ("The whole case: from discovery to closed", "16.7 days (400 hours)", "1"),
    ]
    # Cases per month: January 3, February 0, March 0, April 1.
    table = page.split('id="cases-per-month-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<th scope="row"[^>]*>([^<]+)</th><td[^>]*>(\d+)</td>', table)
    assert rows == [
        ("January 2026", "3"),
        ("February 2026", "0"),
        ("March 2026", "0"),
        ("April 2026", "1"),
    ]


def test_figures_follow_the_filters(web, staff, cases):
    web.sign_in("ig0")
    text = figures_text(register(web, "?category=loss"))
    assert text.startswith("2 cases matching these filters")
    assert "0% (0 of 1 referrals)" in text  # only the late referral is a loss
    page = register(web, "?category=other")
    assert figures_text(page).startswith("0 cases matching these filters")
    assert "No cases match these filters." in page and "<svg" not in page.split("<main", 1)[1]


def test_chart_is_inline_svg_with_labels_and_a_table_alternative(web, cases):
    web.sign_in("ig0")
    page = register(web)
    svg = page.split("<svg", 2)
    chart = next(part for part in svg if 'id="cases-per-month-chart"' in part).split("</svg>")[0]
    assert 'role="img"' in chart and 'aria-labelledby="chart-title chart-desc"' in chart
    assert '<title id="chart-title">Cases per month, January 2026 to April 2026</title>' in chart
    assert '<desc id="chart-desc">' in chart
    # Every bar carries its number as text, so the chart reads without colour.
    assert re.findall(r'font-size="12" fill="#0b0c0c">(\d+)</text>', chart) == ["3", "0", "0", "1"]
    assert "style=" not in chart and "<script" not in chart
    assert "Cases per month as a table" in page


def test_pagination_keeps_the_filters(web, staff):
    pat = staff["pat"]
    for n in range(30):
        case(f"BR-2025-{n + 1:04d}", pat, f"2025-06-{n % 28 + 1:02d} 10:00", category="theft")
    case("BR-2025-0031", pat, "2025-06-01 10:00", category="loss")
    web.sign_in("ig0")
    page = register(web, "?category=theft")
    assert len(references(page)) == 25
    assert "30 cases matching these filters" in page
    next_link = html.unescape(re.search(r'href="([^"]+)" rel="next"', page).group(1))
    assert "category=theft" in next_link and "page=2" in next_link
    second = register(web, next_link.removeprefix("/register"))
    assert len(references(second)) == 5 and "BR-2025-0031" not in references(second)
    assert "Page 2 of 2" in second


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_link_exports_the_same_filtered_cases(web, staff, cases):
    web.sign_in("ig1")
    page = register(web, f"?category=loss&team={staff['east'].id}")
    link = html.unescape(re.search(r'id="register-csv" href="([^"]+)"', page).group(1))
    assert "category=loss" in link and f"team={staff['east'].id}" in link
    response = web.get(link)
    assert response.mimetype == "text/csv"
    assert [r["Reference"] for r in csv_rows(response)] == ["BR-2026-0004"]
    everything = csv_rows(
        web.get(
            html.unescape(re.search(r'id="register-csv" href="([^"]+)"', register(web)).group(1))
        )
    )
    assert [r["Reference"] for r in everything] == [
        "BR-2026-0001",
        "BR-2026-0002",
        "BR-2026-0003",
        "BR-2026-0004",
    ]
    assert everything[0]["Within 72 hours"] == "yes" and everything[1]["Within 72 hours"] == "no"
    # Every yes/no column speaks one way: yes, no, or empty while there is no answer.
    yes_no_columns = [
        "Near miss",
        "Children or vulnerable adults",
        "Special category",
        "Reportable to ICO",
        "High risk",
        "ICO referred",
        "Within 72 hours",
        "Disciplinary",
    ]
    assert {row[c] for row in everything for c in yes_no_columns} == {"yes", "no", ""}
    assert everything[0]["Reportable to ICO"] == "yes" and everything[0]["Special category"] == "no"


def test_csv_refuses_bad_filters_and_people_outside_governance(web, new_web, cases):
    web.sign_in("ig0")
    web.get("/breaches/register.csv?state=nonsense", status=400)
    practitioner = new_web()
    practitioner.sign_in("pat")
    practitioner.get("/breaches/register.csv", status=403)
    director = new_web()  # sees every case, but the register is governance's (same as the page)
    director.sign_in("dana")
    director.get("/breaches/register.csv", status=403)


def figures_statements(statements) -> list[str]:
    """The statements that work the figures out: they read every case in the filter (the
    lessons by quarter, services/lessons.py, among them)."""
    return [sql for sql in statements.statements if "GROUP BY" in sql or '"hours"' in sql]


def test_figures_are_worked_out_again_only_after_a_case_changes(web, staff, cases, statements):
    # They read every case in the filter; kept while no case changes, a second view of the
    # same filter reads none of them, and any change (here a case reported) shows at once.
    web.sign_in("ig0")
    register(web, "?category=loss")
    with statements.counting():
        again = register(web, "?category=loss")
    assert figures_statements(statements) == []
    assert figures_text(again).startswith("2 cases matching these filters")

    case("BR-2026-0005", staff["pat"], "2026-04-02 09:00", category="loss")
    with statements.counting():
        changed = register(web, "?category=loss")
    assert figures_statements(statements)
    assert figures_text(changed).startswith("3 cases matching these filters")


def test_a_case_moved_on_or_erased_changes_the_figures_at_once(web, cases):
    web.sign_in("ig0")
    assert "4 cases in the register" in register(web)
    assert figures_text(register(web, "?state=closed")).startswith("1 case matching")
    Breach.update(state="closed").where(Breach.reference == "BR-2026-0004").execute()
    assert figures_text(register(web, "?state=closed")).startswith("2 cases matching")
    Breach.delete().where(Breach.reference == "BR-2026-0003").execute()
    assert "3 cases in the register" in register(web)
