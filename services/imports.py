"""Setting up in bulk: people and records from CSV files, and the training dates the council's
learning system exports, every row checked before anything is saved, then saved in batches.

The administrator uploads a file and sees every row with its errors (the preview); nothing is
kept on the server and nothing goes in the URL: the preview page posts the file's text back
with "Import", and it is checked again before saving. Records carry case-system IDs only, never
a service user's name (DOMAIN.md). No passwords are imported: new people sign in with single
sign-on, or an administrator sends each a link.

Saving is resumable, not all-or-nothing: a file with any error saves nothing, but a file that
checks clean is saved BATCH_ROWS rows at a time, each batch in its own short transaction with
its audit events, so other people's saves wait a moment at most, never the whole import. If an
import stops part-way, the rows saved stay saved; importing the same file again skips them (a
row already in Safekeep is shown as such, not as an error) and saves the rest.

The columns are documented in the README ("Running Safekeep for a council") and in COLUMNS.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from peewee import fn

from machines import privacy
from machines.clock import uk_today
from machines.common import case_id_error, normalise_case_id
from machines.permissions import ROLE_LABELS, Can, Role, grants, roles_that
from machines.professions import PROFESSIONS
from machines.removal import RECORD_DESCRIPTION_MAX
from machines.training import training_date_error
from models.audit import AuditEvent
from models.base import is_postgres
from models.bulk import insert_rows
from models.people import Team, User, UserRole
from models.records import Record
from services.accounts import (
    KIOSK_ROLES,
    LINE_MANAGER_ROLES,
    NAME_MAX,
    STAFF_NUMBER_MAX,
    TEAM_NAME_MAX,
    PersonDetails,
    _acting_admin,
    accounts_transaction,
    email_error,
    unusable_password_hash,
    username_error,
)

KINDS = ("people", "records", "training")


def clean_text(value: str | None) -> str:
    """A cell stripped, without NUL bytes (PostgreSQL refuses them in text)."""
    return (value or "").replace("\x00", "").strip()


MAX_ROWS = 5000
SUMMARY_ROWS = 20
# Rows saved per transaction: long enough to be quick in bulk, short enough that another
# person's save waits a fraction of a second for the write lock, not the whole import.
BATCH_ROWS = 250
# SQLite has one write lock, and a writer waiting for it polls (busy_timeout), sleeping up to
# 100 ms between tries: an import that began its next batch at once would win the lock every
# time and keep the waiting writer out until the end. This pause lets such a writer in.
SQLITE_PAUSE_BETWEEN_BATCHES = 0.12
ALREADY_THERE = "already in Safekeep: skipped"

# (column, required, what goes in it): the template's header row and the README's table.
COLUMNS: dict[str, list[tuple[str, bool, str]]] = {
    "people": [
        ("username", True, "lower-case letters, digits, dots, hyphens, underscores"),
        ("full_name", True, f"up to {NAME_MAX} characters"),
        ("staff_number", True, f"up to {STAFF_NUMBER_MAX} letters, digits and hyphens; unique"),
        ("email", False, "work email; single sign-on can match staff by it"),
        ("team", True, "a team's name; a new name adds the team"),
        ("line_manager", False, "the line manager's username (in Safekeep or in the file)"),
        ("roles", True, "one or more role ids or names, separated by semicolons"),
        ("profession", False, "social_worker, occupational_therapist, other_hcpc, unregistered"),
    ],
    "training": [
        ("staff_number", True, "the person's staff number, as in Safekeep"),
        ("completed_on", True, "the day they completed data protection training: 27/03/2026"),
    ],
    "records": [
        ("case_id", True, "the case-system ID (Mosaic), like 1234567 or MOS-1234567"),
        ("description", True, f"what the papers are, up to {RECORD_DESCRIPTION_MAX} characters"),
        ("team", True, "the name of the team whose papers they are"),
    ],
}
EXAMPLES = {
    "people": [
        "jbloggs",
        "Jo Bloggs",
        "12345",
        "jo.bloggs@council.example",
        "Children North",
        "lokafor",
        "practitioner",
        "social_worker",
    ],
    "records": ["1234567", "Court bundle, volume 2", "Children North"],
    "training": ["12345", "27/03/2026"],
}
# What each kind's rows are, in the pages' words: (one, many).
NOUNS = {
    "people": ("person", "people"),
    "records": ("record", "records"),
    "training": ("training date", "training dates"),
}


class ImportRefused(Exception):
    """The file has errors now (checked again while saving): nothing was saved."""

    def __init__(self, preview: Preview):
        super().__init__(f"{preview.problems} rows with errors")
        self.preview = preview


@dataclass
class Row:
    line: int  # the line in the file (the header is line 1)
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # "new team", ...
    parsed: object = None
    already_there: bool = False  # saved by an earlier import of the file: skipped


@dataclass
class Preview:
    kind: str
    rows: list[Row] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    new_teams: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return len(self.file_errors) + sum(1 for row in self.rows if row.errors)

    @property
    def to_save(self) -> list[Row]:
        """The rows not already in Safekeep (from an earlier import of the same file)."""
        return [row for row in self.rows if not row.already_there]


def read_upload(data: bytes) -> tuple[str | None, str | None]:
    """The uploaded file as text, or the problem with it."""
    if not data.strip():
        return None, "The file is empty"
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return None, "The file must be a CSV file saved as “CSV UTF-8”"
    if "\x00" in text:
        return None, "The file must be a CSV file saved as “CSV UTF-8”"
    return text, None


def template(kind: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _, _ in COLUMNS[kind]])
    writer.writerow(EXAMPLES[kind])
    return out.getvalue()


def _rows(kind: str, text: str, preview: Preview) -> list[Row]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        preview.file_errors.append("The file has no header row")
        return []
    names = [clean_text(h).lower().replace(" ", "_") for h in header]
    known = [name for name, _, _ in COLUMNS[kind]]
    missing = [n for n, required, _ in COLUMNS[kind] if required and n not in names]
    unknown = [n for n in names if n and n not in known]
    if missing:
        preview.file_errors.append(f"The header row has no column called {', '.join(missing)}")
    if unknown:
        preview.file_errors.append(
            f"The header row has columns Safekeep does not know: {', '.join(unknown)}. "
            f"The columns are: {', '.join(known)}"
        )
    if missing or unknown:
        return []
    rows = []
    try:
        for line, cells in enumerate(reader, start=2):
            if not any(clean_text(c) for c in cells):
                continue
            if len(rows) == MAX_ROWS:
                preview.file_errors.append(
                    f"The file has more than {MAX_ROWS:,} rows: split it into smaller files"
                )
                return []
            values = {
                n: clean_text(cells[i]) if i < len(cells) else "" for i, n in enumerate(names)
            }
            rows.append(Row(line, values))
            if len(cells) > len(names):
                rows[-1].errors.append("It has more cells than the header row")
    except csv.Error as error:
        preview.file_errors.append(f"The file is not a readable CSV file ({error})")
        return []
    if not rows:
        preview.file_errors.append("The file has a header row but no rows to import")
    return rows


def preview(kind: str, text: str) -> Preview:
    """Read and check every row; nothing is saved."""
    result = Preview(kind)
    rows = _rows(kind, text, result)
    result.rows = rows
    if rows:
        {"people": _check_people, "records": _check_records, "training": _check_training}[kind](
            rows, result
        )
    return result


_ROLE_BY_NAME = {
    **{role.value: role.value for role in Role},
    **{label.lower(): role.value for role, label in ROLE_LABELS.items()},
}
_PROFESSION_BY_NAME = {
    **{key: key for key, _ in PROFESSIONS},
    **{label.lower(): key for key, label in PROFESSIONS},
}


def _check_people(rows: list[Row], preview: Preview) -> None:
    teams = {t.name.lower(): t for t in Team.select()}
    usernames = {u.lower(): uid for uid, u in User.select(User.id, User.username).tuples()}
    numbers = {
        n.upper(): name for n, name in User.select(User.staff_number, User.display_name).tuples()
    }
    emails = {
        e.lower(): name
        for e, name in User.select(User.email, User.display_name)
        .where(User.email.is_null(False))
        .tuples()
    }
    active = {
        u.lower(): uid
        for uid, u in User.select(User.id, User.username).where(User.active == True).tuples()  # noqa: E712
    }
    in_file_usernames: dict[str, int] = {}
    in_file_numbers: dict[str, int] = {}
    in_file_emails: dict[str, int] = {}
    new_teams: dict[str, str] = {}
    number_of = {
        u.lower(): n.upper() for u, n in User.select(User.username, User.staff_number).tuples()
    }
    for row in rows:
        v = row.values
        errors = row.errors
        username = v.get("username", "").lower()
        if username in number_of and number_of[username] == v.get("staff_number", "").upper():
            # The same person, saved by an earlier import of this file (one that stopped
            # part-way, or the same file again): skipped, so importing again never duplicates.
            row.already_there = True
            row.notes.append(ALREADY_THERE)
            row.parsed = {"details": PersonDetails(username=username), "manager": None}
            continue
        if problem := username_error(username):
            errors.append(problem)
        elif username in usernames:
            errors.append(f"There is already an account called {username}")
        elif username in in_file_usernames:
            errors.append(f"Row {in_file_usernames[username]} has the same username")
        else:
            in_file_usernames[username] = row.line
        name = v.get("full_name", "")
        if not name:
            errors.append("Enter the person's full name")
        elif len(name) > NAME_MAX:
            errors.append(f"Full name must be {NAME_MAX} characters or fewer")
        number = v.get("staff_number", "")
        if not number:
            errors.append("Enter the staff number")
        elif len(number) > STAFF_NUMBER_MAX or not re.fullmatch(r"[A-Za-z0-9-]+", number):
            errors.append(
                f"Staff number must be up to {STAFF_NUMBER_MAX} letters, digits and hyphens"
            )
        elif number.upper() in numbers:
            errors.append(f"Staff number {number} is already used by {numbers[number.upper()]}")
        elif number.upper() in in_file_numbers:
            errors.append(f"Row {in_file_numbers[number.upper()]} has the same staff number")
        else:
            in_file_numbers[number.upper()] = row.line
        email = v.get("email", "").lower()
        if problem := email_error(email):
            errors.append(problem)
        elif email and email in emails:
            errors.append(f"Email address {email} is already used by {emails[email]}")
        elif email and email in in_file_emails:
            errors.append(f"Row {in_file_emails[email]} has the same email address")
        elif email:
            in_file_emails[email] = row.line
        team_name = " ".join(v.get("team", "").split())
        team = teams.get(team_name.lower())
        if not team_name:
            errors.append("Enter the person's team")
        elif team is not None and team.retired_at is not None:
            errors.append(f"{team.name} has been retired")
        elif team is None:
            if len(team_name) > TEAM_NAME_MAX:
                errors.append(f"Team name must be {TEAM_NAME_MAX} characters or fewer")
            else:
                new_teams.setdefault(team_name.lower(), team_name)
                row.notes.append(f"new team {new_teams[team_name.lower()]}")
        roles_given = [r for r in re.split(r"[;|]", v.get("roles", "")) if r.strip()]
        roles = [_ROLE_BY_NAME.get(" ".join(r.split()).lower()) for r in roles_given]
        if not roles_given:
            errors.append("Enter at least one role")
        elif None in roles:
            unknown = roles_given[roles.index(None)].strip()
            errors.append(f"“{unknown}” is not a role. Roles are: {', '.join(Role)}")
        elif set(roles) & KIOSK_ROLES and len(set(roles)) > 1:
            errors.append("A team-base kiosk is a shared PC, not a person: give it no other role")
        profession_given = v.get("profession", "")
        profession = _PROFESSION_BY_NAME.get(profession_given.lower()) if profession_given else None
        if profession_given and profession is None:
            errors.append(f"“{profession_given}” is not a profession. Professions are: "
                          f"{', '.join(dict(PROFESSIONS))}")  # fmt: skip
        row.parsed = {
            "details": PersonDetails(
                username=username,
                display_name=name,
                staff_number=number,
                email=email or None,
                team_id=team.id if team else None,
                roles=list(dict.fromkeys(r for r in roles if r)),
                profession=profession,
            ),
            "team_name": team_name,
            "manager": v.get("line_manager", "").lower() or None,
        }
    # Who may be a line manager (Can.LINE_MANAGE): the accounts' roles, or the file's.
    may_manage = {
        u.lower()
        for (u,) in User.select(User.username)
        .join(UserRole, on=(UserRole.user == User.id))
        .where(User.active == True, UserRole.role.in_(sorted(roles_that(Can.LINE_MANAGE))))  # noqa: E712
        .tuples()
    } | {
        row.parsed["details"].username
        for row in rows
        if row.parsed and grants(set(row.parsed["details"].roles), Can.LINE_MANAGE)
    }
    for row in rows:
        manager = row.parsed["manager"]
        if manager is None:
            continue
        if manager == row.parsed["details"].username:
            row.errors.append("A person cannot be their own line manager")
        elif manager not in active and manager not in in_file_usernames:
            row.errors.append(
                f"No active account or row in the file has the username {manager} (line manager)"
            )
        elif manager not in may_manage:
            row.errors.append(f"{LINE_MANAGER_ROLES} ({manager} is not one)")
    _refuse_circles(rows)
    preview.new_teams = sorted(new_teams.values(), key=str.lower)


def _managers_in_file(rows: list[Row]) -> dict[str, str]:
    """username -> the line manager's username, where both are rows to save."""
    saving = {row.parsed["details"].username for row in rows if not row.already_there}
    return {
        row.parsed["details"].username: row.parsed["manager"]
        for row in rows
        if not row.already_there and row.parsed["manager"] in saving
    }


