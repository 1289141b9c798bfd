"""The register at volume: figures counted by the database, the CSV streamed.

The figures, counted by the database, are the figures the Python defines.

services/register_figures.py defines each figure as a pure function over the cases' raw
timestamps (checked against hand-worked numbers in tests/unit/test_register_figures.py);
the page asks the database instead (`figures_of`), in two statements at any volume. Here
both are asked about the same cases, at volume and at the edges (a month's last hour on
summer time and on winter time, a referral exactly 72 hours after discovery), on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from demo.accounts import DEMO_PASSWORD
from demo.volume import seed_volume
from models.breaches import Breach
from models.people import Team, User
from services.register_figures import COLUMNS, figures_of, register_figures
from tests.http.conftest import seeded_once
from views import breach_reports

# Runs on PostgreSQL too: the register's queries at volume.
pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def python_figures(query):
    rows = query.select(*(getattr(Breach, column) for column in COLUMNS)).tuples()
    return register_figures(list(rows))


def edge_case(reference: str, discovered: dt.datetime, **stamps) -> Breach:
    pat = User.by_username("pat")
    return Breach.create(
        reference=reference,
        state="decided",
        team=pat.team_id,
        reported_by=pat.id,
        reported_at=discovered,
        what_happened="Edge case",
        happened_at=discovered,
        discovered_at=discovered,
        category="other",
        **{name: discovered + dt.timedelta(hours=hours) for name, hours in stamps.items()},
    )


@pytest.fixture
def cases(app, request):
    seeded_once(request, "register-at-volume", _seed_cases)


def _seed_cases():
    seed_volume(removals=0, breaches=400)
    # London is on summer time on 31 March 2026 (a case then is April's), not on 31 October.
    edge_case("EDGE-1", dt.datetime(2026, 3, 31, 23, 30), notified_at=10, ico_referred_at=72)
    edge_case(
        "EDGE-2",
        dt.datetime(2026, 10, 31, 23, 30),
        notified_at=20,
        ico_referred_at=72 + 1 / 3600,  # a second late
    )
    edge_case("EDGE-3", dt.datetime(2026, 6, 30, 22, 59), notified_at=31, assessed_at=40)


@pytest.mark.parametrize(
    "narrow",
    [
        lambda q: q,
        lambda q: q.where(Breach.category == "loss"),
        lambda q: q.where(Breach.state == "closed"),
        lambda q: q.where(Breach.reference.startswith("EDGE")),
        lambda q: q.where(Breach.team == Team.get(Team.name == "Adults East").id),
        lambda q: q.where(Breach.category == "no such category"),
    ],
    ids=["all", "loss", "closed", "edges", "one team", "none"],
)
def test_the_databases_figures_are_the_defined_figures(cases, narrow):
    query = narrow(Breach.select())
    counted, defined = figures_of(query), python_figures(query)
    assert (counted.total, counted.months, counted.ico) == (
        defined.total,
        defined.months,
        defined.ico,
    )
    for mine, theirs in zip(counted.medians, defined.medians, strict=True):
        assert (mine.stage, mine.cases) == (theirs.stage, theirs.cases)
        # SQLite keeps times to the millisecond; the definition to the microsecond.
        assert mine.hours == pytest.approx(theirs.hours, abs=1e-5)


def test_the_edges_fall_where_london_and_the_72_hours_put_them(cases):
    figures = figures_of(Breach.select().where(Breach.reference.startswith("EDGE")))
    months = dict(figures.months)
    assert months[dt.date(2026, 4, 1)] == 1 and dt.date(2026, 3, 1) not in months
    assert months[dt.date(2026, 10, 1)] == 1 and months[dt.date(2026, 6, 1)] == 1
    assert (figures.ico.referred, figures.ico.within) == (2, 1)
    stages = {median.stage: median for median in figures.medians}
    # Reported when discovered, everyone told after 10, 20 and 31 hours; EDGE-3 assessed 9
    # hours after that.
    assert (stages["reported"].hours, stages["reported"].cases) == (20, 3)
    assert (stages["notified"].hours, stages["notified"].cases) == (9, 1)


def test_the_figures_cost_two_statements_at_any_volume(cases, statements):
    with statements.counting():
        figures_of(Breach.select())
    assert statements.count == 2


def test_the_csv_streams_every_case_once_in_order_a_batch_at_a_time(
    cases, new_web, statements, monkeypatch
):
    # Cases discovered at the same moment straddle the batches: each comes once all the same.
    for n in range(7):
        edge_case(f"SAME-{n}", dt.datetime(2026, 5, 1, 12, 0))
    monkeypatch.setattr(breach_reports, "CSV_BATCH", 4)
    gov = new_web()
    gov.sign_in("gov", DEMO_PASSWORD)

    def selects() -> int:
        # PostgreSQL's lock for appending to the audit chain is a SELECT too: not a read.
        return sum(
            sql.lstrip().startswith("SELECT") and "pg_advisory_xact_lock" not in sql
            for sql in statements.statements
        )

    with statements.counting():
        response = gov.client.get("/breaches/register.csv")
        chunks = iter(response.response)
        first = [next(chunks), next(chunks)]  # the header, then the first batch
        before = selects()
        rest = list(chunks)
        after = selects()
    assert response.is_streamed
    # The first rows went out after one batch was read (the session with its roles, and the
    # audit chain's head for the record of the export, before), not after the whole register.
    assert before <= 3 < after
    rows = list(csv.DictReader(io.StringIO(b"".join(first + rest).decode())))
    order = Breach.select(Breach.reference).order_by(Breach.discovered_at, Breach.id)
    assert [row["Reference"] for row in rows] == [b.reference for b in order]
    assert len(rows) > 400
