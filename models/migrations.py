"""Numbered schema migrations: `flask --app app db-upgrade` brings a database to this code's
schema and keeps every row. `make run`, `init-db` and the deployment files run it too.

How it works
------------
- `schema_version` holds one row per version reached, with when.
- A database with no tables at all is created from the models as they are now and stamped
  with the latest version: steps exist for databases that already hold data.
- An older database runs each missing step in order, each in its own transaction together
  with its `schema_version` row: a failed step leaves the database at the last whole step,
  and running the command again carries on from there. (PostgreSQL's DDL is transactional;
  so is SQLite's. On SQLite foreign keys are off during a step, because a column change
  rebuilds the table, and `PRAGMA foreign_key_check` must find nothing before it commits.)
- Two processes upgrading at once (two containers starting) take turns: SQLite's
  BEGIN IMMEDIATE, a PostgreSQL advisory lock. Each re-reads the version inside the lock, so
  a step never runs twice.
- A database newer than the code (a rollback of the code after an upgrade) is refused.

How to add a migration
----------------------
1. Change the model in models/.
2. At the end of this module add the next number (other branches may add one at the same
   time: whoever merges second renumbers theirs; two steps with one number fail at import):

       @step(3, "removal.note: a free-text note kept with a removal")
       def _removal_note(m: Migration) -> None:
           m.add_column("removal", "note", TextField(null=True))

   `m.add_column` adds a column to a table that has rows: NULL columns are a plain
   ALTER TABLE; a NOT NULL column needs a `default`, which is written into every existing
   row first. Anything else playhouse.migrate offers goes through `m.run(m.migrator.<op>)`
   (rename_column, add_not_null, add_index, drop_column, ...); data changes through
   `m.sql(...)`. On SQLite many of those rebuild the table (copy, drop, rename) with its
   indexes; tests/http/test_migrations.py upgrades a database full of data through them.
3. A new table: declare it inside the step as it is on that day (`class Thing(m.Model)`)
   and call `m.create_tables(Thing)`. Never import the app's models into a step: they
   change later, and a step must always do exactly what it did the day it landed.
4. Never edit a step that has landed on main; add another.

`tests/http/test_migrations.py` fails when a model's table differs between a fresh
database and an upgraded one, i.e. when a model changed without a step.
"""

from __future__ import annotations

