"""A real OpenID Connect provider for the single sign-on tests, run as its own process on
loopback: `python -m tests.oidc_provider` prints "listening on PORT" and serves until killed.

It is oidc-provider-mock (a Flask app built on Authlib's server side: discovery, JWKS, the
authorization endpoint with PKCE and nonce, the token endpoint), plus one test-only control
the mock lacks: PUT /test/id-token with a JSON object of claims to override in the NEXT ID
token it issues, for the tokens a good provider would never send (a wrong audience, an
expired token). The override is applied after the mock has built its token, by re-signing
the changed claims with the mock's own signing key, so the signature and the published keys
still verify: only the claims are wrong, as in a real attack or misconfiguration.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time

import flask
import oidc_provider_mock
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

_overrides: dict = {}
_lock = threading.Lock()


def build_app() -> flask.Flask:
    app = oidc_provider_mock.app(require_nonce=True)

    @app.put("/test/id-token")
    def set_overrides():
        with _lock:
            _overrides.clear()
            _overrides.update(flask.request.get_json())
        return "", 204

    @app.after_request
    def override_claims(response):
        if flask.request.path != "/oauth2/token" or response.status_code != 200:
            return response
        with _lock:
            changes = dict(_overrides)
            _overrides.clear()
        if not changes:
            return response
        body = response.get_json()
        header_b64, claims_b64, _ = body["id_token"].split(".")
        header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
        claims = json.loads(base64.urlsafe_b64decode(claims_b64 + "=="))
        now = int(time.time())
        for key, value in changes.items():
            # Times relative to now: {"exp": -3600} is an hour ago.
            claims[key] = now + value if key in ("exp", "iat") else value
        storage = flask.g.oidc_provider_mock_storage
        key = RSAKey.import_key(storage.jwk.as_dict(is_private=True))
        body["id_token"] = jwt.encode(header, claims, key)
        response.set_data(json.dumps(body))
        return response

    return app


def main() -> None:
    server = make_server("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0, build_app())
    print(f"listening on {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
