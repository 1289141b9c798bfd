"""Staff accounts: creating them (create-user, the admin pages, the import), changing them, and
the rules that keep a council's accounts sound.

Every change here is one transaction with its audit event (who, and each field before and
after; never a password or a hash). The rules that must hold however many administrators act
at once (the last administrator stays, nobody edits a person someone else just changed) are
checked inside that transaction, under one lock: SQLite's BEGIN IMMEDIATE, and on PostgreSQL
an advisory lock every account change takes first, so two of them never interleave.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from peewee import fn

from machines.breach import BreachMachine
from machines.common import uk_date
from machines.permissions import Can, Role, grants, roles_that
from machines.professions import PROFESSIONS
from machines.training import training_date_error
from models.audit import AuditEvent
from models.base import db, is_postgres, write_transaction
from models.breaches import Breach
from models.dispatches import Dispatch
from models.follow_through import IcoItem
from models.people import PasswordReset, Team, User, UserRole, UserSession, hash_secret
from models.records import Record, Removal
from models.remote_working import RemoteAgreement
from services.account_errors import AccountConflict, AccountError, AccountStale, NotAllowed
from services.handover import OPEN_DISPATCH_STATES, hand_over, open_work, work_for_change
from services.passwords import password_problem

# Serialises account changes on PostgreSQL (SQLite's BEGIN IMMEDIATE already does).
ACCOUNTS_LOCK_KEY = 7_345_003

USERNAME_MAX = 100
NAME_MAX = 100
STAFF_NUMBER_MAX = 20
EMAIL_MAX = 254
TEAM_NAME_MAX = 80

# Who may be someone's line manager: Can.LINE_MANAGE, in words.
LINE_MANAGER_ROLES = "Select a line manager, Assistant Director or Director as the line manager"
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_EMAIL = re.compile(r"[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+")
_STAFF_NUMBER = re.compile(r"[A-Za-z0-9-]+")


class UserInputError(ValueError):
    """A bad create-user argument, said in one line."""


@contextmanager
def accounts_transaction() -> Iterator[None]:
    """One account change: a write transaction that no other account change runs beside."""
    with write_transaction():
        if is_postgres():
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (ACCOUNTS_LOCK_KEY,))
        yield


def _audit(actor_id: int | None, now: dt.datetime, entity: str, entity_id: int, event: str,
           summary: dict | None = None) -> None:  # fmt: skip
    AuditEvent.append(
        at=now,
        actor_id=actor_id,
        entity_type=entity,
        entity_id=entity_id,
        event=event,
        summary=summary or {},
    )


# -- The details of a person ------------------------------------------------------------------


@dataclass
class PersonDetails:
    """What an administrator (or the import) types about a member of staff."""

    display_name: str = ""
    staff_number: str = ""
    email: str | None = None
    team_id: int | None = None
    line_manager_id: int | None = None
    roles: list[str] = field(default_factory=list)
    profession: str | None = None
    username: str = ""  # only when adding: a username never changes


ADMIN_ROLES = frozenset(roles_that(Can.ADMINISTER_ACCOUNTS))
KIOSK_ROLES = frozenset(roles_that(Can.KIOSK_DEVICE))


def username_error(username: str) -> str | None:
    if not username:
        return "Enter a username"
    if len(username) > USERNAME_MAX:
        return f"Username must be {USERNAME_MAX} characters or fewer"
    if not _USERNAME.fullmatch(username):
        return (
            "Username must start with a letter or digit and use only lower-case letters, "
            "digits, dots, hyphens and underscores"
        )
    return None


def email_error(email: str | None) -> str | None:
    if email and (len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email)):
        return "Enter an email address in the correct format, like name@example.org"
    return None


def check_person(details: PersonDetails, user: User | None = None) -> dict[str, str]:
    """Every error in a person's details, by field, in the form's order (empty: all fine).

    `user` is the person being edited (None when adding). Reads the database for what must
    be unique and what must exist; call it again inside the saving transaction.
    """
    errors: dict[str, str] = {}
    if user is None:
        if problem := username_error(details.username):
            errors["username"] = problem
        elif User.by_username(details.username):
            errors["username"] = f"There is already an account called {details.username}"
    if not details.display_name:
        errors["display_name"] = "Enter the person's full name"
    elif len(details.display_name) > NAME_MAX:
        errors["display_name"] = f"Full name must be {NAME_MAX} characters or fewer"
    number = details.staff_number
    if not number:
        errors["staff_number"] = "Enter the staff number"
    elif len(number) > STAFF_NUMBER_MAX or not _STAFF_NUMBER.fullmatch(number):
        errors["staff_number"] = (
            f"Staff number must be up to {STAFF_NUMBER_MAX} letters, digits and hyphens"
        )
    else:
        taken = User.get_or_none(fn.UPPER(User.staff_number) == number.upper())
        if taken is not None and (user is None or taken.id != user.id):
            errors["staff_number"] = (
                f"Staff number {number} is already used by {taken.display_name}"
            )
    if problem := email_error(details.email):
        errors["email"] = problem
    elif details.email:
        # Single sign-on may find people by their email: it must name one person.
        taken = User.get_or_none(fn.LOWER(User.email) == details.email.lower())
        if taken is not None and (user is None or taken.id != user.id):
            errors["email"] = (
                f"{details.email} is already the email address of {taken.display_name}"
            )
    team = Team.get_or_none(Team.id == details.team_id) if details.team_id else None
    if team is None:
        errors["team_id"] = "Select the person's team"
    elif team.retired_at is not None and (user is None or user.team_id != team.id):
        errors["team_id"] = f"{team.name} has been retired: select a current team"
    # A manager left as they were is no change to check (whatever they became since).
    unchanged = user is not None and details.line_manager_id == user.line_manager_id
    if details.line_manager_id is not None and not unchanged:
        manager = User.get_or_none(User.id == details.line_manager_id)
        if manager is None or not manager.active:
            errors["line_manager_id"] = "Select a line manager whose account is active"
        elif not manager.can(Can.LINE_MANAGE):
            errors["line_manager_id"] = LINE_MANAGER_ROLES
        elif user is not None and _manages(user.id, manager):
            errors["line_manager_id"] = (
                f"{manager.display_name} reports to {user.display_name}: choose someone else"
            )
    if not details.roles:
        errors["roles"] = "Select at least one role"
    elif set(details.roles) - set(Role):
        errors["roles"] = "Select roles from the list"
    elif set(details.roles) & KIOSK_ROLES and len(details.roles) > 1:
        errors["roles"] = "A team-base kiosk is a shared PC, not a person: give it no other role"
    if details.profession and details.profession not in dict(PROFESSIONS):
        errors["profession"] = "Select the person's profession from the list"
    return errors


def _manages(user_id: int, manager: User, limit: int = 50) -> bool:
    """True when `manager` is `user_id` or reports to them, directly or further down."""
    seen = set()
    current: User | None = manager
    while current is not None and current.id not in seen and len(seen) < limit:
        if current.id == user_id:
            return True
        seen.add(current.id)
        current = (
            User.get_or_none(User.id == current.line_manager_id)
            if current.line_manager_id
            else None
        )
    return False


def _described(user: User) -> dict:
    """A person's details as the audit trail records them (names, not ids, where it helps)."""
    team = Team.get_or_none(Team.id == user.team_id) if user.team_id else None
    manager = User.get_or_none(User.id == user.line_manager_id) if user.line_manager_id else None
    return {
        "display_name": user.display_name,
        "staff_number": user.staff_number,
        "email": user.email,
        "team": team.name if team else None,
        "line_manager": manager.display_name if manager else None,
        "roles": sorted(user.roles),
        "profession": user.profession,
    }