from peewee import (
    BooleanField,
    CharField,
    CompositeKey,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from models.breach_stages import make_in_step as make_breach_stage_tally
from models.kept_whereabouts import latest_whereabouts_sql, whereabouts_trigger_sql
from models.migration_runner import (  # noqa: F401 - what the rest of the app imports from here
    STEPS,
    Migration,
    MigrationError,
    Step,
    current_version,
    latest,
    step,
    upgrade,
)
from models.removal_tallies import backfill_sql as removal_tally_backfill_sql
from models.removal_tallies import removal_tally_trigger_sql
from models.tallies import tally_trigger_sql

# -- The steps, oldest first -----------------------------------------------------------------


@step(2, "kiosk_failure: failed identifications at each team-base kiosk")
def _kiosk_failure(m: Migration) -> None:
    class User(m.Model):
        pass

    class KioskFailure(m.Model):
        kiosk = ForeignKeyField(User, backref="kiosk_failures", on_delete="CASCADE")
        at = DateTimeField()

        class Meta:
            indexes = ((("kiosk", "at"), False),)

    m.create_tables(KioskFailure)


@step(3, "user.profession: the professional regulator a breach decision refers to")
def _user_profession(m: Migration) -> None:
    m.add_column("user", "profession", CharField(null=True))


@step(4, "heartbeat: the row /healthz rewrites to show the database takes writes")
def _heartbeat(m: Migration) -> None:
    class Heartbeat(m.Model):
        at = DateTimeField()

    m.create_tables(Heartbeat)


@step(5, "retention: erased_at on breach, removal and dispatch; erased_by on audit_event")
def _retention(m: Migration) -> None:
    for table in ("breach", "removal", "dispatch"):
        m.add_column(table, "erased_at", DateTimeField(null=True))
    m.add_column("audit_event", "erased_by", IntegerField(null=True))


@step(6, "kiosk_session: who is identified at each kiosk, kept on the server, not the cookie")
def _kiosk_session(m: Migration) -> None:
    class User(m.Model):
        pass

    class UserSession(m.Model):
        pass

    class KioskSession(m.Model):
        session = ForeignKeyField(UserSession, unique=True, on_delete="CASCADE")
        person = ForeignKeyField(User, on_delete="CASCADE")
        started_at = DateTimeField()
        last_input_at = DateTimeField()

    # People identified at a kiosk at upgrade time (in the old cookie) identify again.
    m.create_tables(KioskSession)


@step(7, "user_session.ended_reason: why a sign-in ended, for the sign-in page")
def _session_ended_reason(m: Migration) -> None:
    m.add_column("user_session", "ended_reason", CharField(null=True, max_length=20))


@step(8, "audit_event.entity_version and .hmac: events sealed with a key kept outside")
def _audit_hmac(m: Migration) -> None:
    # Existing events keep neither: they are verified by hash only, up to the first event
    # written with an HMAC (models/audit.py); their rows are checked by counting events.
    m.add_column("audit_event", "entity_version", IntegerField(null=True))
    m.add_column("audit_event", "hmac", CharField(null=True, max_length=64))


@step(9, "counter: breach references numbered from a locked counter row, not COUNT+1")
def _counter(m: Migration) -> None:
    class Counter(m.Model):
        series = CharField(primary_key=True, max_length=40)
        last = IntegerField(default=0)

    m.create_tables(Counter)


@step(
    10,
    "breach: police officer and time told, who recorded telling the line manager, the ICO "
    "referral's teller, the risk rationale, the Caldicott Guardian's agreement, whose conduct "
    "is in question, facts not known yet; notification: sent by email",
)
def _breach_handling(m: Migration) -> None:
    class User(m.Model):
        pass

    def person() -> ForeignKeyField:
        return ForeignKeyField(User, null=True, field=User.id)

    for column, column_field in (
        ("police_officer", CharField(null=True)),
        ("police_told_at", DateTimeField(null=True)),
        ("line_manager_told_by_id", person()),
        ("line_manager_told_at", DateTimeField(null=True)),
        ("staff_member_id", person()),
        ("reportable_reason", TextField(null=True)),
        ("ico_told_by", CharField(null=True)),
        ("ico_recorded_by_id", person()),
        ("caldicott_agreed_by_id", person()),
        ("caldicott_agreed_at", DateTimeField(null=True)),
        ("caldicott_advice", TextField(null=True)),
    ):
        m.add_column("breach", column, column_field)
    m.run(
        m.migrator.drop_not_null("breach", "children_or_vulnerable"),
        m.migrator.drop_not_null("breach", "special_category"),
        m.migrator.drop_not_null("notification", "recorded_by_id"),
    )
    m.add_column("notification", "emailed", BooleanField(default=False))
    # Whose conduct was in question: the holder of lost papers, the sender of a misdirected
    # dispatch, otherwise the reporter (as cases opened from now on record it).
    m.sql(
        'UPDATE "breach" SET "staff_member_id" = COALESCE('
        '(SELECT "for_user_id" FROM "removal" WHERE "removal"."id" = "breach"."removal_id"), '
        '(SELECT COALESCE("sent_by_id", "drafted_by_id") FROM "dispatch" '
        'WHERE "dispatch"."id" = "breach"."dispatch_id"), "reported_by_id")'
    )


@step(11, "removal.approval_route: who a request asked to agree it (own, team, fallback)")
def _removal_approval_route(m: Migration) -> None:
    m.add_column("removal", "approval_route", CharField(null=True, max_length=20))
    # Requests already waiting keep an approver: their line manager when they have one, else
    # the fallback (an Assistant Director or Director), so none is stranded by the upgrade.
    m.sql(
        "UPDATE removal SET approval_route = CASE WHEN requester_manager_id IS NULL "
        "THEN 'fallback' ELSE 'own_manager' END WHERE state = 'requested'"
    )


@step(12, "removal: more time and confirmed whereabouts; reminder.round restarts the ladder")
def _removal_extension_and_location(m: Migration) -> None:
    class User(m.Model):
        pass

    for column, column_field in (
        ("extension_due_on", DateField(null=True)),
        ("extension_reason", TextField(null=True)),
        ("extension_asked_at", DateTimeField(null=True)),
        ("extended_at", DateTimeField(null=True)),
        ("location_where", TextField(null=True)),
        ("location_confirmed_how", CharField(null=True, max_length=20)),
        ("location_confirmed_on", DateField(null=True)),
        ("location_confirmed_by_id", ForeignKeyField(User, null=True, field=User.id)),
        ("ladder_from", DateField(null=True)),
        ("reminder_round", IntegerField(default=0)),
    ):
        m.add_column("removal", column, column_field)
    m.add_column("reminder", "round", IntegerField(default=0))
    m.run(
        m.migrator.drop_index("reminder", "reminder_kind_subject_type_subject_id_recipient_id"),
        m.migrator.add_index(
            "reminder", ("kind", "subject_type", "subject_id", "recipient_id", "round"), True
        ),
    )


@step(13, "removal.witnessed_by: the member of staff who saw the papers destroyed")
def _removal_witnessed_by(m: Migration) -> None:
    class User(m.Model):
        pass

    m.add_column("removal", "witnessed_by_id", ForeignKeyField(User, null=True, field=User.id))


@step(14, "removal.returned_by: who brought the papers back (a colleague, at the kiosk)")
def _removal_returned_by(m: Migration) -> None:
    class User(m.Model):
        pass

    m.add_column("removal", "returned_by_id", ForeignKeyField(User, null=True, field=User.id))


@step(15, "remote_agreement: agreements to work on records remotely, until a date")
def _remote_agreement(m: Migration) -> None:
    class Team(m.Model):
        pass

    class User(m.Model):
        pass

    class RemoteAgreement(m.Model):
        version = IntegerField(default=1)
        team = ForeignKeyField(Team, backref="remote_agreements")
        state = CharField(default="draft", index=True)
        for_user = ForeignKeyField(User, backref="remote_agreements")
        requested_by = ForeignKeyField(User)
        requester_manager = ForeignKeyField(User, null=True)
        approval_route = CharField(null=True, max_length=20)
        place = CharField(max_length=200, default="")
        why = TextField(default="")
        ends_on = DateField(null=True)
        asked_at = DateTimeField(null=True)
        decided_by = ForeignKeyField(User, null=True)
        decided_at = DateTimeField(null=True)
        decision_note = TextField(null=True)
        withdrawn_by = ForeignKeyField(User, null=True)
        withdrawn_at = DateTimeField(null=True)
        withdraw_reason = TextField(null=True)
        closed_at = DateTimeField(null=True)

        class Meta:
            table_name = "remote_agreement"
            indexes = ((("team", "state", "ends_on"), False), (("for_user", "state"), False))

    m.create_tables(RemoteAgreement)


@step(
    16,
    "accounts: user.must_change_password and .version, team.retired_at, user_session.via, "
    "password_reset",
)
def _accounts(m: Migration) -> None:
    m.add_column("user", "must_change_password", BooleanField(default=False))
    m.add_column("user", "version", IntegerField(default=1))
    m.add_column("team", "retired_at", DateTimeField(null=True))
    m.add_column("user_session", "via", CharField(null=True, max_length=10))

    class User(m.Model):
        pass

    class PasswordReset(m.Model):
        token_digest = CharField(unique=True)
        user = ForeignKeyField(User, backref="password_resets", on_delete="CASCADE")
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = DateTimeField()
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)

    m.create_tables(PasswordReset)