def _refuse_circles(rows: list[Row]) -> None:
    """Line managers in the file that lead back to the same row can never be saved in order
    (each needs its manager saved first): refuse them, naming the rows."""
    manager_of = _managers_in_file(rows)
    line_of = {row.parsed["details"].username: row for row in rows if not row.already_there}
    settled: set[str] = set()
    for start in manager_of:
        path: list[str] = []
        person = start
        while person in manager_of and person not in settled and person not in path:
            path.append(person)
            person = manager_of[person]
        if person in path:
            circle = path[path.index(person) :]
            lines = ", ".join(str(line_of[p].line) for p in circle)
            for p in circle:
                line_of[p].errors.append(
                    f"The line managers in rows {lines} go round in a circle: "
                    "give one of them a line manager outside it"
                )
        settled.update(path)


def _managers_first(rows: list[Row]) -> list[list[Row]]:
    """The rows to save in batches, each batch after the one holding its rows' line managers
    when they are in the file too (a batch saves in one insert: its own rows' ids come after)."""
    manager_of = _managers_in_file(rows)
    depth: dict[str, int] = {}

    def depth_of(username: str) -> int:
        chain: list[str] = []
        while username in manager_of and username not in depth and username not in chain:
            chain.append(username)
            username = manager_of[username]
        known = depth.get(username, 0)
        for person in reversed(chain):
            known += 1
            depth[person] = known
        return known

    levels: dict[int, list[Row]] = {}
    for row in rows:
        if not row.already_there:
            levels.setdefault(depth_of(row.parsed["details"].username), []).append(row)
    return [batch for level in sorted(levels) for batch in _batches(levels[level])]


