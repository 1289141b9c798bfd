"""The service navigation: each link shows for the people the capability map lets in."""

from __future__ import annotations

from flask import request, url_for

from machines.permissions import Can
from views.access import may_open

# (text, endpoint, endpoint prefixes that mark it active, capabilities that show it: any of
# them; None: ask the view's own @requires (views.access.may_open), so the link and the page
# cannot disagree; (): everyone)
_ITEMS: list[tuple[str, str, tuple[str, ...], tuple[Can, ...] | None]] = [
    ("Home", "home.index", ("home.",), ()),
    (
        "Records",
        "records.find",
        ("records.find", "records.add", "records.show", "records.request_removal", "whereabouts."),
        # The search answers everyone; the link is for those who work with records.
        (Can.WORK_WITH_PAPERS, Can.SEE_EVERY_TEAM),
    ),
    (
        "Approvals",
        "records.approvals",
        ("records.approvals",),
        (Can.APPROVE_REMOVALS, Can.APPROVE_AS_FALLBACK),
    ),
    ("Board", "boards.board", ("boards.",), None),
    ("Send documents", "dispatches.start", ("dispatches.",), None),
    ("Working remotely", "remote.index", ("remote.",), None),
    ("Breaches", "breaches.index", ("breaches.",), ()),
    ("Register", "register.index", ("register.",), None),
    ("Accounts", "admin.people", ("admin.",), None),
]


def _shown_to(user, endpoint: str, capabilities: tuple[Can, ...] | None) -> bool:
    if capabilities is None:
        return may_open(endpoint)
    return not capabilities or any(user.can(c) for c in capabilities)


def nav_items(user) -> list[dict]:
    if user.can(Can.KIOSK_DEVICE):
        return []
    endpoint = request.endpoint or ""
    return [
        {"text": text, "href": url_for(target), "active": endpoint.startswith(prefixes)}
        for text, target, prefixes, capabilities in _ITEMS
        if _shown_to(user, target, capabilities)
    ]