def _changes(before: dict, after: dict) -> dict:
    return {k: [before[k], after[k]] for k in before if before[k] != after[k]}


def active_admins(exclude_id: int | None = None) -> int:
    """How many active accounts can administer accounts (call inside the transaction)."""
    query = (
        User.select(fn.COUNT(fn.DISTINCT(User.id)))
        .join(UserRole, on=(UserRole.user == User.id))
        .where(UserRole.role.in_(sorted(ADMIN_ROLES)), User.active == True)  # noqa: E712
    )
    if exclude_id is not None:
        query = query.where(User.id != exclude_id)
    return query.scalar() or 0


def _acting_admin(actor_id: int) -> User:
    """The acting administrator, read inside the transaction: one disabled a moment ago by
    another administrator may no longer act."""
    actor = User.get_or_none(User.id == actor_id)
    if actor is None or not actor.active or not actor.can(Can.ADMINISTER_ACCOUNTS):
        raise NotAllowed()
    return actor


def _person(user_id: int, version: int | None) -> User:
    user = User.get_or_none(User.id == user_id)
    if user is None:
        raise AccountConflict("That account no longer exists.")
    if version is not None and user.version != version:
        raise AccountStale(
            f"Someone else changed {user.display_name}'s account while you were looking at it. "
            "Check what it says now and make your change again."
        )
    return user


