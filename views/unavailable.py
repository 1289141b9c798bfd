"""503, never 500, when the database is down, unreachable or cannot write.

A PostgreSQL restart, a network cut or a full SQLite disk all arrive as the driver's
OperationalError or InterfaceError (peewee re-raises both under its own names), and an
exhausted connection pool as MaxConnectionsExceeded. Every page then answers the GOV.UK
"Sorry, the service is unavailable" page with 503, htmx requests the alert fragment, and
/healthz its JSON. A change that was being saved was rolled back whole (every write is one
transaction), so the page says nothing was saved. Recovery needs nothing from anyone: the
connection the error came through is thrown away, and the pool checks each idle connection
before handing it out (models/base.py).
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, request
from peewee import InterfaceError, OperationalError
from playhouse.pool import MaxConnectionsExceeded

from models.base import discard_connection

DATABASE_ERRORS = (OperationalError, InterfaceError, MaxConnectionsExceeded)

log = logging.getLogger("safekeep.database")


def init_app(app: Flask) -> None:
    for error in DATABASE_ERRORS:
        app.register_error_handler(error, database_unavailable)


def database_unavailable(error: Exception):
    # The type only: a driver's message can quote the values of the row it refused.
    log.warning("database unavailable: %s", type(error).__name__)
    # The connection the error came through may be broken, or still inside the transaction
    # the disk refused to undo: the next request opens a fresh one.
    discard_connection()
    if request.endpoint == "health.healthz":
        return jsonify(status="unavailable", database="unreachable"), 503
    from views.errors import render_error

    # Drawn for a signed-out visitor: the header must not ask the database who is signed in.
    g._login_user = current_app.login_manager.anonymous_user()
    message = None
    if request.method == "POST":
        message = (
            "Nothing was saved: what you were entering or changing has not been recorded. "
            "When the service is back, look at the page again before you repeat it."
        )
    return render_error(503, message)
