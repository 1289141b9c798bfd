"""Expiring remote working agreements when their end date has passed (`flask expire-agreements`).

Each agreement is expired through its machine (`expire`, which only the schedule may send, and
only after the end date), in its own transaction with its audit event, against the version it
was read at: an agreement withdrawn meanwhile, or expired by another server running the same
command, is left as it is. Safe to run as often and on as many servers as you like.
"""

from __future__ import annotations

import datetime as dt

from machines import clock
from machines.common import SCHEDULE
from machines.remote_working import remote_working_machine
from models.base import Stale
from models.remote_working import RemoteAgreement
from models.transitions import Forbidden, Refused, apply_transition


def expire_agreements(now: dt.datetime) -> int:
    """Expire every agreed agreement whose end date has passed; return how many."""
    expired = 0
    for agreement in list(RemoteAgreement.past_end(clock.to_uk(now).date())):
        try:
            apply_transition(
                load=lambda agreement_id=agreement.id: RemoteAgreement.get_by_id(agreement_id),
                factory=remote_working_machine,
                event="expire",
                actor=SCHEDULE,
                entity_type="remote_agreement",
                now=now,
                values={},
                summary={"ended_on": agreement.ends_on.isoformat()},
                expected_version=agreement.version,
            )
        except (Stale, Refused, Forbidden):
            continue  # changed meanwhile (withdrawn, or another run got there first)
        expired += 1
    return expired
