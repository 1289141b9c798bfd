"""Where only a person's data protection training stops them (issue 26): the page says why
where the button would be, and the refused POST is 409 with the same reason, not 403.

Apart from views/training.py (the manager's exception) because the record, kiosk and dispatch
views read these, and that blueprint's error pages would import them back.
"""

from __future__ import annotations

from machines.common import uk_date
from machines.dispatch import may_mark_sent
from machines.removal import may_take_out
from machines.training import Training, drafter_trained, holder_trained


def take_out_stopped(removal, actor, now) -> Training | None:
    """The holder's training when it is not in date: the record page and the kiosk say why
    where the button would be (or that their line manager has allowed this one)."""
    if (
        removal is None
        or removal.state != "approved_for_removal"
        or not may_take_out(removal, actor)
    ):
        return None
    training = removal.holder_training
    return None if training.in_date(uk_date(now)) else training


def take_out_blocked(removal, event: str, actor, now) -> str | None:
    """The 409 words when only the holder's training keeps the papers in (else 403)."""
    training = take_out_stopped(removal, actor, now) if event == "take_out" else None
    if training is None or holder_trained(removal, actor, now):
        return None
    return (
        f"{training.why_not(uk_date(now))} You cannot take papers out until it is done. "
        "Ask your line manager to allow one removal if it cannot wait."
    )


def sending_blocked(dispatch, event: str, actor, now) -> str | None:
    """The 409 words when only the drafter's training keeps them from recording the sending."""
    if event != "mark_sent" or not sending_stopped(dispatch, actor, now):
        return None
    return (
        f"{dispatch.drafter_training.why_not(uk_date(now))} You cannot record documents as "
        "sent until it is done: ask a colleague in your team to send them."
    )


def sending_stopped(dispatch, actor, now) -> bool:
    """The drafter may send this checked dispatch but for their training."""
    return (
        dispatch.state == "checked"
        and may_mark_sent(dispatch, actor)
        and not drafter_trained(dispatch, actor, now)
    )