def _bump(user: User, **values) -> None:
    """Save an administrator's change to a person, moving their version on."""
    values[User.version] = User.version + 1
    User.update(values).where(User.id == user.id).execute()
    user.version += 1


# -- Adding people ------------------------------------------------------------------------------


def unusable_password_hash() -> str:
    """A hash no one knows the password of: an account without a password of its own yet."""
    return hash_secret(secrets.token_urlsafe(32))


def create_person(actor_id: int, details: PersonDetails, now: dt.datetime) -> User:
    """Add a member of staff with no usable password yet (an administrator then sends a link
    or gives a temporary password; with single sign-on they need none)."""
    with accounts_transaction():
        _acting_admin(actor_id)
        errors = check_person(details)
        if errors:
            raise AccountError(errors)
        user = _insert_person(details, unusable_password_hash(), now)
        _audit(actor_id, now, "user", user.id, "add_user", {"details": _described(user)})
    return user


def _insert_person(details: PersonDetails, password_hash: str, now: dt.datetime) -> User:
    user = User.create(
        username=details.username,
        display_name=details.display_name,
        staff_number=details.staff_number,
        email=details.email or None,
        team=details.team_id,
        line_manager=details.line_manager_id,
        profession=details.profession or None,
        password_hash=password_hash,
        created_at=now,
    )
    for role in dict.fromkeys(details.roles):
        UserRole.create(user=user, role=role)
    user._roles = None
    return user


def add_user(
    username: str,
    display_name: str,
    staff_number: str,
    team_name: str,
    roles: tuple[str, ...] | list[str],
    manager_username: str | None,
    password: str,
    pin: str | None = None,
    email: str | None = None,
    profession: str | None = None,
) -> User:
    """Create one account from the command line; raise UserInputError naming the first problem.

    The same rules as the administration pages (services.accounts.check_person) and the same
    password rule as everywhere else (services.passwords). The team is created if new.
    """
    from machines import clock

    username = username.strip().lower()
    unknown = [r for r in roles if r not in set(Role)]
    if unknown:
        raise UserInputError(f"Unknown role '{unknown[0]}'. Roles are: {', '.join(Role)}.")
    if not roles:
        raise UserInputError("Give at least one --role.")
    if profession and profession not in dict(PROFESSIONS):
        known = ", ".join(dict(PROFESSIONS))
        raise UserInputError(f"Unknown profession '{profession}'. Professions are: {known}.")
    if problem := password_problem(password, username):
        raise UserInputError(problem + ".")
    manager = None
    if manager_username:
        manager = User.by_username(manager_username)
        if manager is None:
            raise UserInputError(f"No user called '{manager_username}' to be the line manager.")
    now = clock.now()
    with accounts_transaction():
        team, created = Team.get_or_create(name=team_name.strip())
        if created:
            _audit(None, now, "team", team.id, "add_team", {"name": team.name})
        details = PersonDetails(
            username=username,
            display_name=display_name.strip(),
            staff_number=staff_number.strip(),
            email=email.strip().lower() if email else None,
            team_id=team.id,
            line_manager_id=manager.id if manager else None,
            roles=list(roles),
            profession=profession or None,
        )
        errors = check_person(details)
        if errors:
            raise UserInputError(next(iter(errors.values())) + ".")
        user = _insert_person(details, hash_secret(password), now)
        if pin:
            User.update(pin_hash=hash_secret(pin)).where(User.id == user.id).execute()
            user.pin_hash = "set"
        _audit(None, now, "user", user.id, "add_user", {"details": _described(user), "by": "cli"})
    return user


