"""Sign-in tries: a password at sign-in or on an own-account page, and a PIN at a kiosk.

models/people.py counts each try and sets a lock in the same statement; this module puts the
locks on the audit trail. It stands above both, since the audit trail names people: the
people module never imports the audit trail back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from machines.security_log import security_event
from models.audit import AuditEvent
from models.base import write_transaction
from models.people import (
    KIOSK_LOCKOUT,
    LOCKOUT_MINUTES,
    KioskFailure,
    SecretCheck,
    User,
    verify_secret,
)


def authenticate(username: str, password: str, now: dt.datetime) -> User | None:
    """The account for a username and password, or None, whatever the reason.

    An unknown username, a wrong password, a locked or disabled account all cost one
    argon2 verification and give the same None: neither the answer nor its timing
    tells a stranger which accounts exist or are locked.
    """
    user = User.by_username(username)
    if user is None:
        verify_secret(None, password)
        security_event("sign_in_failed", user_id=None, known_account=False)
        return None
    return user if check_password(user, password, now, purpose="sign_in").ok else None


def check_password(user: User, password: str, now: dt.datetime, *, purpose: str) -> SecretCheck:
    """Check the account password, counted and locking like every other password check.

    `purpose` names the page asking ("sign_in", "set_pin") for the security log.
    """
    result = user.check_password(password, now, purpose=purpose)
    if result.locked_now:
        _put_lock_on_record(user, "account_locked", now, purpose=purpose)
    return result


@dataclass(frozen=True)
class KioskIdentification:
    person: User | None
    paused_until: dt.datetime | None = None


def identify_at_kiosk(
    kiosk: User, staff_number: str, pin: str, now: dt.datetime
) -> KioskIdentification:
    """Identify a person at a kiosk by staff number and PIN, through the counted paths.

    The try is counted at the kiosk (its pause) and against the person (their PIN lock)
    before the PIN is checked. An unknown staff number, a wrong PIN, a locked PIN, another
    team's person or no PIN set all give the same refusal.
    """
    attempt, paused_until, pauses = KioskFailure.reserve(kiosk.id, now)
    if attempt is None:
        security_event("kiosk_paused", user_id=kiosk.id, while_paused=True)
        return KioskIdentification(None, paused_until)
    person = User.get_or_none(User.staff_number == staff_number)
    if person is None:
        verify_secret(None, pin)
        security_event("pin_failed", user_id=None, known_account=False, kiosk_id=kiosk.id)
        ok = False
    else:
        check = person.check_pin(pin, now, kiosk)
        if check.locked_now:
            _put_lock_on_record(person, "pin_locked", now, kiosk_id=kiosk.id)
        ok = check.ok
    if ok:
        KioskFailure.delete().where(KioskFailure.id == attempt.id).execute()
        return KioskIdentification(person)
    if pauses:
        minutes = int(KIOSK_LOCKOUT.total_seconds() // 60)
        with write_transaction():
            AuditEvent.about(
                kiosk,
                "kiosk_paused",
                by=kiosk.id,
                at=now,
                kiosk_id=kiosk.id,
                summary={"minutes": minutes},
            )
        security_event("kiosk_paused", user_id=kiosk.id, minutes=minutes)
    return KioskIdentification(None)


def _put_lock_on_record(
    user: User, event: str, now: dt.datetime, *, kiosk_id: int | None = None, **fields
) -> None:
    # The lock was set when this try was counted; it is on record once the try proved
    # wrong (a right secret at the limit clears it instead).
    with write_transaction():
        AuditEvent.about(
            user,
            event,
            by=None,
            at=now,
            kiosk_id=kiosk_id,
            summary={"minutes": LOCKOUT_MINUTES},
        )
    if kiosk_id is not None:
        fields["kiosk_id"] = kiosk_id
    security_event(event, user_id=user.id, minutes=LOCKOUT_MINUTES, **fields)
