"""/healthz: for load balancers and monitoring; no sign-in, no personal data.

Healthy means the database takes a write now (a heartbeat row is committed) and, on SQLite,
the disk it lives on has room for more (HEALTHZ_MIN_FREE_MB): a full disk let reads and this
check pass while every form failed to save. Anything else is 503 with a word on which.
"""

import shutil
from pathlib import Path

from flask import Blueprint, current_app, jsonify

from machines import clock
from models.base import db, is_postgres
from models.heartbeat import Heartbeat
from views.unavailable import DATABASE_ERRORS

bp = Blueprint("health", __name__)


def unhealthy(problem: str):
    return jsonify(status="unavailable", database=problem), 503


@bp.get("/healthz")
def healthz():
    try:
        Heartbeat.beat(clock.now())
    except DATABASE_ERRORS:
        return unhealthy("not writable")
    if not is_postgres():
        free = shutil.disk_usage(Path(db.obj.database).resolve().parent).free
        if free < current_app.config["HEALTHZ_MIN_FREE_MB"] * 1024 * 1024:
            return unhealthy("disk full")
    return jsonify(status="ok", database="ok")