# -- Changing people ----------------------------------------------------------------------------


def update_person(
    actor_id: int,
    user_id: int,
    details: PersonDetails,
    version: int,
    now: dt.datetime,
    successor_id: int | None = None,
    work_seen: str | None = None,
) -> dict:
    """Save an administrator's edit; return what changed ({field: [before, after]}).

    A change of roles ends the person's sessions at once (their new rights apply from their
    next sign-in, and a removed right cannot be used from an open page). A move to another
    team hands their work over first (see hand_over), in the same transaction; so does a
    change of roles that would leave requests with no one to decide them (work_for_change).
    """
    with accounts_transaction():
        actor = _acting_admin(actor_id)
        user = _person(user_id, version)
        errors = check_person(details, user)
        before = _described(user)
        new_roles = sorted(dict.fromkeys(details.roles))
        roles_change = new_roles != sorted(user.roles)
        if roles_change and user.id == actor.id:
            errors["roles"] = "You cannot change your own roles: ask another administrator"
        if errors:
            raise AccountError(errors)
        if (
            roles_change
            and user.active
            and set(user.roles) & ADMIN_ROLES
            and not set(new_roles) & ADMIN_ROLES
            and active_admins(exclude_id=user.id) == 0
        ):
            raise AccountConflict(
                f"{user.display_name} is the only administrator: make someone else an "
                "administrator first."
            )
        unchecked = Dispatch.nobody_can_check()
        if (
            roles_change
            and user.active
            and not grants(frozenset(new_roles), Can.FOLLOW_UP_WITH_ICO)
        ):
            _keep_someone_on_the_ico(user)
        handed = []
        work = work_for_change(user, details.team_id, new_roles)
        if work.items:
            handed = hand_over(actor, user, work, successor_id, work_seen, now)
        _bump(
            user,
            display_name=details.display_name,
            staff_number=details.staff_number,
            email=details.email or None,
            team=details.team_id,
            line_manager=details.line_manager_id,
            profession=details.profession or None,
        )
        user = User.get_by_id(user.id)
        if roles_change:
            UserRole.delete().where(UserRole.user == user.id).execute()
            for role in new_roles:
                UserRole.create(user=user, role=role)
            user._roles = None
        changed = _changes(before, _described(user))
        _refuse_unchecked_dispatches(unchecked, f"Saving {user.display_name} this way")
        ended = 0
        if roles_change:
            ended = UserSession.end_all(user.id, now, "admin")
        if changed:
            summary = {"changed": changed}
            if ended:
                summary["sessions_ended"] = ended
            if handed:
                summary["handed_over"] = len(handed)
            _audit(actor.id, now, "user", user.id, "update_user", summary)
    return changed


