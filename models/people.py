"""Teams, staff accounts, their roles, and the server-side sign-in sessions."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from peewee import (
    JOIN,
    BooleanField,
    Case,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    OperationalError,
    fn,
)

from machines.common import Actor
from machines.permissions import ROLE_LABELS, Can, grants, roles_that
from machines.security_log import security_event
from models.base import BaseModel, is_postgres, utcnow, write_transaction
from models.prepared import Prepared

# argon2id at one of the settings OWASP gives as equal in strength (19 MiB and 2 passes, 12
# and 3, 9 and 4, 7 and 5): the one that takes least memory, since a worker's peak keeps the
# memory of its largest hash for good. Hashes made with other settings still verify, and are
# made again with these at the next right password or PIN.
_hasher = PasswordHasher(time_cost=5, memory_cost=7 * 1024, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both cases take the same time.

    Made on first use, not at import: a worker that never checks a password never spends
    the hash's memory.
    """
    return _hasher.hash(secrets.token_hex(16))


# Wrong passwords, and wrong kiosk PINs, before a lock; and how long the lock lasts.
MAX_FAILED_SIGN_INS = 5
LOCKOUT = dt.timedelta(minutes=15)
LOCKOUT_MINUTES = int(LOCKOUT.total_seconds() // 60)


@dataclass(frozen=True)
class SecretCheck:
    """What one password or PIN try came to."""

    ok: bool
    refused_locked: bool = False  # a lock was in force: refused without checking
    locked_now: bool = False  # this wrong try reached the limit and locked


def hash_secret(secret: str) -> str:
    """Hash a password or PIN with argon2id."""
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """Return True when the secret matches the stored hash (always spends the same effort)."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), secret) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class Team(BaseModel):
    name = CharField(unique=True)
    # Retired teams keep their history but take no new members, records or work.
    retired_at = DateTimeField(null=True)

    @classmethod
    def current(cls):
        """Teams not retired, by name."""
        return cls.select().where(cls.retired_at.is_null()).order_by(cls.name)


class User(BaseModel):
    username = CharField(unique=True)
    display_name = CharField()
    staff_number = CharField(unique=True)
    email = CharField(null=True)  # work email, for reminders; never a service user's
    team = ForeignKeyField(Team, backref="members", null=True)
    line_manager = ForeignKeyField("self", null=True, backref="reports")
    password_hash = CharField()
    pin_hash = CharField(null=True)
    active = BooleanField(default=True)
    failed_sign_ins = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    failed_pins = IntegerField(default=0)
    pin_locked_until = DateTimeField(null=True)
    # machines.professions: which professional regulator a breach decision refers to.
    profession = CharField(null=True)
    created_at = DateTimeField(default=utcnow)
    # Set by an administrator's temporary password: every page asks for a new one first.
    must_change_password = BooleanField(default=False)
    # Moves with each administrator's change (details, roles, disabling): two administrators
    # editing one person at once cannot overwrite each other (409). Sign-in counters and the
    # PIN do not move it.
    version = IntegerField(default=1)
    # The day their data protection training was completed (machines/training.py): recorded
    # by an administrator or the learning system's import. None: no training recorded.
    trained_on = DateField(null=True)

    # Flask-Login: the request's server-side session, set by the user loader.
    session_token: str | None = None
    session_id: int | None = None
    session_started_at: dt.datetime | None = None
    session_last_seen_at: dt.datetime | None = None
    session_via: str | None = None  # "password" or "sso"
    _roles: frozenset[str] | None = None

    # -- Flask-Login protocol: the id in the cookie is the server-side session's token.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.session_token

    # -- Roles
    @property
    def roles(self) -> frozenset[str]:
        if self._roles is None:
            self._roles = frozenset(r.role for r in UserRole.select().where(UserRole.user == self))
        return self._roles

    def can(self, capability: Can) -> bool:
        """Return True when one of this person's roles grants the capability."""
        return grants(self.roles, capability)

    @property
    def role_labels(self) -> list[str]:
        return [label for role, label in ROLE_LABELS.items() if role in self.roles]

    @classmethod
    def active_people(cls):
        """Active accounts of people: a kiosk (a shared team-base PC) is no one to give work."""
        kiosks = UserRole.select(UserRole.user).where(
            UserRole.role.in_(sorted(roles_that(Can.KIOSK_DEVICE)))
        )
        return cls.select().where(cls.active == True, cls.id.not_in(kiosks))  # noqa: E712

    def as_actor(self) -> Actor:
        """Return the plain value the state machines check guards against."""
        return Actor(
            id=self.id,
            roles=self.roles,
            team_id=self.team_id,
            line_manager_id=self.line_manager_id,
        )

    # -- Passwords, PINs and their locks: the one counted path every check goes through.
    #
    # A try is counted BEFORE the secret is checked ("reserve, then check"), in one atomic
    # UPDATE that matches only while no lock is in force: concurrent tries each take their
    # own place in the count, so exactly MAX_FAILED_SIGN_INS are ever checked before the lock,
    # on any number of workers. A right secret then clears the count.
    def check_password(self, password: str, now: dt.datetime, *, purpose: str) -> SecretCheck:
        """Count and check the account password (pages call models.sign_ins.check_password,
        which also puts a lock this try causes on the audit trail).

        `purpose` names the page asking ("sign_in", "set_pin") for the security log.
        """
        result = self._check_secret(
            password, User.password_hash, User.failed_sign_ins, User.locked_until, now, self.active
        )
        self._after_check(
            result,
            now,
            failed_event="sign_in_failed" if purpose == "sign_in" else "password_check_failed",
            purpose=purpose,
        )
        return result

    def check_pin(self, pin: str, now: dt.datetime, kiosk: User) -> SecretCheck:
        """Count and check a kiosk PIN at a kiosk of the person's own team (the kiosk calls
        models.sign_ins.identify_at_kiosk, which puts a lock on the audit trail)."""
        allowed = self.active and self.team_id is not None and self.team_id == kiosk.team_id
        result = self._check_secret(
            pin, User.pin_hash, User.failed_pins, User.pin_locked_until, now, allowed
        )
        self._after_check(result, now, failed_event="pin_failed", kiosk_id=kiosk.id)
        return result

    def _check_secret(
        self,
        secret: str,
        hash_field: CharField,
        counter: IntegerField,
        locked_until: DateTimeField,
        now: dt.datetime,
        allowed: bool,
    ) -> SecretCheck:
        reserved, locks = self._reserve_try(counter, locked_until, now)
        if not reserved:
            # Locked: refuse unchecked, but spend the same effort, so a lock is not told by
            # a quicker answer.
            verify_secret(None, secret)
            return SecretCheck(ok=False, refused_locked=True)
        stored_hash = getattr(self, hash_field.name)
        if verify_secret(stored_hash, secret) and allowed:
            changes = {counter: 0, locked_until: None}
            if _hasher.check_needs_rehash(stored_hash):  # made with older settings
                changes[hash_field] = hash_secret(secret)
            User.update(changes).where(User.id == self.id).execute()
            return SecretCheck(ok=True)
        return SecretCheck(ok=False, locked_now=locks)

    def _reserve_try(
        self, counter: IntegerField, locked_until: DateTimeField, now: dt.datetime
    ) -> tuple[bool, bool]:
        """Count one try in a single statement; return (counted, this try reaches the limit).

        Not counted means a lock is in force. The try that reaches the limit sets the lock
        and restarts the count in the same statement. SQLite runs it inside BEGIN IMMEDIATE;
        on PostgreSQL a concurrent UPDATE waits for the row and re-checks the WHERE against
        the committed row, so no two tries ever see the same count.
        """
        reaches = counter + 1 >= MAX_FAILED_SIGN_INS
        with write_transaction():
            rows = list(
                User.update(
                    {
                        counter: Case(None, [(reaches, 0)], counter + 1),
                        # An expired lock is cleared by the next counted try.
                        locked_until: Case(None, [(reaches, now + LOCKOUT)], None),
                    }
                )
                .where(User.id == self.id, locked_until.is_null() | (locked_until <= now))
                .returning(locked_until)
                .execute()
            )
        if not rows:
            return False, False
        return True, getattr(rows[0], locked_until.name) is not None

    def _after_check(
        self,
        result: SecretCheck,
        now: dt.datetime,
        *,
        failed_event: str,
        kiosk_id: int | None = None,
        purpose: str | None = None,
    ) -> None:
        """Log a failed try (models/sign_ins.py puts a lock it caused on record)."""
        if result.ok:
            return
        fields = {"purpose": purpose} if purpose else {}
        if kiosk_id is not None:
            fields["kiosk_id"] = kiosk_id
        security_event(
            failed_event,
            user_id=self.id,
            known_account=True,
            while_locked=result.refused_locked,
            **fields,
        )

    @classmethod
    def by_username(cls, username: str) -> User | None:
        return cls.get_or_none(fn.LOWER(cls.username) == username.strip().lower())


def who_and_when() -> tuple[ForeignKeyField, DateTimeField]:
    """The two columns of a step in a lifecycle: the person who took it and when, both empty
    until it is taken (`checked_by, checked_at = who_and_when()`)."""
    return ForeignKeyField(User, null=True), DateTimeField(null=True)


class UserRole(BaseModel):
    user = ForeignKeyField(User, backref="role_rows", on_delete="CASCADE")
    role = CharField()

    class Meta:
        indexes = ((("user", "role"), True),)


# Why a session ended, for the sign-in page's explanation: its own limits ("idle",
# "lifetime"), the account's password changed or reset ("password"), ended from another of the
# person's browsers ("elsewhere"), or by an administrator ("admin": disabled, roles changed).
EXPIRY_REASONS = ("idle", "lifetime", "password", "elsewhere", "admin")


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


DEVICE_MAX = 40


class UserSession(BaseModel):
    """A server-side sign-in: ending it here makes any copy of the cookie worthless."""

    token_digest = CharField(unique=True)
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(default=utcnow)
    ended_at = DateTimeField(null=True)
    # "sign_out", or the limit that ended it ("idle", "lifetime"): the sign-in page says why.
    # An administrator or the person ending it elsewhere: "ended_elsewhere", "disabled", ...
    ended_reason = CharField(null=True, max_length=20)
    # How the person signed in: "password" or "sso" (the council's identity provider).
    via = CharField(null=True, max_length=10)
    # The browser and system in words (views.display.device_words), to tell sessions apart.
    device = CharField(null=True, max_length=DEVICE_MAX)

    @classmethod
    def start(
        cls, user: User, now: dt.datetime, via: str = "password", device: str | None = None
    ) -> str:
        """Open a session for the user and return its token (the only copy is the cookie's).
        `device` names the browser in words ("Chrome on Windows") for the sessions list."""
        token = secrets.token_urlsafe(32)
        cls.create(
            token_digest=_token_digest(token),
            user=user,
            created_at=now,
            last_seen_at=now,
            via=via,
            device=device[:DEVICE_MAX] if device else None,
        )
        return token

    @classmethod
    def open_for(
        cls, user_id: int, now: dt.datetime, idle: dt.timedelta, lifetime: dt.timedelta
    ) -> list[UserSession]:
        """The person's sessions that are still open now (not ended, within both limits),
        most recently active first. A kiosk's longer idle limit is not counted here."""
        return list(
            cls.select()
            .where(
                cls.user == user_id,
                cls.ended_at.is_null(),
                cls.last_seen_at >= now - idle,
                cls.created_at >= now - lifetime,
            )
            .order_by(cls.last_seen_at.desc(), cls.id.desc())
        )

    @classmethod
    def end_all(
        cls, user_id: int, now: dt.datetime, reason: str, keep_id: int | None = None
    ) -> int:
        """End every open session of the person (but `keep_id`'s); how many were open."""
        query = cls.update(ended_at=now, ended_reason=reason).where(
            cls.user == user_id, cls.ended_at.is_null()
        )
        if keep_id is not None:
            query = query.where(cls.id != keep_id)
        return query.execute()

    @classmethod
    def last_sign_in(cls, user_id: int) -> dt.datetime | None:
        return cls.select(fn.MAX(cls.created_at)).where(cls.user == user_id).scalar()

    @classmethod
    def resume(
        cls,
        token: str,
        now: dt.datetime,
        idle: dt.timedelta,
        *,
        kiosk_idle: dt.timedelta | None = None,
        lifetime: dt.timedelta | None = None,
        touch: bool = True,
    ) -> tuple[User | None, str | None]:
        """The signed-in user for a token, and why not when the session ended just now.

        Returns (user, None) while the session is open; (None, "idle" | "lifetime") when it
        ended for that limit (now or on an earlier request); (None, None) otherwise.

        One statement reads the session, its user, their team and roles (a row per role),
        which the pages ask for next. Then the request counts as activity: `last_seen_at`
        moves to now, in one statement with the check, only where it is still within the
        idle limit, so two racing requests cannot revive an expired session. It moves at
        most once a second (TOUCH_EVERY): the idle limit still counts from the last request
        to the second, and a page with its htmx parts, or several tabs, write it once.
        `touch=False` (the page's "how long have I got?" question) reads without counting as
        activity. A kiosk account (a shared team-base PC) may stay idle for `kiosk_idle`.
        """
        digest = _token_digest(token)
        rows = _SESSION_WITH_USER.rows(digest=digest)
        row = rows[0] if rows else None
        if row is None or row.ended_at is not None:
            return None, _why_ended(row)
        if not row.user.active:
            return None, None
        user = row.user
        user._roles = frozenset(
            r.user.userrole.role
            for r in rows
            if getattr(r.user, "userrole", None) is not None and r.user.userrole.role
        )
        user.session_token = token
        user.session_id = row.id
        user.session_started_at = row.created_at
        user.session_via = row.via
        user.session_last_seen_at = row.last_seen_at
        if lifetime is not None and now - row.created_at > lifetime:
            return row.expire(now, "lifetime")
        idle_for = now - row.last_seen_at
        limit = idle
        if idle_for > idle and kiosk_idle is not None and user.can(Can.KIOSK_DEVICE):
            limit = kiosk_idle
        if idle_for > limit:
            return row.expire(now, "idle")
        if not touch or dt.timedelta(0) <= idle_for < TOUCH_EVERY:
            return user, None
        touch_statement = _TOUCH if lifetime is None else _TOUCH_WITHIN_LIFETIME
        born_after = now - lifetime if lifetime is not None else None
        try:
            touched = touch_statement.execute(
                now=now, digest=digest, born_after=born_after, seen_after=now - limit
            )
        except OperationalError:
            # A database that cannot take this write (a full disk) still serves reads:
            # the session is judged by its last recorded activity, untouched.
            return user, None
        if touched:
            user.session_last_seen_at = now
            return user, None
        # Ended between the read and the touch (signed out elsewhere, or expired by a racing
        # request): as it ended.
        again = _SESSION_WITH_USER.rows(digest=digest)
        return None, _why_ended(again[0] if again else None)

    @classmethod
    def end_token(cls, token: str, now: dt.datetime) -> None:
        cls.update(ended_at=now, ended_reason="sign_out").where(
            cls.token_digest == _token_digest(token), cls.ended_at.is_null()
        ).execute()

    def end(self, now: dt.datetime, reason: str = "sign_out") -> None:
        type(self).update(ended_at=now, ended_reason=reason).where(
            type(self).id == self.id, type(self).ended_at.is_null()
        ).execute()

    def expire(self, now: dt.datetime, reason: str) -> tuple[None, str]:
        """End a session found past a limit; log it; return resume's answer for it."""
        self.end(now, reason)
        security_event("session_expired", user_id=self.user_id, reason=reason)
        return None, reason


# How often a session's last activity is written at most (UserSession.resume).
TOUCH_EVERY = dt.timedelta(seconds=1)


def _why_ended(row: UserSession | None) -> str | None:
    """The limit a session ended for, for the sign-in page to say ("idle", "lifetime"...)."""
    if row is None or row.ended_reason not in EXPIRY_REASONS:
        return None
    return row.ended_reason


# The statements every signed-in request runs, compiled once (models/prepared.py: why).
def _touch(within_lifetime: bool) -> Prepared:
    """Move an open session's last activity to now, if it is still within the limits."""

    def build(now, digest, seen_after, born_after=None):
        fresh = [UserSession.token_digest == digest, UserSession.ended_at.is_null()]
        if within_lifetime:
            fresh.append(UserSession.created_at >= born_after)
        return UserSession.update(last_seen_at=now).where(
            *fresh, UserSession.last_seen_at >= seen_after
        )

    kinds = {"now": dt.datetime, "digest": str, "seen_after": dt.datetime}
    if within_lifetime:
        kinds["born_after"] = dt.datetime
    return Prepared(build, **kinds)


_TOUCH = _touch(within_lifetime=False)
_TOUCH_WITHIN_LIFETIME = _touch(within_lifetime=True)
# The session, its user, their team and roles (a row per role): what the pages ask for next.
_SESSION_WITH_USER = Prepared(
    lambda digest: (
        UserSession.select(UserSession, User, Team, UserRole.role)
        .join(User)
        .join(Team, JOIN.LEFT_OUTER, on=(User.team == Team.id), attr="team")
        .switch(User)
        .join(UserRole, JOIN.LEFT_OUTER, on=(UserRole.user == User.id))
        .where(UserSession.token_digest == digest)
    ),
    digest=str,
)


# A reset link works once, for this long.
RESET_LINK_LIFETIME = dt.timedelta(minutes=60)


class PasswordReset(BaseModel):
    """A one-time password reset link an administrator sent: only its digest is kept."""

    token_digest = CharField(unique=True)
    user = ForeignKeyField(User, backref="password_resets", on_delete="CASCADE")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField()
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)

    @classmethod
    def end_all(cls, user_id: int, now: dt.datetime) -> int:
        """End every outstanding link of the person's for good; how many there were.

        Ended as if used: nothing (enabling the account again, a later link) revives one.
        """
        return cls.update(used_at=now).where(cls.user == user_id, cls.used_at.is_null()).execute()

    @classmethod
    def issue(cls, user: User, by: User | None, now: dt.datetime) -> str:
        """A new link's token for the person; any earlier unused link of theirs stops working."""
        cls.end_all(user.id, now)
        token = secrets.token_urlsafe(32)
        cls.create(
            token_digest=_token_digest(token),
            user=user.id,
            created_by=by.id if by else None,
            created_at=now,
            expires_at=now + RESET_LINK_LIFETIME,
        )
        return token

    @classmethod
    def valid(cls, token: str, now: dt.datetime) -> PasswordReset | None:
        """The unused, unexpired link for a token, with its active account; else None."""
        return cls._usable(cls.token_digest == _token_digest(token), now)

    @classmethod
    def valid_by_id(cls, reset_id: int, now: dt.datetime) -> PasswordReset | None:
        """The link by its id (what the session keeps once the link was followed), if usable."""
        return cls._usable(cls.id == reset_id, now)

    @classmethod
    def by_token(cls, token: str) -> PasswordReset | None:
        """The link a token names, usable or not (a refusal is logged by its id)."""
        return cls.get_or_none(cls.token_digest == _token_digest(token))

    @classmethod
    def _usable(cls, which, now: dt.datetime) -> PasswordReset | None:
        return (
            cls.select(cls, User)
            .join(User, on=(cls.user == User.id))
            .where(
                which,
                cls.used_at.is_null(),
                cls.expires_at > now,
                User.active == True,  # noqa: E712
            )
            .first()
        )

    def use(self, now: dt.datetime) -> bool:
        """Spend the link; False when another request spent it first (single use)."""
        cls = type(self)
        return bool(
            cls.update(used_at=now).where(cls.id == self.id, cls.used_at.is_null()).execute()
        )


