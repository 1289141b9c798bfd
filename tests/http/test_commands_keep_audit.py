"""Every command the README tells an operator to run leaves `flask audit-verify` passing on a
database the application made: the demo council, then days and years of cron on it."""

from __future__ import annotations

import datetime as dt

from demo.accounts import DEMO_PASSWORD
from machines import clock
from tests.http.journeys.breaches import report


def verify(runner) -> None:
    result = runner.invoke(args=["audit-verify", "--no-checkpoint"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def run(runner, *args: str) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_each_operator_command_leaves_the_audit_trail_verifiable(mail_app, inbox, web):
    runner = mail_app.test_cli_runner()
    run(runner, "seed-demo", "--demo")
    verify(runner)
    # A case reported today, so cron announces it to the breach chain.
    web.sign_in("pat", password=DEMO_PASSWORD)
    assert report(web).status_code == 303
    run(runner, "send-reminders")
    assert inbox.messages, "the demo's cases and removals give cron something to send"
    verify(runner)
    run(runner, "send-reminders")  # cron twice: nothing new, still intact
    verify(runner)
    for days in (1, 3, 30):
        clock.travel(dt.timedelta(days=days))
        run(runner, "expire-agreements")
        run(runner, "send-reminders")
        run(runner, "audit-checkpoint")
        verify(runner)
    run(runner, "db-upgrade")
    verify(runner)
    created = runner.invoke(
        args=["create-user", "newcomer", "--name", "New Comer", "--staff-number", "99917",
              "--team", "Adults West", "--role", "practitioner", "--password-stdin"],
        input="Copper kettle harbour 42\n",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    verify(runner)
    clock.travel(dt.timedelta(days=365 * 7))
    run(runner, "apply-retention")
    verify(runner)
    run(runner, "send-reminders")
    run(runner, "expire-agreements")
    verify(runner)