@step(17, "case-system IDs stored in capitals, as they are typed in now")
def _case_ids_in_capitals(m: Migration) -> None:
    # Searches compare the stored ID with the normalised term: an index lookup, no UPPER().
    for table in ("record", "dispatch", "breach"):
        m.sql(
            f'UPDATE "{table}" SET "case_id" = UPPER(TRIM("case_id")) '
            f'WHERE "case_id" IS NOT NULL AND "case_id" != UPPER(TRIM("case_id"))'
        )


@step(
    18,
    "indexes for the lists and boards at volume (each finds its rows in index order): approvals "
    "by route, asks for more time, remote agreements, where every record is, the register",
)
def _list_indexes(m: Migration) -> None:
    indexes = {
        "removal_open_for_user": ("removal", ("for_user_id",), '"closed_at" IS NULL'),
        "removal_team_id_state_requested_at": (
            "removal",
            ("team_id", "state", "requested_at"),
            None,
        ),
        "removal_state_requested_at": ("removal", ("state", "requested_at"), None),
        "removal_state_due_on": ("removal", ("state", "due_on"), None),
        "removal_requester_manager_id_state_team_id_requested_at": (
            "removal",
            ("requester_manager_id", "state", "team_id", "requested_at"),
            None,
        ),
        "removal_approval_route_state_requested_at": (
            "removal",
            ("approval_route", "state", "requested_at"),
            None,
        ),
        "removal_for_user_id_decided_at": ("removal", ("for_user_id", "decided_at"), None),
        "removal_more_time_team": (
            "removal",
            ("team_id", "state"),
            '"extension_due_on" IS NOT NULL',
        ),
        "removal_more_time_manager": (
            "removal",
            ("requester_manager_id", "state", "team_id"),
            '"extension_due_on" IS NOT NULL',
        ),
        "removal_more_time_route": (
            "removal",
            ("approval_route", "state"),
            '"extension_due_on" IS NOT NULL',
        ),
        "record_team_id_case_id_description": (
            "record",
            ("team_id", "case_id", "description"),
            None,
        ),
        "remote_agreement_requester_manager_id_state_team_id": (
            "remote_agreement",
            ("requester_manager_id", "state", "team_id"),
            None,
        ),
        "remote_agreement_approval_route_state": (
            "remote_agreement",
            ("approval_route", "state"),
            None,
        ),
        "breach_open": ("breach", ("discovered_at",), '"closed_at" IS NULL'),
        "breach_open_state": ("breach", ("state",), '"closed_at" IS NULL'),
        "breach_open_reported_by": (
            "breach",
            ("reported_by_id", "discovered_at"),
            '"closed_at" IS NULL',
        ),
        "breach_open_reporter_manager": (
            "breach",
            ("reporter_manager_id", "discovered_at"),
            '"closed_at" IS NULL',
        ),
    }
    for name, (table, columns, where) in indexes.items():
        listed = ", ".join(f'"{column}"' for column in columns)
        m.sql(
            f'CREATE INDEX "{name}" ON "{table}" ({listed})' + (f" WHERE {where}" if where else "")
        )


