"""Training reminders (issue 26, item 1): 30 days before the training lapses to the person; on
the day it lapses to them and their line manager; each once, however many runs; a link only."""

from __future__ import annotations

import datetime as dt

import pytest

from machines import clock
from machines.training import add_months
from models.people import User
from tests.http.journeys.mail import BASE_URL

pytestmark = pytest.mark.postgres


@pytest.fixture
def staff(people):
    lina = people.add("lina", "line_manager")
    # Lapses in 31 days: one day before the first reminder is due.
    trained_on = add_months(clock.uk_today() + dt.timedelta(days=31), -12)
    pat = people.add("pat", "practitioner", manager=lina, trained_on=trained_on)
    people.add("sam", "practitioner", manager=lina)  # trained today: nothing for a year
    people.add("nora", "practitioner", manager=lina, trained_on=None)  # nothing to lapse
    return {"lina": lina, "pat": pat}


def run_ok(app) -> str:
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    return result.output


def days_later(days: int) -> None:
    clock.travel(dt.timedelta(days=days))


def body(msg) -> str:
    return msg.get_content().replace("\r\n", "\n")


def test_reminded_30_days_before_then_on_the_day_with_the_line_manager(mail_app, inbox, staff):
    pat = staff["pat"]
    lapses_on = add_months(pat.trained_on, 12)
    assert run_ok(mail_app) and inbox.received() == []
    days_later(1)
    output = run_ok(mail_app)
    assert inbox.received() == [
        ("pat@council.example", "Safekeep: your data protection training lapses soon")
    ]
    assert "1 training lapsing" in output
    text = body(inbox.to("pat@council.example")[0])
    assert f"lapses on {lapses_on:%A} {lapses_on.day} {lapses_on:%B %Y}" in text
    assert f"{BASE_URL}/account\n" in text
    inbox.clear()
    run_ok(mail_app)  # the same day again: nothing twice
    days_later(10)
    run_ok(mail_app)  # still lapsing: the one reminder was enough
    assert inbox.received() == []
    days_later(20)  # the day it lapses
    run_ok(mail_app)
    assert sorted(inbox.received()) == [
        ("lina@council.example", "Safekeep: data protection training lapsed in your team"),
        ("pat@council.example", "Safekeep: your data protection training has lapsed"),
    ]
    to_lina = body(inbox.to("lina@council.example")[0])
    assert f"{BASE_URL}/\n" in to_lina
    for msg in (to_lina, body(inbox.to("pat@council.example")[0])):
        assert "Pat" not in msg and "Tester" not in msg
    inbox.clear()
    days_later(1)
    run_ok(mail_app)
    assert inbox.received() == []


def test_training_again_starts_the_reminders_again(mail_app, inbox, staff):
    pat = staff["pat"]
    days_later(1)
    run_ok(mail_app)
    assert len(inbox.received()) == 1
    inbox.clear()
    # Trained again, and a year on the new date lapses within 30 days in turn.
    User.update(trained_on=clock.uk_today()).where(User.id == pat.id).execute()
    days_later(340)
    run_ok(mail_app)
    assert inbox.to("pat@council.example")[0]["Subject"] == (
        "Safekeep: your data protection training lapses soon"
    )


def test_a_lapse_long_ago_is_not_news(mail_app, inbox, staff, people):
    people.add("old", "practitioner", trained_on=add_months(clock.uk_today(), -30))
    run_ok(mail_app)
    assert "old@council.example" not in [to for to, _ in inbox.received()]