def record_training(
    actor_id: int, user_id: int, trained_on: dt.date, version: int, now: dt.datetime
) -> None:
    """Record the day a person completed their data protection training (the learning
    system's CSV records it the same way: services/imports.py)."""
    with accounts_transaction():
        actor = _acting_admin(actor_id)
        user = _person(user_id, version)
        if problem := training_date_error(trained_on, uk_date(now)):
            raise AccountError({"trained_on": problem})
        before = user.trained_on
        _bump(user, trained_on=trained_on)
        _audit(
            actor.id,
            now,
            "user",
            user.id,
            "record_training",
            {"trained_on": [_iso(before), trained_on.isoformat()]},
        )


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def set_active(
    actor_id: int,
    user_id: int,
    active: bool,
    version: int,
    now: dt.datetime,
    successor_id: int | None = None,
    work_seen: str | None = None,
) -> int:
    """Disable or re-enable an account; return how many items of work were handed over.

    Disabling ends every session at once and hands the person's open work to a successor in
    the same transaction (services.handover). Nobody disables themselves, and the last
    administrator stays.
    """
    with accounts_transaction():
        actor = _acting_admin(actor_id)
        user = _person(user_id, version)
        if user.active == active:
            raise AccountConflict(
                f"{user.display_name}'s account is already {'active' if active else 'disabled'}."
            )
        handed = []
        if not active:
            if user.id == actor.id:
                raise AccountConflict("You cannot disable your own account.")
            if set(user.roles) & ADMIN_ROLES and active_admins(exclude_id=user.id) == 0:
                raise AccountConflict(
                    f"{user.display_name} is the only administrator: make someone else an "
                    "administrator first."
                )
            unchecked = Dispatch.nobody_can_check()
            _keep_someone_on_the_ico(user)
            work = open_work(user)
            if work.items:
                handed = hand_over(actor, user, work, successor_id, work_seen, now)
        _bump(user, active=active)
        if not active:
            _refuse_unchecked_dispatches(unchecked, f"Disabling {user.display_name}")
        summary: dict = {"handed_over": len(handed)} if handed else {}
        if not active:
            summary["sessions_ended"] = UserSession.end_all(user.id, now, "admin")
            # A link emailed before the disable must not work again once the account is
            # enabled: it is ended for good, as a used link is.
            if links := PasswordReset.end_all(user.id, now):
                summary["reset_links_ended"] = links
            # A person taken off the kiosk with the account: their identification goes too.
            from models.people import KioskSession

            KioskSession.delete().where(KioskSession.person == user.id).execute()
        _audit(actor.id, now, "user", user.id, "enable_user" if active else "disable_user", summary)
    return len(handed)


def _refuse_unchecked_dispatches(before: set[int], change: str) -> None:
    """Refuse a change that leaves a draft dispatch with nobody who may give its second check
    (machines.dispatch.may_check): it would wait for ever. Called inside the change's
    transaction, after it, so the refusal undoes it; drafts nobody could check before are
    not this change's doing."""
    stranded = Dispatch.nobody_can_check() - before
    if not stranded:
        return
    drafts = list(
        Dispatch.select(Dispatch, User)
        .join(User, on=(Dispatch.drafted_by == User.id))
        .where(Dispatch.id.in_(sorted(stranded)))
        .order_by(Dispatch.id)
    )
    which = _and([f"dispatch {d.id} (case {d.case_id})" for d in drafts])
    drafters = _and(sorted({d.drafted_by.display_name for d in drafts}))
    raise AccountConflict(
        f"{change} would leave {which} with nobody who may give the second check. First give "
        f"{drafters} a line manager who may see their team's records, or someone in their "
        "team who works with papers."
    )


def _keep_someone_on_the_ico(user: User) -> None:
    """Refuse to take the last person who handles the ICO away while the ICO is owed an
    answer: the questions and follow-up reports would wait for no one."""
    if (
        not user.can(Can.FOLLOW_UP_WITH_ICO)
        or not IcoItem.select().where(IcoItem.state == "open").exists()
    ):
        return
    if IcoItem.handlers().where(User.id != user.id).exists():
        return
    raise AccountConflict(
        f"{user.display_name} is the last person who answers the ICO, and it is still owed an "
        "answer on a breach case: give someone else the Information and Records Manager or "
        "Data Protection Officer role first."
    )