def _check_records(rows: list[Row], preview: Preview) -> None:
    teams = {t.name.lower(): t for t in Team.select()}
    case_ids = sorted({normalise_case_id(row.values.get("case_id")) for row in rows})
    # How many of each (case, team, description) Safekeep has: that many of the file's rows
    # are already saved (an earlier import of this file) and are skipped.
    saved = Counter(
        Record.select(Record.case_id, Record.team, Record.description)
        .where(Record.case_id.in_(case_ids))
        .tuples()
    )
    for row in rows:
        v = row.values
        case_id = normalise_case_id(v.get("case_id"))
        if problem := case_id_error(case_id):
            row.errors.append(problem)
        description = " ".join(v.get("description", "").split())
        if not description:
            row.errors.append("Describe the papers, like “court bundle, volume 2”")
        elif len(description) > RECORD_DESCRIPTION_MAX:
            row.errors.append(f"Description must be {RECORD_DESCRIPTION_MAX} characters or fewer")
        elif found := privacy.problem(description, "Description"):
            row.errors.append(found)
        team_name = " ".join(v.get("team", "").split())
        team = teams.get(team_name.lower())
        if not team_name:
            row.errors.append("Enter the team whose papers they are")
        elif team is None:
            row.errors.append(f"There is no team called {team_name}: add it first")
        elif team.retired_at is not None:
            row.errors.append(f"{team.name} has been retired")
        row.parsed = {"case_id": case_id, "description": description, "team": team}
        key = (case_id, team.id if team else None, description)
        if not row.errors and saved[key]:
            saved[key] -= 1
            row.already_there = True
            row.notes.append(ALREADY_THERE)


