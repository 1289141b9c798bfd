"""Teams, staff accounts, their roles, and the server-side sign-in sessions."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from peewee import (
    JOIN,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    fn,
)

from machines.common import Actor
from machines.permissions import ROLE_LABELS, Can, grants
from models.base import BaseModel, utcnow

# OWASP's minimum for argon2id: 19 MiB, 2 iterations, 1 lane.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both cases take the same time.

    Made on first use, not at import: argon2 takes 19 MiB to hash, and memory taken while a
    worker starts stays in its peak for good.
    """
    return _hasher.hash(secrets.token_hex(16))


# Wrong passwords, and wrong kiosk PINs, before a lock; and how long the lock lasts.
MAX_FAILED_SIGN_INS = 5
LOCKOUT = dt.timedelta(minutes=15)


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

    # Flask-Login: the session token of the request, set by the user loader.
    session_token: str | None = None
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

    def as_actor(self) -> Actor:
        """Return the plain value the state machines check guards against."""
        return Actor(
            id=self.id,
            roles=self.roles,
            team_id=self.team_id,
            line_manager_id=self.line_manager_id,
        )

    # -- Passwords and throttling (in the database, so the limit holds across workers)
    def set_password(self, password: str) -> None:
        self.password_hash = hash_secret(password)

    def is_locked(self, now: dt.datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def record_failed_sign_in(self, now: dt.datetime) -> bool:
        """Count a wrong password; lock the account at the limit (True when this failure
        locked it, so the caller can put the lock in the audit trail)."""
        return self._count_failure(User.failed_sign_ins, User.locked_until, now)

    def record_sign_in(self) -> None:
        User.update(failed_sign_ins=0, locked_until=None).where(User.id == self.id).execute()

    def pin_is_locked(self, now: dt.datetime) -> bool:
        return self.pin_locked_until is not None and self.pin_locked_until > now

    def record_failed_pin(self, now: dt.datetime) -> bool:
        """Count a wrong kiosk PIN; lock the PIN at the limit (True when this one locked it)."""
        return self._count_failure(User.failed_pins, User.pin_locked_until, now)

    def record_pin_success(self) -> None:
        User.update(failed_pins=0, pin_locked_until=None).where(User.id == self.id).execute()

    def _count_failure(self, counter: IntegerField, locked_until: DateTimeField, now) -> bool:
        # Incremented in the database, not on this object, so the limit holds across workers;
        # call inside a write transaction.
        User.update({counter: counter + 1}).where(User.id == self.id).execute()
        failures = User.select(counter).where(User.id == self.id).scalar()
        if failures < MAX_FAILED_SIGN_INS:
            return False
        User.update({counter: 0, locked_until: now + LOCKOUT}).where(User.id == self.id).execute()
        return True

    @classmethod
    def by_username(cls, username: str) -> User | None:
        return cls.get_or_none(fn.LOWER(cls.username) == username.strip().lower())


class UserRole(BaseModel):
    user = ForeignKeyField(User, backref="role_rows", on_delete="CASCADE")
    role = CharField()

    class Meta:
        indexes = ((("user", "role"), True),)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserSession(BaseModel):
    """A server-side sign-in: ending it here makes any copy of the cookie worthless."""

    token_digest = CharField(unique=True)
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(default=utcnow)
    ended_at = DateTimeField(null=True)

    # Touch last_seen_at at most this often: a write per request would cost more than it tells.
    TOUCH_EVERY = dt.timedelta(seconds=60)

    @classmethod
    def start(cls, user: User, now: dt.datetime) -> str:
        """Open a session for the user and return its token (the only copy is the cookie's)."""
        token = secrets.token_urlsafe(32)
        cls.create(token_digest=_token_digest(token), user=user, created_at=now, last_seen_at=now)
        return token

    @classmethod
    def resume(
        cls,
        token: str,
        now: dt.datetime,
        idle: dt.timedelta,
        kiosk_idle: dt.timedelta | None = None,
    ) -> User | None:
        """Return the signed-in user for a token, or None when ended, idle too long or disabled.

        A kiosk account (a shared team-base PC) may stay idle for `kiosk_idle` instead, so an
        unused kiosk does not fall back to the sign-in page every half hour.

        One statement: the session, its user, their team and roles (a row per role), which
        the pages ask for next.
        """
        rows = list(
            cls.select(cls, User, Team, UserRole.role)
            .join(User)
            .join(Team, JOIN.LEFT_OUTER, on=(User.team == Team.id), attr="team")
            .switch(User)
            .join(UserRole, JOIN.LEFT_OUTER, on=(UserRole.user == User.id))
            .where(cls.token_digest == _token_digest(token), cls.ended_at.is_null())
        )
        if not rows:
            return None
        row = rows[0]
        row.user._roles = frozenset(
            r.user.userrole.role
            for r in rows
            if getattr(r.user, "userrole", None) is not None and r.user.userrole.role
        )
        if not row.user.active:
            return None
        idle_for = now - row.last_seen_at
        if idle_for > idle and not (
            kiosk_idle is not None and idle_for <= kiosk_idle and row.user.can(Can.KIOSK_DEVICE)
        ):
            row.end(now)
            return None
        if now - row.last_seen_at > cls.TOUCH_EVERY:
            cls.update(last_seen_at=now).where(cls.id == row.id).execute()
        user = row.user
        user.session_token = token
        return user

    @classmethod
    def end_token(cls, token: str, now: dt.datetime) -> None:
        cls.update(ended_at=now).where(
            cls.token_digest == _token_digest(token), cls.ended_at.is_null()
        ).execute()

    def end(self, now: dt.datetime) -> None:
        type(self).update(ended_at=now).where(type(self).id == self.id).execute()


# A kiosk refuses identification for a while after this many failures within the window,
# whoever they were against: one common PIN tried against many staff numbers is caught here,
# where the per-person PIN lock (User.failed_pins) never sees more than one try each.
KIOSK_MAX_FAILURES = 10
KIOSK_FAILURE_WINDOW = dt.timedelta(minutes=15)
KIOSK_LOCKOUT = dt.timedelta(minutes=5)


class KioskFailure(BaseModel):
    """One failed identification (wrong staff number or PIN) at one kiosk.

    Rows in the database, not a per-worker counter, so the limit holds across workers and
    servers. Inserts only (no counter row to race on); rows older than the window are
    deleted as new ones arrive.
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
    def record(cls, kiosk_id: int, now: dt.datetime) -> bool:
        """Count a failure (call inside a transaction); return True when it locks the kiosk."""
        cls.delete().where(cls.kiosk == kiosk_id, cls.at <= now - KIOSK_FAILURE_WINDOW).execute()
        cls.create(kiosk=kiosk_id, at=now)
        return cls.locked_until(kiosk_id, now) is not None
