"""Every way into a final state stamps `closed_at`: the lists find open rows by it.

The boards, the home page and the lists ask for open removals and open breach cases with
`closed_at IS NULL`, which partial indexes serve (models/records.py, models/breaches.py).
That is only the same as "not in a final state" while every event into one sets it.
"""

from __future__ import annotations

import datetime as dt
import inspect

import pytest

from machines.breach import BreachMachine
from machines.common import Actor
from machines.remote_working import RemoteWorkingMachine
from machines.removal import RemovalMachine

NOW = dt.datetime(2026, 3, 2, 10, 30)


class Row:
    """A row whose facts are all unset, and whose effects on other rows do nothing."""

    closed_at = None

    def __getattr__(self, name):
        if name.startswith(("open_", "record_")):
            return lambda *args, **kwargs: None
        return None


@pytest.mark.parametrize("machine_class", [RemovalMachine, BreachMachine, RemoteWorkingMachine])
def test_every_event_into_a_final_state_stamps_closed_at(machine_class):
    checked = []
    for state in machine_class.states:
        for transition in state.transitions:
            if not transition.target.final:
                continue
            for event in transition.events:
                action = getattr(machine_class, f"on_{event}", None)
                assert action is not None, f"{event} closes a row: its action sets closed_at"
                row = Row()
                # The people an event names (the witness of a destruction) as rows too.
                given = {"model": row, "actor": Actor(1), "now": NOW, "witness": Row()}
                accepted = inspect.signature(action).parameters
                action(None, **{k: v for k, v in given.items() if k in accepted})
                assert row.closed_at == NOW, f"{machine_class.__name__}.{event}"
                checked.append(str(event))
    assert checked