@dataclass
class ImportResult:
    created: int
    new_teams: list[str]
    skipped: int = 0


class ImportStopped(Exception):
    """Saving stopped part-way: a row clashes with something saved since the file was checked.
    The rows saved before it stay saved; importing the file again skips them."""

    def __init__(self, saved: int, line: int, problem: str):
        super().__init__(f"row {line}: {problem}")
        self.saved, self.line, self.problem = saved, line, problem


def commit(kind: str, text: str, actor_id: int, now: dt.datetime) -> ImportResult:
    """Check the file again, then save its rows BATCH_ROWS at a time, each batch in its own
    short transaction with its audit events; raise ImportRefused (nothing saved) when any row
    has an error now, ImportStopped when a batch clashes with a save made meanwhile.

    Rows already in Safekeep (from an earlier import of the same file) are skipped, so an
    import that stopped part-way is finished by importing the file again.

    Measured on SQLite, 2 cores with a load average of 22 (eight builds running at once):
    5,000 people in 21.6 s (231 rows/s; 24 transactions, the longest holding the write lock
    1.6 s, the median 0.8 s) and 5,000 records in 19.5 s (256 rows/s, longest hold 1.4 s).
    The one-transaction import it replaces, on the same machine at the same load: 1,000 people
    in 51.6 s (19 rows/s), the write lock held all 51.6 s. A quiet machine is several times
    faster than either.
    """
    checked = preview(kind, text)
    if checked.problems:
        raise ImportRefused(checked)
    with accounts_transaction():
        _acting_admin(actor_id)
    if kind == "people":
        created = _save_people(checked, actor_id, now)
    elif kind == "training":
        created = _save_training(checked, actor_id, now)
    else:
        created = _save_records(checked, actor_id, now)
    skipped = len(checked.rows) - len(checked.to_save)
    with accounts_transaction():
        AuditEvent.append(
            at=now,
            actor_id=actor_id,
            entity_type="import",
            entity_id=actor_id,
            event=f"import_{kind}",
            summary={"rows": created, "skipped": skipped, "new_teams": len(checked.new_teams)},
        )
    return ImportResult(created, checked.new_teams, skipped)


