"""The command line: `flask --app app <command>`, one click command per function.

`init_app` registers them all (flaskr's pattern). Each command imports what it needs when it
runs, so a web worker does not load the demo data or the backup code it never uses.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from machines import clock
from models.base import db


def _refuse_unless_demo(asked: bool) -> None:
    """Demo data has accounts with a published password: never on a database by accident."""
    if asked or os.environ.get("SAFEKEEP_DEMO") == "1":
        return
    raise click.ClickException(
        "This creates demo accounts whose password is published. Only on a demo database: "
        "add --demo, or set SAFEKEEP_DEMO=1 (`make run` does)."
    )


@click.command("db-upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Create the schema, or upgrade an older database step by step (safe to run again)."""
    from models.migrations import MigrationError, upgrade

    try:
        result = upgrade()
    except MigrationError as error:
        raise click.ClickException(str(error)) from None
    if result.before is None:
        click.echo(f"Created an empty database at schema version {result.after}.")
        return
    for done in result.applied:
        click.echo(f"  {done.number}: {done.title}")
    if result.applied:
        click.echo(f"Upgraded from schema version {result.before} to {result.after}.")
    else:
        click.echo(f"Database ready (schema version {result.after}); nothing to upgrade.")


@click.command("init-db")
@click.pass_context
@with_appcontext
def init_db(ctx: click.Context) -> None:
    """The old name of db-upgrade (create or upgrade the schema)."""
    ctx.invoke(db_upgrade)


