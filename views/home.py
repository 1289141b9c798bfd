"""The signed-in person's home page."""

from flask import Blueprint, render_template
from flask_login import current_user

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    return render_template("home/index.html", user=current_user)
