"""A live server over the test app, and browsers (one cookie jar each) that talk to it over
real sockets from several threads at once: what the Flask test client cannot do."""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from http.cookiejar import CookieJar

from werkzeug.serving import make_server

from tests.conftest import PASSWORD


@contextmanager
def live_server(app):
    """Serve `app` on a free loopback port, one thread per request (as tests/e2e does)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 303 is the answer we want to see, not the page it points to


class Browser:
    """One person's browser: their own session cookie and CSRF token."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.csrf = ""
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect()
        )

    def _open(self, request) -> tuple[int, str]:
        try:
            with self._opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx and 5xx
            return error.code, error.read().decode(errors="replace")

    def get(self, path: str) -> tuple[int, str]:
        status, html = self._open(urllib.request.Request(self.base_url + path))
        if match := re.search(r'name="csrf_token" value="([^"]+)"', html):
            self.csrf = match.group(1)
        return status, html

    def post(self, path: str, data: dict) -> int:
        body = urllib.parse.urlencode({"csrf_token": self.csrf, **data}, doseq=True).encode()
        status, _ = self._open(urllib.request.Request(self.base_url + path, data=body))
        return status

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        self.get("/sign-in")
        status = self.post("/sign-in", {"username": username, "password": password})
        assert status == 303, f"{username} could not sign in ({status})"
        self.get("/")
