"""The service navigation: the links a person sees depend on their roles."""

from __future__ import annotations

from flask import request, url_for


def nav_items(user) -> list[dict]:
    items = [("Home", url_for("home.index"), "home.")]
    return [
        {"text": text, "href": href, "active": (request.endpoint or "").startswith(prefix)}
        for text, href, prefix in items
    ]