@step(19, "remote_agreement.erased_at: agreements come under the retention policy too")
def _agreement_retention(m: Migration) -> None:
    m.add_column("remote_agreement", "erased_at", DateTimeField(null=True))


@step(20, "removal_for_user_id_decided_at only over decided removals: never chosen for open ones")
def _decided_index_partial(m: Migration) -> None:
    # Without statistics SQLite took the full index for "this person's open removals" and read
    # every removal they ever held; partial, it cannot serve that query, so the open index does.
    m.sql('DROP INDEX "removal_for_user_id_decided_at"')
    m.sql(
        'CREATE INDEX "removal_for_user_id_decided_at" ON "removal" ("for_user_id", "decided_at") '
        'WHERE "decided_at" IS NOT NULL'
    )


@step(21, "breach: the summary for the ICO, written with no personal data, and the steps taken")
def _ico_summary(m: Migration) -> None:
    class User(m.Model):
        pass

    for column, column_field in (
        ("ico_summary", TextField(null=True)),
        ("ico_late_reason", TextField(null=True)),
        ("containment_actions", TextField(null=True)),
        ("ico_summary_by_id", ForeignKeyField(User, null=True, field=User.id)),
        ("ico_summary_at", DateTimeField(null=True)),
    ):
        m.add_column("breach", column, column_field)


@step(22, "user_session.device: the browser in words, so a person can tell their sessions apart")
def _session_device(m: Migration) -> None:
    m.add_column("user_session", "device", CharField(null=True, max_length=40))


