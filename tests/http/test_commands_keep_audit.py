"""Every command the README tells an operator to run leaves `flask audit-verify` passing on a
database the application made: the demo council, then days and years of cron on it."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from demo.accounts import DEMO_PASSWORD
from machines import clock
from tests.conftest import close_database, pg_bin_or_skip
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


# -- backup and restore ----------------------------------------------------------------------


def trail_moves_on_and_is_checkpointed(runner, web) -> None:
    """After the backup: a case reported, cron e-mails about it and checkpoints the trail (every
    five minutes in production), so the checkpoints name events the backup does not hold."""
    web.sign_in("pat", password=DEMO_PASSWORD)
    assert report(web).status_code == 303
    run(runner, "send-reminders")
    run(runner, "audit-checkpoint")


def restored_verifies(runner) -> None:
    """The README's steps after a restore, then audit-verify as an operator runs it (it writes
    a checkpoint), and the trail goes on from the restored head."""
    run(runner, "db-upgrade")
    said = run(runner, "audit-verify")
    assert "set aside by the restore" in said, said
    run(runner, "send-reminders")
    run(runner, "audit-checkpoint")
    verify(runner)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_database_restored_from_last_nights_backup_verifies(
    mail_app, inbox, web, backend, tmp_path
):
    runner = mail_app.test_cli_runner()
    run(runner, "seed-demo", "--demo")
    run(runner, "audit-checkpoint")
    backup = tmp_path / "safekeep-backup.db"
    run(runner, "backup", str(backup))
    verify(runner)
    trail_moves_on_and_is_checkpointed(runner, web)
    verify(runner)
    said = run(runner, "restore", str(backup), "--replace")
    assert "Restored" in said
    restored_verifies(runner)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_postgresql_database_restored_with_pg_restore_verifies(
    mail_app, inbox, web, backend, tmp_path
):
    runner = mail_app.test_cli_runner()
    run(runner, "seed-demo", "--demo")
    run(runner, "audit-checkpoint")
    source = mail_app.config["DATABASE_URL"]
    dump = tmp_path / "safekeep.dump"
    pg = pg_bin_or_skip()
    # The README's commands, as a council's IT team would run them.
    subprocess.run(
        [pg / "pg_dump", "--format=custom", f"--file={dump}", source],
        check=True,
        capture_output=True,
    )
    trail_moves_on_and_is_checkpointed(runner, web)
    verify(runner)
    close_database()
    subprocess.run(
        [pg / "pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={source}", dump],
        check=True,
        capture_output=True,
    )
    said = run(runner, "audit-restored")
    assert "set aside" in said, said
    restored_verifies(runner)
