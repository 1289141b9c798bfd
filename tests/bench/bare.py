"""The bench's baseline: Flask + peewee doing the least work a page or a change can do.

`make bench` serves this beside Safekeep (same gunicorn settings, same database, its own
table) and divides Safekeep's throughput by this one's: what is left is the cost of
Safekeep's own work, not of the machine, the framework or the database driver.

- GET /bare reads 20 rows and writes them into a few lines of HTML;
- POST /bare inserts one row.

No sign-in, no session, no CSRF, no templates, no compression: that is the point.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from flask import Flask, request
from markupsafe import escape
from peewee import CharField, DateTimeField

from models.base import BaseModel, connect_database, db, is_postgres


class BareNote(BaseModel):
    text = CharField()
    at = DateTimeField()


def create_app() -> Flask:
    app = Flask(__name__)
    instance = Path(__file__).resolve().parent / "instance"
    db.initialize(connect_database(os.environ.get("DATABASE_URL"), str(instance / "bare.db")))

    @app.before_request
    def _connect() -> None:
        db.connect(reuse_if_open=True)  # as Safekeep: one connection per worker, or the pool

    @app.teardown_request
    def _release(exc: BaseException | None) -> None:
        if is_postgres() and not db.is_closed():
            db.close()

    @app.get("/bare")
    def read():
        rows = BareNote.select().order_by(BareNote.id.desc()).limit(20).tuples()
        items = "".join(f"<li>{escape(text)} at {at}</li>" for _, text, at in rows)
        return f"<!doctype html><title>Bare</title><ul>{items}</ul>"

    @app.post("/bare")
    def write():
        BareNote.create(text=request.form.get("text", "")[:200], at=dt.datetime.now(dt.UTC))
        return "<p>Saved</p>"

    return app


def create_table(rows: int = 100) -> None:
    """Make the baseline's table on the bound database, with `rows` rows for GET to read."""
    db.create_tables([BareNote])
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with db.atomic():
        BareNote.insert_many(
            [(f"Note {n}", now) for n in range(rows)], fields=[BareNote.text, BareNote.at]
        ).execute()