def _between_batches() -> None:
    """Let the writers waiting for SQLite's one write lock take it before the next batch."""
    if not is_postgres():
        time.sleep(SQLITE_PAUSE_BETWEEN_BATCHES)


def _batches(rows: list[Row]) -> list[list[Row]]:
    return [rows[n : n + BATCH_ROWS] for n in range(0, len(rows), BATCH_ROWS)]


def _add_teams(names: list[str], actor_id: int, now: dt.datetime) -> dict[str, int]:
    """The file's new teams, in one transaction of their own: name (lower case) -> id."""
    ids = {}
    with accounts_transaction():
        _acting_admin(actor_id)
        for name in names:
            team = Team.get_or_none(fn.LOWER(Team.name) == name.lower())
            if team is None:
                team = Team.create(name=name)
                AuditEvent.append(
                    at=now, actor_id=actor_id, entity_type="team", entity_id=team.id,
                    event="add_team", summary={"name": name, "by": "import"},
                )  # fmt: skip
            ids[name.lower()] = team.id
    return ids


def _clash(batch: list[Row]) -> tuple[Row, str] | None:
    """The first row of a batch that clashes with an account saved since the file was
    checked (read inside the batch's transaction), and why."""
    details = [row.parsed["details"] for row in batch]
    usernames = set(
        User.select(fn.LOWER(User.username))
        .where(fn.LOWER(User.username).in_([d.username for d in details]))
        .scalars()
    )
    numbers = set(
        User.select(fn.UPPER(User.staff_number))
        .where(fn.UPPER(User.staff_number).in_([d.staff_number.upper() for d in details]))
        .scalars()
    )
    emails = set(
        User.select(fn.LOWER(User.email))
        .where(fn.LOWER(User.email).in_([d.email for d in details if d.email]))
        .scalars()
    )
    for row, d in zip(batch, details, strict=True):
        if d.username in usernames:
            return row, f"There is already an account called {d.username}"
        if d.staff_number.upper() in numbers:
            return row, f"Staff number {d.staff_number} is already used"
        if d.email and d.email in emails:
            return row, f"Email address {d.email} is already used"
    return None