# The person identified at a kiosk is forgotten after this long without input.
KIOSK_PERSON_IDLE = dt.timedelta(seconds=60)


class KioskSession(BaseModel):
    """Who is identified at a kiosk now: a row on the server, one per kiosk sign-in session.

    The kiosk's cookie names only the kiosk's own session; the person is found here, so a
    copy of the cookie taken while Pat was identified no longer names Pat once this row is
    gone ("sign me out", 60 seconds without input, the next person identifying, or an action
    completed).
    """

    session = ForeignKeyField(UserSession, unique=True, on_delete="CASCADE")
    person = ForeignKeyField(User, on_delete="CASCADE")
    started_at = DateTimeField()
    last_input_at = DateTimeField()

    @classmethod
    def begin(cls, session_id: int, person: User, now: dt.datetime) -> None:
        """Identify `person` at this kiosk session, replacing whoever was identified."""
        cls.insert(
            session=session_id, person=person.id, started_at=now, last_input_at=now
        ).on_conflict(
            conflict_target=[cls.session],
            update={cls.person: person.id, cls.started_at: now, cls.last_input_at: now},
        ).execute()

    @classmethod
    def current(cls, session_id: int, now: dt.datetime) -> tuple[User | None, bool]:
        """The person identified at this kiosk session now, and whether they just timed out.

        Their input keeps them: the touch and the idle check are one statement.
        """
        touched = (
            cls.update(last_input_at=now)
            .where(cls.session == session_id, cls.last_input_at >= now - KIOSK_PERSON_IDLE)
            .execute()
        )
        if not touched:
            expired = (
                cls.delete()
                .where(cls.session == session_id, cls.last_input_at < now - KIOSK_PERSON_IDLE)
                .execute()
            )
            return None, bool(expired)
        person = (
            User.select()
            .join(cls, on=(cls.person == User.id))
            .where(cls.session == session_id, User.active == True)  # noqa: E712
            .first()
        )
        if person is None:
            cls.end(session_id)
        return person, False

    @classmethod
    def end(cls, session_id: int) -> None:
        cls.delete().where(cls.session == session_id).execute()


