"""The one place that reads or writes HX-* headers, through htmx-flask's `request.htmx`.

htmx-flask 0.1.0's `make_response(reswap=...)` refuses "afterbegin" and "beforebegin" (a
missing comma in its list of swaps): this module only asks it for swaps it accepts.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, url_for
from htmx_flask import make_response, request

from views.auth import same_site_path


def is_htmx() -> bool:
    """Return True for an htmx request that expects a fragment (not a history restore,
    which wants the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def targets(element_id: str) -> bool:
    """True for an htmx request that will swap the element with this id (e.g. a board's
    polling body), so the view answers with that fragment only."""
    return is_htmx() and request.htmx.target == element_id


def current_page() -> str | None:
    """The path (and query) of the page an htmx request came from, when it is on this site
    and not the sign-in page: where to come back to after signing in again."""
    try:
        parts = urlsplit(request.htmx.current_url or "")
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return None
    page = same_site_path(parts.path + (f"?{parts.query}" if parts.query else ""))
    if page is None or parts.path == url_for("auth.sign_in"):
        return None
    return page


def fragment_elsewhere(body: str, status: int, target: str, swap: str = "innerHTML") -> Response:
    """Send an htmx response somewhere other than the element that asked."""
    return make_response(body, status, retarget=target, reswap=swap)


def client_redirect(location: str) -> Response:
    """Make htmx load a new page (e.g. signed out while a board was polling)."""
    return make_response("", 204, redirect=location)