@step(
    23, "user.trained_on and training_exception: data protection training in date where the risk is"
)
def _training(m: Migration) -> None:
    m.add_column("user", "trained_on", DateField(null=True))

    class User(m.Model):
        pass

    class TrainingException(m.Model):
        person = ForeignKeyField(User, backref="training_exceptions", on_delete="CASCADE")
        allowed_by = ForeignKeyField(User)
        allowed_at = DateTimeField()
        reason = TextField()
        used_at = DateTimeField(null=True)
        used_by_removal = IntegerField(null=True)

        class Meta:
            table_name = "training_exception"

    m.create_tables(TrainingException)
    m.sql(
        'CREATE UNIQUE INDEX "training_exception_one_open_per_person" ON "training_exception" '
        '("person_id") WHERE "used_at" IS NULL'
    )


@step(
    24,
    "the ICO's follow-through (ico_item; breach.ico_outcome...) and the actions that prevent "
    "the next breach (breach_action)",
)
def _follow_through(m: Migration) -> None:
    class User(m.Model):
        pass

    class Breach(m.Model):
        pass

    for column, column_field in (
        ("ico_outcome", CharField(null=True, max_length=20)),
        ("ico_outcome_on", DateField(null=True)),
        ("ico_outcome_note", TextField(null=True)),
        ("ico_outcome_by_id", ForeignKeyField(User, null=True, field=User.id)),
        ("ico_outcome_at", DateTimeField(null=True)),
    ):
        m.add_column("breach", column, column_field)

    class IcoItem(m.Model):
        version = IntegerField(default=1)
        breach = ForeignKeyField(Breach, backref="ico_items")
        state = CharField(default="draft", index=True)
        kind = CharField(max_length=20, default="")
        asked = TextField(default="")
        received_on = DateField(null=True)
        due_on = DateField(null=True)
        due_change_reason = TextField(null=True)
        recorded_by = ForeignKeyField(User, null=True)
        recorded_at = DateTimeField(null=True)
        answer = TextField(null=True)
        answered_on = DateField(null=True)
        answered_by = ForeignKeyField(User, null=True)
        answered_at = DateTimeField(null=True)
        erased_at = DateTimeField(null=True)

        class Meta:
            table_name = "ico_item"
            indexes = ((("state", "due_on"), False),)

    class BreachAction(m.Model):
        version = IntegerField(default=1)
        breach = ForeignKeyField(Breach, backref="actions")
        state = CharField(default="draft", index=True)
        category = CharField(max_length=20, default="")
        description = CharField(max_length=500, default="")
        owner = ForeignKeyField(User, null=True, backref="breach_actions")
        due_on = DateField(null=True)
        added_by = ForeignKeyField(User, null=True)
        added_at = DateTimeField(null=True)
        evidence = TextField(null=True)
        not_needed_reason = TextField(null=True)
        closed_by = ForeignKeyField(User, null=True)
        closed_at = DateTimeField(null=True)
        erased_at = DateTimeField(null=True)

        class Meta:
            table_name = "breach_action"
            indexes = ((("owner", "state", "due_on"), False), (("state", "due_on"), False))

    m.create_tables(IcoItem, BreachAction)


@step(25, "delivery: what became of each e-mail (SMTP sent, or GOV.UK Notify's receipt)")
def _delivery(m: Migration) -> None:
    class User(m.Model):
        pass

    class Delivery(m.Model):
        kind = CharField(max_length=20)
        subject_type = CharField(max_length=10)
        subject_id = IntegerField()
        recipient = ForeignKeyField(User, backref="deliveries", on_delete="CASCADE")
        round = IntegerField(default=0)
        channel = CharField(max_length=10)
        notify_id = CharField(max_length=36, null=True, unique=True)
        status = CharField(max_length=20)
        attempts = IntegerField(default=1)
        sent_at = DateTimeField(null=True)
        status_at = DateTimeField()
        raised_at = DateTimeField(null=True)
        followed_up_at = DateTimeField(null=True)
        version = IntegerField(default=1)

        class Meta:
            indexes = (
                (("kind", "subject_type", "subject_id", "recipient", "round"), True),
                (("subject_type", "subject_id"), False),
                (("status", "sent_at"), False),
                (("raised_at",), False),
            )

    m.create_tables(Delivery)
    m.add_column(
        "notification",
        "delivery_id",
        ForeignKeyField(Delivery, null=True, field=Delivery.id, on_delete="SET NULL"),
    )