# A kiosk refuses identification for a while after this many failures within the window,
# whoever they were against: one common PIN tried against many staff numbers is caught here,
# where the per-person PIN lock (User.failed_pins) never sees more than one try each.
KIOSK_MAX_FAILURES = 10
KIOSK_FAILURE_WINDOW = dt.timedelta(minutes=15)
KIOSK_LOCKOUT = dt.timedelta(minutes=5)


class KioskFailure(BaseModel):
    """One try at identifying (staff number and PIN) at one kiosk, counted before it is
    checked, deleted again when it proves right: what stays are the failures.

    Rows in the database, not a per-worker counter, so the limit holds across workers and
    servers. Rows older than the window are deleted as new ones arrive.
    """

    kiosk = ForeignKeyField(User, backref="kiosk_failures", on_delete="CASCADE")
    at = DateTimeField()

    class Meta:
        indexes = ((("kiosk", "at"), False),)

    @classmethod
    def locked_until(cls, kiosk_id: int, now: dt.datetime) -> dt.datetime | None:
        """When identification opens again at this kiosk, or None when it is open now.

        Refused while the last KIOSK_MAX_FAILURES failures all fell within the window and
        the latest is less than KIOSK_LOCKOUT old. One statement.
        """
        recent = list(
            cls.select(cls.at)
            .where(cls.kiosk == kiosk_id, cls.at > now - KIOSK_FAILURE_WINDOW)
            .order_by(cls.at.desc())
            .limit(KIOSK_MAX_FAILURES)
            .tuples()
        )
        if len(recent) < KIOSK_MAX_FAILURES:
            return None
        until = recent[0][0] + KIOSK_LOCKOUT
        return until if until > now else None

    @classmethod
    def reserve(
        cls, kiosk_id: int, now: dt.datetime
    ) -> tuple[KioskFailure | None, dt.datetime | None, bool]:
        """Count a try at this kiosk before it is checked.

        Returns (the counted try, None, whether it reaches the pause), or (None, paused
        until, False) when the kiosk is paused. The pause check and the count happen under
        one lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: the kiosk account's row, FOR UPDATE),
        so concurrent tries cannot all find the kiosk open.
        """
        with write_transaction():
            if is_postgres():
                User.select(User.id).where(User.id == kiosk_id).for_update().execute()
            paused_until = cls.locked_until(kiosk_id, now)
            if paused_until is not None:
                return None, paused_until, False
            cls.delete().where(
                cls.kiosk == kiosk_id, cls.at <= now - KIOSK_FAILURE_WINDOW
            ).execute()
            attempt = cls.create(kiosk=kiosk_id, at=now)
            return attempt, None, cls.locked_until(kiosk_id, now) is not None
