"""/healthz: for load balancers and monitoring; no sign-in, no personal data."""

from flask import Blueprint, jsonify

from models.base import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.execute_sql("SELECT 1").fetchone()
    except Exception:  # any database failure means "not healthy", never a 500 page
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