@step(26, "indexes for lists that stop at the page's end; the breach table's change stamp")
def _lists_flat_with_volume(m: Migration) -> None:
    indexes = {
        "removal_open_for_user_state_due": (
            "removal",
            '"for_user_id", "state", "due_on", "id"',
            '"closed_at" IS NULL',
        ),
        "removal_open_for_user_due": (
            "removal",
            '"for_user_id", "due_on", "id"',
            '"closed_at" IS NULL',
        ),
        "removal_holder_state_team": ("removal", '"for_user_id", "state", "team_id"', None),
        "breach_closed_reported_by": (
            "breach",
            '"reported_by_id", "discovered_at" DESC, "id"',
            '"closed_at" IS NOT NULL',
        ),
        "breach_closed_reporter_manager": (
            "breach",
            '"reporter_manager_id", "discovered_at" DESC, "id"',
            '"closed_at" IS NOT NULL',
        ),
        "breach_category_discovered": ("breach", '"category", "discovered_at", "id"', None),
        "breach_state_discovered": ("breach", '"state", "discovered_at", "id"', None),
        "breach_team_discovered": ("breach", '"team_id", "discovered_at", "id"', None),
    }
    for name, (table, columns, where) in indexes.items():
        m.sql(
            f'CREATE INDEX "{name}" ON "{table}" ({columns})' + (f" WHERE {where}" if where else "")
        )
    # Every change to a breach sets a new random stamp, in its own transaction (the register
    # keeps its figures until the stamp moves): models/counters.py.
    _stamp_triggers(m, "breach", "breach-changes")


def _stamp_triggers(m: Migration, table: str, series: str) -> None:
    """Triggers that set a new random stamp of `series` on every change to `table`, and its
    first stamp, as steps 26 and 27 made them (frozen here: a later change is a new step)."""
    upsert = (
        f'INSERT INTO "counter" ("series", "last") VALUES (\'{series}\', {{stamp}}) '
        'ON CONFLICT ("series") DO UPDATE SET "last" = excluded."last";'
    )
    name = f"{table}_stamps_{series.replace('-', '_')}"
    if m.is_postgres:
        stamp = upsert.format(stamp="floor(random() * 2147483646)::integer + 1")
        m.sql(
            f'CREATE OR REPLACE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS '
            f"$$ BEGIN {stamp} RETURN NULL; END $$"
        )
        m.sql(
            f'CREATE TRIGGER "{name}" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
            f'ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION "{name}"()'
        )
    else:
        stamp = upsert.format(stamp="abs(random() % 2147483646) + 1")
        for event in ("INSERT", "UPDATE", "DELETE"):
            m.sql(
                f'CREATE TRIGGER "{name}_{event.lower()}" AFTER {event} ON "{table}" '
                f"BEGIN {stamp} END"
            )
    m.sql(upsert.format(stamp="1").rstrip(";"))


@step(
    27,
    "the actions table's change stamp (the register keeps its lessons by quarter); records and "
    "breach cases tallied per team by the database (a list's total without counting it)",
)
def _action_changes_and_tallies(m: Migration) -> None:
    # As step 26's breach stamp: every change to an action sets a new random stamp in its own
    # transaction, so the lessons by quarter are worked out again after any of them.
    _stamp_triggers(m, "breach_action", "breach-action-changes")

    class Tally(m.Model):
        counted = CharField(max_length=40)
        team_id = IntegerField()
        total = IntegerField(default=0)

        class Meta:
            primary_key = CompositeKey("counted", "team_id")

    m.create_tables(Tally)
    # The triggers as models/tallies.py writes them on this day (a later change to them is a
    # step that drops these by name and makes the new ones). Made before the backfill: on
    # PostgreSQL, CREATE TRIGGER holds off other writers to the table until this step commits,
    # so no row is added between the count and the trigger that counts the next one.
    for table in ("record", "breach"):
        for statement in tally_trigger_sql(table, m.is_postgres):
            m.sql(statement)
        m.sql(
            'INSERT INTO "tally" ("counted", "team_id", "total") '
            f'SELECT \'{table}\', "team_id", COUNT(*) FROM "{table}" GROUP BY "team_id"'
        )


