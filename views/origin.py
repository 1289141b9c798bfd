"""A form is taken only from Safekeep's own pages: the browser's Origin and Sec-Fetch-Site.

The CSRF token is the first line; this is the second (ASVS V3.5.1/V50): a POST whose Origin
names another site, or that the browser itself calls cross-site, is refused with a 403 page
and logged, even with a valid token. A POST without either header (an old browser, a script,
the test client) still stands or falls by its token alone.

"This site" is the address the request came to, as the browser saw it (behind a TLS proxy
TRUSTED_PROXIES makes the scheme the proxy's https), or the public address in
REMINDER_BASE_URL, which staff's links use.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, request

from machines.security_log import security_event
from views.errors import render_error, signed_in_id

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
FETCH_SITES = {"same-origin", "same-site", "cross-site", "none"}


def init_app(app: Flask) -> None:
    app.before_request(refuse_other_sites)


def own_origins() -> set[str]:
    """The origins a form of ours is sent from, lower case, without default ports."""
    origins = {_origin(request.scheme, request.host)}
    public = urlsplit(current_app.config.get("REMINDER_BASE_URL") or "")
    if public.scheme and public.netloc:
        origins.add(_origin(public.scheme, public.netloc))
    return origins


def _origin(scheme: str, host: str) -> str:
    scheme, host = scheme.lower(), host.lower()
    default = {"http": ":80", "https": ":443"}.get(scheme)
    if default and host.endswith(default):
        host = host.removesuffix(default)
    return f"{scheme}://{host}"


def is_from_another_site() -> bool:
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    parts = urlsplit(origin)
    # "null" (a sandboxed frame, a page from a file) is no site of ours either.
    return not (parts.scheme and parts.netloc) or _origin(parts.scheme, parts.netloc) not in (
        own_origins()
    )


def refuse_other_sites():
    if request.method in SAFE_METHODS or not is_from_another_site():
        return None
    fetch_site = request.headers.get("Sec-Fetch-Site")
    # What the browser said, reduced to known words: the Origin itself is not logged (it
    # is whatever the other page, or a client, chose to send).
    security_event(
        "cross_origin_refused",
        user_id=signed_in_id(),
        sec_fetch_site=fetch_site if fetch_site in FETCH_SITES else None,
        origin_sent="Origin" in request.headers,
    )
    service = current_app.config["SERVICE_NAME"]
    return render_error(
        403,
        f"It was sent from another website, not from {service}'s own pages. If you were "
        f"using {service}, go back to the page, reload it and try again.",
        page="other_site",
    )
