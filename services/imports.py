"""Setting up in bulk: people and records from CSV files, checked row by row before anything
is saved, then saved in one transaction.

The administrator uploads a file and sees every row with its errors (the preview); nothing is
kept on the server and nothing goes in the URL: the preview page posts the file's text back
with "Import", and it is checked again, under the accounts lock, in the saving transaction.
Records carry case-system IDs only, never a service user's name (DOMAIN.md). No passwords are
imported: new people sign in with single sign-on, or an administrator sends each a link.

The columns are documented in the README ("Running Safekeep for a council") and in COLUMNS.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from peewee import fn

from machines import privacy
from machines.common import case_id_error, normalise_case_id
from machines.permissions import ROLE_LABELS, Can, Role, grants, roles_that
from machines.professions import PROFESSIONS
from machines.removal import RECORD_DESCRIPTION_MAX
from models.audit import AuditEvent
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
    _described,
    _insert_person,
    accounts_transaction,
    email_error,
    unusable_password_hash,
    username_error,
)

KINDS = ("people", "records")


def clean_text(value: str | None) -> str:
    """A cell stripped, without NUL bytes (PostgreSQL refuses them in text)."""
    return (value or "").replace("\x00", "").strip()


MAX_ROWS = 5000

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


@dataclass
class Preview:
    kind: str
    rows: list[Row] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    new_teams: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return len(self.file_errors) + sum(1 for row in self.rows if row.errors)


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
        (_check_people if kind == "people" else _check_records)(rows, result)
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
    for row in rows:
        v = row.values
        errors = row.errors
        username = v.get("username", "").lower()
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
    preview.new_teams = sorted(new_teams.values(), key=str.lower)


def _check_records(rows: list[Row], preview: Preview) -> None:
    teams = {t.name.lower(): t for t in Team.select()}
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


@dataclass
class ImportResult:
    created: int
    new_teams: list[str]


def commit(kind: str, text: str, actor_id: int, now: dt.datetime) -> ImportResult:
    """Check the file again and save every row in one transaction, each with its audit event;
    raise ImportRefused (nothing saved) when any row has an error now."""
    with accounts_transaction():
        _acting_admin(actor_id)
        checked = preview(kind, text)
        if checked.problems:
            raise ImportRefused(checked)
        if kind == "people":
            created = _save_people(checked, actor_id, now)
        else:
            created = _save_records(checked, actor_id, now)
        AuditEvent.append(
            at=now,
            actor_id=actor_id,
            entity_type="import",
            entity_id=actor_id,
            event=f"import_{kind}",
            summary={"rows": created, "new_teams": len(checked.new_teams)},
        )
    return ImportResult(created, checked.new_teams)


def _save_people(checked: Preview, actor_id: int, now: dt.datetime) -> int:
    team_ids = {}
    for name in checked.new_teams:
        team = Team.create(name=name)
        team_ids[name.lower()] = team.id
        AuditEvent.append(
            at=now, actor_id=actor_id, entity_type="team", entity_id=team.id,
            event="add_team", summary={"name": name, "by": "import"},
        )  # fmt: skip
    created: dict[str, User] = {}
    unusable = unusable_password_hash()  # one hash: no one knows its password
    for row in checked.rows:
        details: PersonDetails = row.parsed["details"]
        if details.team_id is None:
            details.team_id = team_ids[row.parsed["team_name"].lower()]
        created[details.username] = _insert_person(details, unusable, now)
    for row in checked.rows:
        manager = row.parsed["manager"]
        user = created[row.parsed["details"].username]
        if manager:
            manager_id = (
                created[manager].id
                if manager in created
                else (User.select(User.id).where(fn.LOWER(User.username) == manager).scalar())
            )
            User.update(line_manager=manager_id).where(User.id == user.id).execute()
            user.line_manager_id = manager_id
        user._roles = frozenset(
            r for (r,) in UserRole.select(UserRole.role).where(UserRole.user == user.id).tuples()
        )
        AuditEvent.append(
            at=now, actor_id=actor_id, entity_type="user", entity_id=user.id,
            event="add_user", summary={"details": _described(user), "by": "import"},
        )  # fmt: skip
    return len(created)


def _save_records(checked: Preview, actor_id: int, now: dt.datetime) -> int:
    for row in checked.rows:
        record = Record.create(
            case_id=row.parsed["case_id"],
            description=row.parsed["description"],
            team=row.parsed["team"].id,
            created_by=actor_id,
            created_at=now,
        )
        AuditEvent.append(
            at=now, actor_id=actor_id, entity_type="record", entity_id=record.id,
            event="add_record", summary={"label_code": record.label_code, "by": "import"},
        )  # fmt: skip
    return len(checked.rows)