def _save_people(checked: Preview, actor_id: int, now: dt.datetime) -> int:
    team_ids = _add_teams(checked.new_teams, actor_id, now)
    team_names = dict(Team.select(Team.id, Team.name).tuples())
    # Line managers already in Safekeep; those in the file join as their batch is saved.
    managers: dict[str, int] = {}
    names: dict[int, str] = {}
    for uid, username, name in (
        User.select(User.id, User.username, User.display_name)
        .where(User.active == True)  # noqa: E712
        .tuples()
    ):
        managers[username.lower()], names[uid] = uid, name
    unusable = unusable_password_hash()  # one hash: no one knows its password
    saved = 0
    for number, batch in enumerate(_managers_first(checked.rows)):
        if number:
            _between_batches()
        with accounts_transaction():
            _acting_admin(actor_id)
            if clash := _clash(batch):
                raise ImportStopped(saved, clash[0].line, clash[1])
            people: list[PersonDetails] = []
            for row in batch:
                details: PersonDetails = row.parsed["details"]
                if details.team_id is None:
                    details.team_id = team_ids[row.parsed["team_name"].lower()]
                if manager := row.parsed["manager"]:
                    details.line_manager_id = managers[manager]
                people.append(details)
            insert_rows(
                User,
                [
                    {
                        "username": d.username,
                        "display_name": d.display_name,
                        "staff_number": d.staff_number,
                        "email": d.email or None,
                        "team": d.team_id,
                        "line_manager": d.line_manager_id,
                        "profession": d.profession or None,
                        "password_hash": unusable,
                        "created_at": now,
                    }
                    for d in people
                ],
            )
            ids = dict(
                User.select(User.username, User.id)
                .where(User.username.in_([d.username for d in people]))
                .tuples()
            )
            insert_rows(
                UserRole,
                [
                    {"user": ids[d.username], "role": r}
                    for d in people
                    for r in dict.fromkeys(d.roles)
                ],
            )
            AuditEvent.append_many(
                [
                    {
                        "at": now,
                        "actor_id": actor_id,
                        "entity_type": "user",
                        "entity_id": ids[d.username],
                        "event": "add_user",
                        "summary": {"details": _described(d, team_names, names), "by": "import"},
                    }
                    for d in people
                ]
            )
        for d in people:
            managers[d.username], names[ids[d.username]] = ids[d.username], d.display_name
        saved += len(people)
    return saved


def _described(d: PersonDetails, team_names: dict[int, str], names: dict[int, str]) -> dict:
    """A person's details as the audit trail records them (services.accounts._described),
    from what the import already holds instead of two queries a person."""
    return {
        "display_name": d.display_name,
        "staff_number": d.staff_number,
        "email": d.email or None,
        "team": team_names.get(d.team_id),
        "line_manager": names.get(d.line_manager_id),
        "roles": sorted(set(d.roles)),
        "profession": d.profession or None,
    }


