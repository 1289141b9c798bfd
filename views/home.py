"""The signed-in person's home page: what they hold and what waits for them."""

from flask import Blueprint, render_template
from flask_login import current_user

from machines.removal import PURPOSES, STATE_LABELS
from models.records import Removal

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    removals = list(Removal.for_person(current_user).limit(50))
    pending = (
        Removal.awaiting_approval_for(current_user).count()
        if current_user.has_role("line_manager")
        else 0
    )
    return render_template(
        "home/index.html",
        title="Home",
        user=current_user,
        removals=removals,
        pending=pending,
        purposes=dict(PURPOSES),
        state_labels=STATE_LABELS,
    )