@click.command("create-user")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Display name")
@click.option("--staff-number", required=True)
@click.option("--team", required=True, help="Team name (created if new)")
@click.option("--role", "roles", multiple=True, required=True, help="Repeat for several")
@click.option("--manager", default=None, help="Username of the line manager")
@click.option("--email", default=None, help="Work email address, for reminders")
@click.option(
    "--profession",
    default=None,
    help="social_worker, occupational_therapist, other_hcpc or unregistered",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
@with_appcontext
def create_user(
    username,
    display_name,
    staff_number,
    team,
    roles,
    manager,
    email,
    profession,
    password_stdin,
):
    """Create a staff account; the password is prompted for unless --password-stdin."""
    from services.accounts import UserInputError, add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        add_user(
            username,
            display_name,
            staff_number,
            team,
            roles,
            manager,
            password,
            email=email,
            profession=profession,
        )
    except UserInputError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {username}.")


@click.command("seed-demo")
@click.option("--demo", "asked", is_flag=True, help="Yes, this is a demo database")
@with_appcontext
def seed_demo_command(asked: bool) -> None:
    """Fill an empty database with a demo council (two teams, every role): demo only."""
    from demo.accounts import DEMO_PASSWORD, seed_demo
    from models import create_schema

    _refuse_unless_demo(asked)
    create_schema()
    if seed_demo():
        from demo.activity import seed_demo_activity

        seed_demo_activity()
        click.echo(f"Demo council created. Every demo account's password: {DEMO_PASSWORD}")
    else:
        click.echo("The database already has users; nothing added.")


@click.command("seed-volume")
@click.option("--removals", default=100_000, show_default=True, type=click.IntRange(0))
@click.option("--breaches", default=10_000, show_default=True, type=click.IntRange(0))
@click.option("--demo", "asked", is_flag=True, help="Yes, this is a demo database")
@with_appcontext
def seed_volume_command(removals: int, breaches: int, asked: bool) -> None:
    """Add years of synthetic removals and breach cases (and the demo accounts): demo only."""
    from demo.volume import seed_volume
    from models import create_schema

    _refuse_unless_demo(asked)
    create_schema()
    result = seed_volume(removals=removals, breaches=breaches)
    click.echo(
        f"Added {result.records:,} records, {result.removals:,} removals and "
        f"{result.breaches:,} breach cases in {result.seconds:.1f} s."
    )


@click.command("demo-sign-ins")
@with_appcontext
def demo_sign_ins() -> None:
    """Print the demo accounts to sign in with."""
    from demo.accounts import DEMO_PASSWORD, demo_accounts

    click.echo(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
    for username, roles in demo_accounts():
        click.echo(f"  {username:<14} {roles}")


@click.command("audit-verify")
@click.option(
    "--no-checkpoint",
    is_flag=True,
    help="Do not append a checkpoint of the head when everything holds",
)
@with_appcontext
def audit_verify(no_checkpoint: bool) -> None:
    """Check the audit trail: chain, HMACs, checkpoints and lifecycle rows; exit 1 on harm."""
    from services.audit_anchor import verify_audit, write_checkpoint

    path = Path(current_app.config["AUDIT_CHECKPOINT_FILE"])
    report = verify_audit(path)
    if not report.intact:
        lines = []
        if report.chain:
            first = report.chain[0]
            lines.append(
                f"Audit chain BROKEN at event {first.event_id} ({first.what}): {first.why}."
            )
            lines.extend(f"  event {p.event_id} ({p.what}): {p.why}" for p in report.chain[1:20])
            if len(report.chain) > 20:
                lines.append(f"  ... and {len(report.chain) - 20} more problems")
        if report.anchor:
            lines.append("Audit trail does not match its checkpoints outside the database:")
            lines.extend(f"  {problem}" for problem in report.anchor)
        if report.lifecycle:
            lines.append("Rows do not match their audit events:")
            lines.extend(f"  {problem}" for problem in report.lifecycle)
        click.echo("\n".join(lines), err=True)
        sys.exit(1)
    hash_only = (
        f", {report.hash_only} of them from before HMACs, checked by hash only"
        if report.hash_only
        else ""
    )
    click.echo(
        f"Audit chain intact: {report.events} events checked{hash_only}; "
        f"{report.checkpoints} checkpoints hold; {report.rows} lifecycle rows match "
        "their events."
    )
    for note in report.restores:
        click.echo(note[0].upper() + note[1:] + ".")
    if not report.checkpoints:
        click.echo(
            f"No checkpoints in {path.name} yet: deleting the newest events cannot be "
            "detected until there are. Run `flask audit-checkpoint` from cron."
        )
    if not no_checkpoint:
        point = write_checkpoint(path)
        click.echo(f"Checkpoint written: event {point.event_id}, {point.events} events.")


@click.command("audit-checkpoint")
@with_appcontext
def audit_checkpoint() -> None:
    """Append a signed checkpoint of the audit chain's head outside the database (cron)."""
    from machines.security_log import security_event
    from models.audit import AuditEvent, hmac_key
    from services.audit_anchor import read_checkpoints, write_checkpoint

    path = Path(current_app.config["AUDIT_CHECKPOINT_FILE"])
    checkpoints, _ = read_checkpoints(path, hmac_key())
    if checkpoints and checkpoints[-1].event_id:
        # Never checkpoint over a cut: the last checkpoint's event must still be there.
        last = checkpoints[-1]
        found = AuditEvent.get_or_none(AuditEvent.id == last.event_id)
        if found is None or found.hash != last.hash:
            security_event("audit_checkpoint_refused", event_id=last.event_id)
            raise click.ClickException(
                f"Event {last.event_id}, recorded by the last checkpoint ({last.at}), is "
                "gone or changed. No checkpoint written: run `flask audit-verify`."
            )
    point = write_checkpoint(path)
    click.echo(f"Checkpoint written: event {point.event_id}, {point.events} events.")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists")
@with_appcontext
def backup_command(path: Path, force: bool) -> None:
    """Copy the SQLite database to PATH while the app runs, and check the copy."""
    from models.base import is_postgres
    from services.backup import BackupError, backup

    if is_postgres():
        raise click.ClickException(
            "This database is PostgreSQL: back it up with pg_dump, for example "
            'pg_dump --format=custom --file=safekeep.dump "$DATABASE_URL" '
            "(README: Backups)."
        )
    try:
        done = backup(path, overwrite=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Backed up to {done.path} ({done.size:,} bytes): integrity ok, audit chain "
        f"intact ({done.audit_events} events)."
    )


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite a database that has tables")
@with_appcontext
def restore_command(path: Path, replace: bool) -> None:
    """Check a backup made by `backup` and copy it into the configured SQLite database."""
    from models.base import is_postgres
    from services.backup import BackupError, restore

    if is_postgres():
        raise click.ClickException(
            "This database is PostgreSQL: restore with pg_restore (README: Backups)."
        )
    try:
        done = restore(path, replace=replace)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored {path} (schema version {done.schema_version}).")
    _mark_restored()
    click.echo("Next: flask --app app db-upgrade, then flask --app app audit-verify.")


@click.command("audit-restored")
@with_appcontext
def audit_restored() -> None:
    """Record that the database was restored from a backup (after pg_restore): checkpoints
    of events after the backup's newest are set aside, not taken for a truncated trail."""
    _mark_restored()


def _mark_restored() -> None:
    from services.audit_anchor import write_restore_mark

    mark, set_aside = write_restore_mark(Path(current_app.config["AUDIT_CHECKPOINT_FILE"]))
    click.echo(f"Audit checkpoints: the restore is recorded at event {mark.event_id}.")
    if set_aside:
        which = (
            "1 later checkpoint is" if len(set_aside) == 1 else f"{len(set_aside)} later ones are"
        )
        click.echo(f"{which} set aside: events after event {mark.event_id} were not in the backup.")


@click.command("apply-retention")
@click.option("--dry-run", is_flag=True, help="Count what is due, change nothing")
@with_appcontext
def apply_retention_command(dry_run: bool) -> None:
    """Erase the free text of cases, removals and dispatches past RETENTION_YEARS (audited)."""
    from services.retention import apply_retention

    result = apply_retention(clock.now(), current_app.config["RETENTION_YEARS"], dry_run=dry_run)
    if dry_run:
        click.echo(
            f"Due (nothing changed): {result.breaches} breach cases, {result.removals} "
            f"removals, {result.dispatches} dispatches, {result.agreements} remote working "
            f"agreements, {result.audit_events} audit events."
        )
        return
    click.echo(result.summary())


@contextmanager
def _connected():
    """The database for a cron command: opened for it, and closed after only if it was."""
    opened_here = db.is_closed()
    db.connect(reuse_if_open=True)
    try:
        yield
    finally:
        if opened_here:
            db.close()


@click.command("send-reminders")
@with_appcontext
def send_reminders_command() -> None:
    """Email the reminders now due, each once however many servers run this (for cron)."""
    from models.reminders import SettingError
    from services.mail import MailerUnavailable, mailer_for
    from services.reminders import send_reminders, summary

    try:
        with _connected(), mailer_for(current_app.config) as mailer:
            mailer.connect()  # an unreachable server fails the run even when nothing is due
            counts = send_reminders(
                clock.now(),
                mailer,
                current_app.config["REMINDER_BASE_URL"],
                current_app.config["REMINDER_CONFIRM_AFTER_DAYS"],
            )
    except MailerUnavailable as error:
        raise click.ClickException(f"{error}. Unsent reminders go on the next run.") from None
    except SettingError as error:
        raise click.ClickException(str(error)) from None
    click.echo(summary(counts))
    if counts["failed"]:
        sys.exit(1)


@click.command("poll-notify")
@with_appcontext
def poll_notify_command() -> None:
    """Ask GOV.UK Notify about messages with no delivery receipt yet, and raise the breach
    chain's undelivered ones (for cron, every few minutes; a run asks about a bounded few)."""
    from services.deliveries import poll, raise_overdue
    from services.mail import MailerUnavailable, mailer_for

    if not current_app.config["NOTIFY_API_KEY"]:
        with _connected():
            raised = raise_overdue(clock.now())
        click.echo(
            f"GOV.UK Notify is not set up (NOTIFY_API_KEY): nothing to ask. Raised: {raised}."
        )
        return
    try:
        with _connected(), mailer_for(current_app.config) as notify:
            counts = poll(clock.now(), notify.status_of)
    except MailerUnavailable as error:
        raise click.ClickException(f"{error}. The next run asks again.") from None
    click.echo(
        f"Delivery receipts asked for: {counts['asked']}, changed: {counts['changed']}; "
        f"undelivered e-mails raised: {counts['raised']}."
    )


@click.command("expire-agreements")
@with_appcontext
def expire_agreements_command() -> None:
    """Expire remote working agreements whose end date has passed (for cron)."""
    from services.remote_working import expire_agreements

    with _connected():
        expired = expire_agreements(clock.now())
    click.echo(f"Remote working agreements expired: {expired}.")


@click.command("update-readme")
@with_appcontext
def update_readme() -> None:
    """Regenerate the lifecycle diagrams (README, docs/lifecycles.md) from the machines."""
    from machines.diagrams import DIAGRAM_FILES, render_readme

    for name in DIAGRAM_FILES:
        path = Path(current_app.root_path) / name
        text = path.read_text(encoding="utf-8")
        updated = render_readme(text)
        if updated == text:
            click.echo(f"{name}: diagrams already match the machines.")
            continue
        path.write_text(updated, encoding="utf-8")
        click.echo(f"{name}: diagrams regenerated from the machines.")


COMMANDS = (
    db_upgrade,
    init_db,
    create_user,
    seed_demo_command,
    seed_volume_command,
    demo_sign_ins,
    audit_verify,
    audit_checkpoint,
    backup_command,
    restore_command,
    audit_restored,
    apply_retention_command,
    send_reminders_command,
    poll_notify_command,
    expire_agreements_command,
    update_readme,
)


def init_app(app: Flask) -> None:
    """Register every command on the app."""
    for command in COMMANDS:
        app.cli.add_command(command)
