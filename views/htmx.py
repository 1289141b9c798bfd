"""The one place that reads or writes HX-* headers."""

from __future__ import annotations

from flask import Response, make_response, redirect, render_template, request


def is_htmx() -> bool:
    """Return True for an htmx request that expects a fragment (not a history restore)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


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
