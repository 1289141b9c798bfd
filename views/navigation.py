"""The service navigation: the links a person sees depend on their roles."""

from __future__ import annotations

from flask import request, url_for

from models.records import CROSS_TEAM_ROLES

# (text, endpoint, endpoint prefixes that mark it active, roles that see it; None: everyone)
_ITEMS = [
    ("Home", "home.index", ("home.",), None),
    (
        "Records",
        "records.find",
        ("records.find", "records.add", "records.show", "records.request_removal"),
        ("practitioner", "line_manager", *CROSS_TEAM_ROLES),
    ),
    ("Approvals", "records.approvals", ("records.approvals",), ("line_manager",)),
    ("Board", "boards.board", ("boards.",), ("line_manager", "director", "assistant_director")),
    ("Send documents", "dispatches.start", ("dispatches.",), ("practitioner", "line_manager")),
    ("Breaches", "breaches.index", ("breaches.",), None),
    (
        "Register",
        "register.index",
        ("register.",),
        ("governance", "records_manager", "dpo", "caldicott_guardian"),
    ),
]


def nav_items(user) -> list[dict]:
    if user.has_role("kiosk"):
        return []
    endpoint = request.endpoint or ""
    return [
        {"text": text, "href": url_for(target), "active": endpoint.startswith(prefixes)}
        for text, target, prefixes, roles in _ITEMS
        if roles is None or user.has_role(*roles)
    ]