def unlock(actor_id: int, user_id: int, now: dt.datetime) -> dict:
    """Lift a password lock and a PIN lock (and restart both counts); say what was locked."""
    with accounts_transaction():
        actor = _acting_admin(actor_id)
        user = _person(user_id, None)
        was = {
            "password_locked": bool(user.locked_until and user.locked_until > now),
            "pin_locked": bool(user.pin_locked_until and user.pin_locked_until > now),
        }
        User.update(
            failed_sign_ins=0, locked_until=None, failed_pins=0, pin_locked_until=None
        ).where(User.id == user.id).execute()
        _audit(actor.id, now, "user", user.id, "unlock", was)
    return was


# A temporary password is read out over the phone: four groups of four from an alphabet
# without look-alikes (no 0/O, 1/I/L), about 79 bits, like "K7QM-X3RP-9TWD-H4NZ".
_TEMPORARY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _temporary_password(username: str) -> str:
    while True:
        groups = ("".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(4)) for _ in range(4))
        candidate = "-".join(groups)
        if password_problem(candidate, username) is None:
            return candidate


def reset_password(actor_id: int, user_id: int, method: str, now: dt.datetime) -> tuple[User, str]:
    """Reset a person's password: "temporary" returns a password to give them (changed at
    their next sign-in), "link" returns a one-time link's token to email them.

    Either way the old password stops working, the password and PIN locks are lifted, any
    earlier link is spent and every session of theirs ends at once.
    """
    if method not in ("temporary", "link"):
        raise AccountError({"method": "Select how the person will set their new password"})
    with accounts_transaction():
        actor = _acting_admin(actor_id)
        user = _person(user_id, None)
        if user.id == actor.id:
            raise AccountConflict(
                "You cannot reset your own password here: change it from your account page."
            )
        if not user.active:
            raise AccountConflict(f"{user.display_name}'s account is disabled: enable it first.")
        if method == "link" and not user.email:
            raise AccountError(
                {"method": f"{user.display_name} has no email address: give a temporary password"}
            )
        if method == "temporary":
            secret = _temporary_password(user.username)
            new_hash, must_change = hash_secret(secret), True
            PasswordReset.end_all(user.id, now)
        else:
            secret = PasswordReset.issue(user, actor, now)
            new_hash, must_change = unusable_password_hash(), False
        User.update(
            password_hash=new_hash,
            must_change_password=must_change,
            failed_sign_ins=0,
            locked_until=None,
        ).where(User.id == user.id).execute()
        ended = UserSession.end_all(user.id, now, "password")
        _audit(
            actor.id,
            now,
            "user",
            user.id,
            "reset_password",
            {"method": "temporary_password" if method == "temporary" else "email_link",
             "sessions_ended": ended},
        )  # fmt: skip
    return user, secret


def end_sessions(
    actor_id: int, user_id: int, now: dt.datetime, session_id: int | None = None
) -> int:
    """End one of a person's sessions, or all of them; how many were open."""
    with accounts_transaction():
        actor = _acting_admin(actor_id)
        user = _person(user_id, None)
        query = UserSession.update(ended_at=now, ended_reason="admin").where(
            UserSession.user == user.id, UserSession.ended_at.is_null()
        )
        if session_id is not None:
            query = query.where(UserSession.id == session_id)
        ended = query.execute()
        if ended:
            _audit(actor.id, now, "user", user.id, "end_sessions", {"sessions_ended": ended})
    return ended


# -- A person's own password ----------------------------------------------------------------------


def set_own_password(user: User, password: str, now: dt.datetime, keep_session_id: int | None,
                     event: str = "change_password") -> int:  # fmt: skip
    """Save a new password the person chose (already checked against the rule); end their
    other sessions. Returns how many sessions ended."""
    with write_transaction():
        User.update(
            password_hash=hash_secret(password),
            must_change_password=False,
            failed_sign_ins=0,
            locked_until=None,
        ).where(User.id == user.id).execute()
        PasswordReset.end_all(user.id, now)
        ended = UserSession.end_all(user.id, now, "password", keep_id=keep_session_id)
        _audit(user.id, now, "user", user.id, event, {"sessions_ended": ended})
    return ended


# -- Teams ---------------------------------------------------------------------------------------


