"""How an account change is refused, for the admin pages to answer: 422, 409 or 403.

Apart from services/accounts.py so that the hand-over of a person's work, which accounts
calls inside the same change, can refuse in the same words without importing accounts back.
"""

from __future__ import annotations


class AccountError(Exception):
    """What is wrong with an account change: field name -> GOV.UK error message (422)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class AccountConflict(Exception):
    """The change cannot be made as things stand (409): the message says why."""


class AccountStale(AccountConflict):
    """Someone else changed the person since the page was shown (409)."""


class NotAllowed(Exception):
    """The acting person may not make account changes (any more): 403."""
