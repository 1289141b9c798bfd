"""What a trusted proxy says about the client, checked before anything believes it.

With TRUSTED_PROXIES set, Werkzeug's ProxyFix takes the client's address from X-Forwarded-For
and the scheme from X-Forwarded-Proto, as they arrive: `not-an-ip<script>` became the address
in the security log. A value that is not an IP address (or a scheme other than http and https)
is refused here: the request keeps the proxy's own address (or scheme), and the refusal is
noted for the security log without the value itself (services/logs.py logs it).
"""

from __future__ import annotations

import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix

REFUSED = "safekeep.forwarded_refused"  # environ key: which forwarded headers were refused
SCHEMES = {"http", "https"}


class CheckedForwarded:
    """WSGI middleware that runs inside ProxyFix and undoes what it took from a bad header."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        original = environ.get("werkzeug.proxy_fix.orig", {})
        refused = []
        if not is_ip_address(environ.get("REMOTE_ADDR")):
            environ["REMOTE_ADDR"] = original.get("REMOTE_ADDR")
            refused.append("for")
        if environ.get("wsgi.url_scheme") not in SCHEMES:
            environ["wsgi.url_scheme"] = original.get("wsgi.url_scheme", "http")
            refused.append("proto")
        if refused:
            environ[REFUSED] = refused
        return self.app(environ, start_response)


def is_ip_address(value: str | None) -> bool:
    if not value or len(value) > 64:  # the longest IPv6 form with a zone is well under this
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def trust_proxies(wsgi_app, hops: int):
    """The app behind `hops` proxies: their X-Forwarded-For and -Proto believed once checked."""
    return ProxyFix(CheckedForwarded(wsgi_app), x_for=hops, x_proto=hops)