def team_name_error(name: str, team: Team | None = None) -> str | None:
    if not name:
        return "Enter the team's name"
    if len(name) > TEAM_NAME_MAX:
        return f"Team name must be {TEAM_NAME_MAX} characters or fewer"
    taken = Team.get_or_none(fn.LOWER(Team.name) == name.lower())
    if taken is not None and (team is None or taken.id != team.id):
        return f"There is already a team called {taken.name}"
    return None


def add_team(actor_id: int, name: str, now: dt.datetime) -> Team:
    with accounts_transaction():
        _acting_admin(actor_id)
        if problem := team_name_error(name):
            raise AccountError({"name": problem})
        team = Team.create(name=name)
        _audit(actor_id, now, "team", team.id, "add_team", {"name": name})
    return team


def rename_team(actor_id: int, team_id: int, name: str, now: dt.datetime) -> Team:
    with accounts_transaction():
        _acting_admin(actor_id)
        team = Team.get_or_none(Team.id == team_id)
        if team is None:
            raise AccountConflict("That team no longer exists.")
        if team.retired_at is not None:
            raise AccountConflict(f"{team.name} has been retired.")
        if problem := team_name_error(name, team):
            raise AccountError({"name": problem})
        if name != team.name:
            Team.update(name=name).where(Team.id == team.id).execute()
            _audit(actor_id, now, "team", team.id, "rename_team", {"name": [team.name, name]})
            team.name = name
    return team


@dataclass
class TeamContents:
    members: int = 0
    records: int = 0
    open_removals: int = 0
    open_breaches: int = 0
    open_dispatches: int = 0
    remote_agreements: int = 0

    def blockers(self) -> list[str]:
        """What stops the team being retired, in words."""
        said = []
        for count, one, many in (
            (self.members, "active member", "active members"),
            (self.records, "record", "records"),
            (self.open_removals, "removal not finished", "removals not finished"),
            (self.open_breaches, "open breach case", "open breach cases"),
            (self.open_dispatches, "dispatch not finished", "dispatches not finished"),
            (
                self.remote_agreements,
                "remote working agreement in force or waiting",
                "remote working agreements in force or waiting",
            ),
        ):
            if count:
                said.append(f"{count} {one if count == 1 else many}")
        return said


def team_contents(team_id: int) -> TeamContents:
    from machines import clock

    open_breach = [s.id for s in BreachMachine.states if not s.final]
    # A removal is open in every state until an event into a final state sets closed_at.
    return TeamContents(
        members=User.select().where(User.team == team_id, User.active == True).count(),  # noqa: E712
        records=Record.select().where(Record.team == team_id).count(),
        open_removals=Removal.select()
        .where(Removal.team == team_id, Removal.closed_at.is_null())
        .count(),
        open_breaches=Breach.select()
        .where(Breach.team == team_id, Breach.state.in_(open_breach))
        .count(),
        open_dispatches=Dispatch.select()
        .where(Dispatch.team == team_id, Dispatch.state.in_(OPEN_DISPATCH_STATES))
        .count(),
        # Asked, or agreed and not past its end (the board's list): someone from this team
        # may still be working on its records away from the office.
        remote_agreements=RemoteAgreement.current([team_id], clock.uk_today()).count(),
    )


def retire_team(actor_id: int, team_id: int, now: dt.datetime) -> Team:
    """Retire a team with nothing left in it: no active members, records or open work."""
    with accounts_transaction():
        _acting_admin(actor_id)
        team = Team.get_or_none(Team.id == team_id)
        if team is None:
            raise AccountConflict("That team no longer exists.")
        if team.retired_at is not None:
            raise AccountConflict(f"{team.name} has already been retired.")
        blockers = team_contents(team.id).blockers()
        if blockers:
            raise AccountConflict(f"{team.name} cannot be retired while it has {_and(blockers)}.")
        Team.update(retired_at=now).where(Team.id == team.id).execute()
        _audit(actor_id, now, "team", team.id, "retire_team", {"name": team.name})
        team.retired_at = now
    return team


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
