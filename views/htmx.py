"""The one place that reads or writes HX-* headers."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, make_response, redirect, render_template, request, url_for

from views.auth import same_site_path


def is_htmx() -> bool:
    """Return True for an htmx request that expects a fragment (not a history restore)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


def targets(element_id: str) -> bool:
    """True for an htmx request that will swap the element with this id (e.g. a board's
    polling body), so the view answers with that fragment only."""
    return is_htmx() and request.headers.get("HX-Target") == element_id


def current_page() -> str | None:
    """The path (and query) of the page an htmx request came from, when it is on this site
    and not the sign-in page: where to come back to after signing in again."""
    try:
        parts = urlsplit(request.headers.get("HX-Current-URL", ""))
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return None
    page = same_site_path(parts.path + (f"?{parts.query}" if parts.query else ""))
    if page is None or parts.path == url_for("auth.sign_in"):
        return None
    return page


def panel_or_redirect(fragment: str, location: str, status: int = 200, **context) -> Response:
    """Answer a state change: the swapped panel for htmx, else 303 to the page (no JS).

    Errors (409, 422) re-render the panel with its error summary in both cases: without
    JavaScript the caller renders the whole page instead, with the same status.
    """
    if is_htmx():
        return make_response(render_template(fragment, **context), status)
    return redirect(location, code=303)


def retarget(response: Response, target: str, swap: str = "innerHTML") -> Response:
    """Send an htmx response somewhere other than the element that asked."""
    response.headers["HX-Retarget"] = target
    response.headers["HX-Reswap"] = swap
    return response


def client_redirect(location: str) -> Response:
    """Make htmx load a new page (e.g. signed out while a board was polling)."""
    response = make_response("", 204)
    response.headers["HX-Redirect"] = location
    return response