def _save_records(checked: Preview, actor_id: int, now: dt.datetime) -> int:
    saved = 0
    for number, batch in enumerate(_batches(checked.to_save)):
        if number:
            _between_batches()
        with accounts_transaction():
            _acting_admin(actor_id)
            created = Record.create_many_labelled(
                [
                    {
                        "case_id": row.parsed["case_id"],
                        "description": row.parsed["description"],
                        "team": row.parsed["team"].id,
                        "created_by": actor_id,
                        "created_at": now,
                    }
                    for row in batch
                ]
            )
            AuditEvent.append_many(
                [
                    {
                        "at": now,
                        "actor_id": actor_id,
                        "entity_type": "record",
                        "entity_id": record_id,
                        "event": "add_record",
                        "summary": {"label_code": code, "by": "import"},
                    }
                    for record_id, code in created
                ]
            )
        saved += len(batch)
    return saved


# -- Training dates from the learning system ------------------------------------------------

# The learning system's export writes 27/03/2026; an ISO date (2026-03-27) is read too.
_UK_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
DATE_CELL_MAX = 10
LATER_RECORDED = "a later date is already recorded: skipped"


def _training_day(cell: str) -> dt.date | None:
    """The cell as a date, or None (its length checked before any pattern is tried)."""
    if len(cell) > DATE_CELL_MAX:
        return None
    if match := _UK_DATE.fullmatch(cell):
        day, month, year = match.groups()
    elif match := _ISO_DATE.fullmatch(cell):
        year, month, day = match.groups()
    else:
        return None
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def _check_training(rows: list[Row], preview: Preview) -> None:
    today = uk_today()
    people = {
        number.upper(): (person_id, trained_on)
        for person_id, number, trained_on in User.select(
            User.id, User.staff_number, User.trained_on
        ).tuples()
    }
    in_file: dict[str, int] = {}
    for row in rows:
        number = row.values.get("staff_number", "").upper()
        cell = row.values.get("completed_on", "")
        person = None
        if not number:
            row.errors.append("Enter the staff number")
        elif len(number) > STAFF_NUMBER_MAX:
            row.errors.append(f"Staff number must be {STAFF_NUMBER_MAX} characters or fewer")
        elif number in in_file:
            row.errors.append(f"Row {in_file[number]} has the same staff number")
        elif (person := people.get(number)) is None:
            row.errors.append(f"There is no one with staff number {number} in Safekeep")
        if number and number not in in_file:
            in_file[number] = row.line
        day = _training_day(cell)
        if not cell:
            row.errors.append("Enter the date the training was completed")
        elif day is None:
            row.errors.append("Enter the date the training was completed as 27/03/2026")
        elif problem := training_date_error(day, today):
            row.errors.append(problem)
        if row.errors or person is None:
            continue
        person_id, recorded = person
        row.parsed = {"person_id": person_id, "trained_on": day, "before": recorded}
        if recorded is not None and recorded >= day:
            # The same file again, or an older course than the one recorded: never go back.
            row.already_there = True
            row.notes.append(ALREADY_THERE if recorded == day else LATER_RECORDED)


def _save_training(checked: Preview, actor_id: int, now: dt.datetime) -> int:
    saved = 0
    for number, batch in enumerate(_batches(checked.to_save)):
        if number:
            _between_batches()
        with accounts_transaction():
            _acting_admin(actor_id)
            events = []
            for row in batch:
                person_id, day = row.parsed["person_id"], row.parsed["trained_on"]
                # A later date recorded since the file was checked stays: this row is skipped.
                changed = (
                    User.update(trained_on=day, version=User.version + 1)
                    .where(
                        User.id == person_id,
                        User.trained_on.is_null() | (User.trained_on < day),
                    )
                    .execute()
                )
                if changed:
                    before = row.parsed["before"]
                    events.append(
                        {
                            "at": now,
                            "actor_id": actor_id,
                            "entity_type": "user",
                            "entity_id": person_id,
                            "event": "record_training",
                            "summary": {
                                "trained_on": [
                                    before.isoformat() if before else None,
                                    day.isoformat(),
                                ],
                                "by": "import",
                            },
                        }
                    )
            AuditEvent.append_many(events)
        saved += len(events)
    return saved
