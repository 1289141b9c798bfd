"""The training rule (issue 26, item 1) as properties over dates: papers go out, and documents
are sent, only while the person's training is within the period, or once on an exception their
own line manager allowed. The machines ask the same guards the buttons are drawn from."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from machines.common import Actor, enabled_events
from machines.dispatch import DispatchMachine
from machines.removal import RemovalMachine
from machines.training import (
    Training,
    add_months,
    drafter_trained,
    holder_trained,
    may_allow_exception,
)

HOLDER = Actor(10, frozenset({"practitioner"}), 1, line_manager_id=20)
MANAGER = Actor(20, frozenset({"line_manager"}), 1)
OTHER_MANAGER = Actor(21, frozenset({"line_manager"}), 1)

days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31))
periods = st.integers(min_value=1, max_value=24)


def noon(day: dt.date) -> dt.datetime:
    """Midday UTC: the same calendar day in the UK, summer or winter."""
    return dt.datetime.combine(day, dt.time(12))


def removal(training: Training) -> SimpleNamespace:
    return SimpleNamespace(
        id=1,
        state="approved_for_removal",
        team_id=1,
        for_user_id=HOLDER.id,
        requested_by_id=HOLDER.id,
        requester_manager_id=MANAGER.id,
        purpose="court",
        holder_training=training,
        papers_gone=False,
    )


@given(trained_on=days, today=days, months=periods)
def test_training_is_in_date_from_the_day_it_was_done_for_the_period(trained_on, today, months):
    training = Training(trained_on, months)
    lapses_on = add_months(trained_on, months)
    assert training.in_date(today) == (trained_on <= today < lapses_on)
    # Lapsing on the same day of the month (or the month's last day): never early, never late.
    assert lapses_on.day == trained_on.day or lapses_on.day < trained_on.day
    assert (lapses_on.year * 12 + lapses_on.month) - (trained_on.year * 12 + trained_on.month) == (
        months
    )


@given(trained_on=st.one_of(st.none(), days), today=days, months=periods, allowed=st.booleans())
def test_take_out_is_offered_only_in_date_or_on_an_exception(trained_on, today, months, allowed):
    training = Training(trained_on, months, exception_id=7 if allowed else None)
    row = removal(training)
    in_date = trained_on is not None and trained_on <= today < add_months(trained_on, months)
    assert holder_trained(row, HOLDER, noon(today)) == (in_date or allowed)
    offered = "take_out" in enabled_events(RemovalMachine, row, HOLDER, noon(today))
    assert offered == (in_date or allowed)


@given(trained_on=st.one_of(st.none(), days), today=days, months=periods)
def test_sending_needs_the_drafters_own_training_with_no_exception(trained_on, today, months):
    training = Training(trained_on, months, exception_id=7)  # an exception is for papers only
    dispatch = SimpleNamespace(
        id=1, state="checked", team_id=1, drafted_by_id=HOLDER.id, drafter_training=training
    )
    in_date = trained_on is not None and trained_on <= today < add_months(trained_on, months)
    assert drafter_trained(dispatch, HOLDER, noon(today)) == in_date
    offered = "mark_sent" in enabled_events(DispatchMachine, dispatch, HOLDER, noon(today))
    assert offered == in_date


@given(trained_on=st.one_of(st.none(), days), today=days, open_exception=st.booleans())
def test_only_the_persons_own_line_manager_allows_one_exception_once_lapsed(
    trained_on, today, open_exception
):
    training = Training(trained_on, 12, exception_id=3 if open_exception else None)
    lapsed = not training.in_date(today)
    now = noon(today)
    assert may_allow_exception(HOLDER, training, MANAGER, now) == (lapsed and not open_exception)
    for somebody_else in (OTHER_MANAGER, HOLDER, None):
        assert not may_allow_exception(HOLDER, training, somebody_else, now)
