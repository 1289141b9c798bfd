"""How many rows a big table has, per team, kept by the database: a list's total without a pass
over every row in scope.

A `COUNT` of a team's records, or of every breach case, reads each row it counts: at a million
records the total alone costs more than the page it heads. Here each (table, team) has one row
holding its number, moved by the database's own triggers in the transaction of every insert,
delete or change of team, so no write path can forget it and a rolled-back change takes its
count back with it. Two servers creating at once cannot lose a count: the trigger's
`INSERT ... ON CONFLICT DO UPDATE SET total = total + n` locks the tally row until that
transaction ends (a row lock on PostgreSQL, the write lock of BEGIN IMMEDIATE on SQLite), so
the second adds to what the first left. On PostgreSQL inserts and deletes are counted once
per statement (a bulk import moves each team's row once, in team order, so that two imports
cannot deadlock); a change of team once per row that changes team.
"""

from __future__ import annotations

from collections.abc import Iterable

from peewee import CharField, CompositeKey, IntegerField, fn

from models.base import BaseModel

# The tables counted (each has a team_id column).
TALLIED = ("record", "breach")


class Tally(BaseModel):
    """How many rows of the table `counted` belong to the team `team_id`."""

    counted = CharField(max_length=40)
    team_id = IntegerField()
    total = IntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("counted", "team_id")

    @classmethod
    def of(cls, table: str, teams: Iterable[int] | None = None) -> int:
        """How many rows `table` has in these teams (every team: None); one row read a team."""
        query = cls.select(fn.COALESCE(fn.SUM(cls.total), 0)).where(cls.counted == table)
        if teams is not None:
            query = query.where(cls.team_id.in_(list(teams)))
        return query.scalar()


def tally_trigger_sql(table: str, postgres: bool) -> list[str]:
    """The statements that keep `table`'s tally as its rows are added, removed or moved."""
    name = f"{table}_tally"

    def add(team: str, how_many: str, source: str = "") -> str:
        return (
            f'INSERT INTO "tally" ("counted", "team_id", "total") '
            f"SELECT '{table}', {team}, {how_many}{source} "
            'ON CONFLICT ("counted", "team_id") DO UPDATE SET "total" = "tally"."total" + '
            'excluded."total";'
        )

    def take(team: str, how_many: str) -> str:
        return (
            f'UPDATE "tally" SET "total" = "total" - {how_many} '
            f'WHERE "counted" = \'{table}\' AND "team_id" = {team};'
        )

    old_team, new_team = 'OLD."team_id"', 'NEW."team_id"'
    moved = f'AFTER UPDATE OF "team_id" ON "{table}" FOR EACH ROW'
    if not postgres:
        # SQLite's upsert needs a WHERE after a SELECT to tell its ON from a join's.
        return [
            f'CREATE TRIGGER "{name}_insert" AFTER INSERT ON "{table}" BEGIN '
            f"{add(new_team, '1', ' WHERE true')} END",
            f'CREATE TRIGGER "{name}_delete" AFTER DELETE ON "{table}" BEGIN '
            f"{take(old_team, '1')} END",
            f'CREATE TRIGGER "{name}_move" {moved} WHEN {old_team} IS NOT {new_team} BEGIN '
            f"{take(old_team, '1')} {add(new_team, '1', ' WHERE true')} END",
        ]
    per_team = ' FROM "{rows}" GROUP BY "team_id" ORDER BY "team_id"'
    function = 'CREATE OR REPLACE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
    return [
        function.format(name=f"{name}_insert")
        + add('"team_id"', "COUNT(*)", per_team.format(rows="added"))
        + " RETURN NULL; END $$",
        f'CREATE TRIGGER "{name}_insert" AFTER INSERT ON "{table}" REFERENCING NEW TABLE AS '
        f'"added" FOR EACH STATEMENT EXECUTE FUNCTION "{name}_insert"()',
        function.format(name=f"{name}_delete")
        + f'UPDATE "tally" SET "total" = "tally"."total" - "gone"."total" FROM (SELECT '
        f'"team_id", COUNT(*) AS "total" FROM "removed" GROUP BY "team_id") AS "gone" '
        f'WHERE "tally"."counted" = \'{table}\' AND "tally"."team_id" = "gone"."team_id";'
        " RETURN NULL; END $$",
        f'CREATE TRIGGER "{name}_delete" AFTER DELETE ON "{table}" REFERENCING OLD TABLE AS '
        f'"removed" FOR EACH STATEMENT EXECUTE FUNCTION "{name}_delete"()',
        function.format(name=f"{name}_move")
        + take(old_team, "1")
        + " "
        + add(new_team, "1")
        + " RETURN NULL; END $$",
        f'CREATE TRIGGER "{name}_move" {moved} WHEN ({old_team} IS DISTINCT FROM {new_team}) '
        f'EXECUTE FUNCTION "{name}_move"()',
        function.format(name=f"{name}_truncate")
        + f'DELETE FROM "tally" WHERE "counted" = \'{table}\'; RETURN NULL; END $$',
        f'CREATE TRIGGER "{name}_truncate" AFTER TRUNCATE ON "{table}" '
        f'FOR EACH STATEMENT EXECUTE FUNCTION "{name}_truncate"()',
    ]
