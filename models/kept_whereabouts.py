"""Where a record's papers are, kept on the record row by the database: `where_papers_are`.

The papers are where the record's latest removal says (Record.whereabouts reads it). Finding
every record whose papers are destroyed that way means looking up the latest removal of each
candidate, and the destroyed ones pile up with the years, so the filtered list grew with
them. Here the answer is a column of the record, under an index in the list's order, moved by
the database's own triggers in the transaction of every removal added, deleted or changing
state: no write path (a transition, an import, the volume seed, retention) can forget it, and
a rolled-back change takes it back. It is always worked out again from the latest removal, not
from the row that changed, so the order in which removals change cannot leave it wrong.
"""

from __future__ import annotations

from machines.removal import PAPERS_GONE

# The stored removal states that say where papers are; any other (no removal, a request, a
# return) means in the office: as Record.whereabouts reads them.
KEPT = ("out", *sorted(PAPERS_GONE))
IN_OFFICE = "in_office"


def latest_whereabouts_sql(record_id: str) -> str:
    """SQL for where the papers of the record with this id (an SQL expression) are now."""
    cases = " ".join(f"WHEN '{state}' THEN '{state}'" for state in KEPT)
    return (
        f'COALESCE((SELECT CASE "latest"."state" {cases} ELSE \'{IN_OFFICE}\' END '
        f'FROM "removal" AS "latest" WHERE "latest"."record_id" = {record_id} '
        f'ORDER BY "latest"."id" DESC LIMIT 1), \'{IN_OFFICE}\')'
    )


def _set(record_id: str) -> str:
    return (
        f'UPDATE "record" SET "where_papers_are" = {latest_whereabouts_sql(record_id)} '
        f'WHERE "id" = {record_id};'
    )


def whereabouts_trigger_sql(postgres: bool) -> list[str]:
    """The statements that keep every record's `where_papers_are` as its removals change."""
    new, old = 'NEW."record_id"', 'OLD."record_id"'
    if not postgres:
        return [
            f'CREATE TRIGGER "removal_whereabouts_insert" AFTER INSERT ON "removal" BEGIN '
            f"{_set(new)} END",
            f'CREATE TRIGGER "removal_whereabouts_delete" AFTER DELETE ON "removal" BEGIN '
            f"{_set(old)} END",
            'CREATE TRIGGER "removal_whereabouts_state" AFTER UPDATE OF "state" ON "removal" '
            f'WHEN OLD."state" IS NOT NEW."state" BEGIN {_set(new)} END',
            'CREATE TRIGGER "removal_whereabouts_moved" AFTER UPDATE OF "record_id" ON "removal" '
            f"WHEN {old} IS NOT {new} BEGIN {_set(old)} {_set(new)} END",
        ]
    # Row by row: a bulk insert of several removals of one record ends with the latest one's
    # answer, as when they are added one at a time.
    moved = f"{old} IS DISTINCT FROM {new}"
    return [
        'CREATE OR REPLACE FUNCTION "removal_whereabouts"() RETURNS trigger LANGUAGE plpgsql AS '
        "$$ BEGIN "
        f"IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND {moved}) THEN {_set(old)} END IF; "
        f"IF TG_OP <> 'DELETE' THEN {_set(new)} END IF; "
        "RETURN NULL; END $$",
        'CREATE TRIGGER "removal_whereabouts" AFTER INSERT OR DELETE ON "removal" '
        'FOR EACH ROW EXECUTE FUNCTION "removal_whereabouts"()',
        'CREATE TRIGGER "removal_whereabouts_changed" AFTER UPDATE OF "state", "record_id" ON '
        '"removal" FOR EACH ROW WHEN (OLD."state" IS DISTINCT FROM NEW."state" OR '
        f'{moved}) EXECUTE FUNCTION "removal_whereabouts"()',
    ]
