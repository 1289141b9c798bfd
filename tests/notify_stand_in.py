"""A loopback stand-in for GOV.UK Notify's API, so the real client is tested offline.

It serves the two calls Safekeep makes, as Notify's API documentation describes them:
POST /v2/notifications/email (201 with the message's id) and GET /v2/notifications/<id>
(the message and its status). Every request must carry the JWT the client signs: HS256 with
the API key's secret, `iss` the service id, `iat` within 30 seconds of now; anything else is
Notify's 403 AuthError. A test can make it answer as Notify does when things go wrong: a
queue of error codes for the next requests (400, 403, 429, 500), addresses it refuses with
400, and the status each message reports. It runs in a thread on a free loopback port.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

import flask
import jwt
from werkzeug.serving import make_server

SERVICE_ID = "5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
SECRET = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
API_KEY = f"safekeep_test-{SERVICE_ID}-{SECRET}"
IAT_LEEWAY = 30

# Notify's error bodies for each status code (its documentation's "Error codes").
ERRORS = {
    400: ("BadRequestError", "Can't send to this recipient using a team-only API key"),
    403: ("AuthError", "Invalid token: API key not found"),
    429: (
        "RateLimitError",
        "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds",
    ),
    500: ("Exception", "Internal server error"),
}


@dataclass
class Sent:
    id: str
    email_address: str
    template_id: str
    personalisation: dict
    reference: str | None


@dataclass
class NotifyStandIn:
    templates: set[str] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    refuse: set[str] = field(default_factory=set)
    errors: deque = field(default_factory=deque)
    requests: list[tuple[str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def fail_next(self, *codes: int) -> None:
        """Answer the next requests with these status codes, in turn, then as normal."""
        with self.lock:
            self.errors.extend(codes)

    def set_status(self, notify_id: str, status: str) -> None:
        with self.lock:
            self.statuses[notify_id] = status

    def to(self, address: str) -> list[Sent]:
        return [s for s in self.sent if s.email_address == address]

    def app(self) -> flask.Flask:
        app = flask.Flask("notify_stand_in")

        def error(code: int, message: str | None = None):
            name, words = ERRORS.get(code, ("Error", "Error"))
            body = {"errors": [{"error": name, "message": message or words}], "status_code": code}
            return flask.jsonify(body), code

        @app.before_request
        def authenticate():
            answer = self._check_token(flask.request.headers.get("Authorization", ""))
            if answer is not None:
                self._log(403)
                return error(403, answer)
            with self.lock:
                code = self.errors.popleft() if self.errors else None
            if code is not None:
                self._log(code)
                return error(code)
            return None

        @app.post("/v2/notifications/email")
        def send_email():
            body = flask.request.get_json(silent=True) or {}
            address = body.get("email_address")
            template_id = body.get("template_id")
            personalisation = body.get("personalisation") or {}
            if not isinstance(address, str) or "@" not in address:
                self._log(400)
                return error(400, "email_address Not a valid email address")
            if template_id not in self.templates:
                self._log(400)
                return error(400, "template_id is not a valid UUID")
            if address in self.refuse:
                self._log(400)
                return error(400)
            if not isinstance(personalisation, dict) or not all(
                isinstance(v, str) for v in personalisation.values()
            ):
                self._log(400)
                return error(400, "personalisation is not of type object")
            notify_id = str(uuid.uuid4())
            with self.lock:
                self.sent.append(
                    Sent(notify_id, address, template_id, personalisation, body.get("reference"))
                )
                self.statuses.setdefault(notify_id, "created")
            self._log(201)
            return flask.jsonify(
                {
                    "id": notify_id,
                    "reference": body.get("reference"),
                    "content": {"subject": personalisation.get("subject", ""), "body": ""},
                    "uri": f"{self.url}/v2/notifications/{notify_id}",
                    "template": {"id": template_id, "version": 1, "uri": ""},
                }
            ), 201

        @app.get("/v2/notifications/<notify_id>")
        def get_one(notify_id: str):
            with self.lock:
                status = self.statuses.get(notify_id)
            if status is None:
                self._log(404)
                return flask.jsonify(
                    {"errors": [{"error": "NoResultFound", "message": "No result found"}]}
                ), 404
            self._log(200)
            return flask.jsonify({"id": notify_id, "type": "email", "status": status})

        return app

    def _log(self, code: int) -> None:
        with self.lock:
            self.requests.append((flask.request.path, code))

    def _check_token(self, header: str) -> str | None:
        """None when the token is the one the client signs with our key, else Notify's words."""
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            return "Unauthorized: authentication token must be provided"
        try:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_iat": False})
        except jwt.InvalidTokenError:
            return "Invalid token: signature, api token not found"
        if claims.get("iss") != SERVICE_ID:
            return "Invalid token: service not found"
        iat = claims.get("iat")
        if not isinstance(iat, int) or abs(time.time() - iat) > IAT_LEEWAY:
            return "Error: Your system clock must be accurate to within 30 seconds"
        return None


def start(stand_in: NotifyStandIn):
    """Serve the stand-in on a free loopback port; return the server (shutdown() to stop)."""
    server = make_server("127.0.0.1", 0, stand_in.app(), threaded=True)
    stand_in.url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