@step(
    28,
    "record.where_papers_are: where each record's papers are, kept by the database from its "
    "latest removal, under an index in the list's order (the list filtered to destroyed papers)",
)
def _kept_whereabouts(m: Migration) -> None:
    m.sql(
        'ALTER TABLE "record" ADD COLUMN "where_papers_are" VARCHAR(12) NOT NULL '
        "DEFAULT 'in_office'"
    )
    m.sql(
        'CREATE INDEX "record_team_whereabouts" ON "record" '
        '("team_id", "where_papers_are", "case_id", "description")'
    )
    # The triggers as models/kept_whereabouts.py writes them on this day (a later change to
    # them is a step that drops these by name). Made before the backfill: on PostgreSQL,
    # CREATE TRIGGER holds off other writers to removals until this step commits.
    for statement in whereabouts_trigger_sql(m.is_postgres):
        m.sql(statement)
    now = latest_whereabouts_sql('"record"."id"')
    m.sql(f'UPDATE "record" SET "where_papers_are" = {now}')


@step(
    29,
    "indexes of each person's breach cases as their holder (open, closed; newest first), and "
    "of the cases that name no holder by reporter",
)
def _cases_by_holder(m: Migration) -> None:
    m.sql(
        'CREATE INDEX "breach_open_staff_member" ON "breach" ("staff_member_id", "discovered_at")'
        ' WHERE "closed_at" IS NULL'
    )
    m.sql(
        'CREATE INDEX "breach_closed_staff_member" ON "breach" '
        '("staff_member_id", "discovered_at" DESC, "id") WHERE "closed_at" IS NOT NULL'
    )
    m.sql(
        'CREATE INDEX "breach_no_staff_member_reported_by" ON "breach" '
        '("reported_by_id", "discovered_at" DESC, "id") WHERE "staff_member_id" IS NULL'
    )


@step(30, "remote_agreement: no index on the team alone (the team, state and end date one serves)")
def _remote_agreement_team_index(m: Migration) -> None:
    m.sql('DROP INDEX "remote_agreement_team_id"')


@step(
    31,
    "removal_tally: each team's removals by state and due date, kept by the database's "
    "triggers (a board's figures, overdue among them, without reading the open removals)",
)
def _removal_tally(m: Migration) -> None:
    class RemovalTally(m.Model):
        state = CharField(max_length=30)
        team_id = IntegerField()
        due_on = DateField()
        total = IntegerField(default=0)

        class Meta:
            table_name = "removal_tally"
            primary_key = CompositeKey("state", "team_id", "due_on")

    m.create_tables(RemovalTally)
    # The triggers as models/removal_tallies.py writes them on this day (a later change to
    # them is a step that drops these by name). Made before the backfill: on PostgreSQL,
    # CREATE TRIGGER holds off other writers to removals until this step commits, so no
    # removal changes between the count and the trigger that counts the next change.
    for statement in removal_tally_trigger_sql(m.is_postgres):
        m.sql(statement)
    m.sql(removal_tally_backfill_sql())


@step(
    32,
    "indexes of each person's open breach cases by state, as reporter and as the reporter's "
    "manager, in the order of discovery (what waits for them on their home page)",
)
def _open_cases_by_person_and_state(m: Migration) -> None:
    for name, column in (
        ("breach_open_reported_by_state", "reported_by_id"),
        ("breach_open_reporter_manager_state", "reporter_manager_id"),
    ):
        m.sql(
            f'CREATE INDEX "{name}" ON "breach" ("{column}", "state", "discovered_at", "id") '
            'WHERE "closed_at" IS NULL'
        )


@step(33, "breach_stage_tally: open breach cases by stage and team, kept by triggers")
def _breach_stage_tally(m: Migration) -> None:
    make_breach_stage_tally(m)  # models/breach_stages.py, with the index a line manager's needs


@step(34, "remote_agreement: (state, end date, id), the every-team board's agreements in force")
def _remote_agreement_state_ends_on(m: Migration) -> None:
    m.sql(
        'CREATE INDEX "remote_agreement_state_ends_on_id" ON "remote_agreement" '
        '("state", "ends_on", "id")'
    )
