"""The signed-in person's home page: what they hold and what waits for them."""

import datetime as dt

from flask import Blueprint, render_template, request
from flask_login import current_user

from machines import clock
from machines.breach import EVENT_LABELS as BREACH_EVENT_LABELS
from machines.breach import STATE_LABELS as BREACH_STATE_LABELS
from machines.breach_action import CATEGORY_LABELS as ACTION_CATEGORIES
from machines.breach_clocks import case_clock
from machines.ico_follow_up import KINDS as ICO_KINDS
from machines.permissions import Can
from machines.removal import PURPOSES, STATE_LABELS
from models.breaches import Breach
from models.dispatches import Dispatch
from models.follow_through import BreachAction, IcoItem
from models.prepared import PersonShape, Prepared, PreparedByShape
from models.records import Removal
from models.training import training_of
from models.waiting_counts import BOUND as COUNT_BOUND
from models.waiting_counts import waiting_counts
from services.deliveries import raised_for_board
from services.message_kinds import KIND_LABELS
from services.training import reports_needing_training
from views.display import delivery_words

bp = Blueprint("home", __name__)

# Breach cases listed on the home page; the rest are a link to the breach list away.
WAITING_SHOWN = 10
# A person's open removals listed here, out (and overdue) first, as many as the other lists
# here: the home page sums up, and every record a person has out is one link away (where
# every record is, by holder). One more is read, to say when there are more.
REMOVALS_SHOWN = 20
# Undelivered e-mails to the breach chain listed for the Information and Records Manager.
UNDELIVERED_SHOWN = 10
# A person's open actions, and what the ICO is owed, listed here (the case pages hold all).
FOLLOW_THROUGH_SHOWN = 20
# How long a decision on someone's request stays on their home page.
DECISIONS_SHOWN_FOR = dt.timedelta(days=14)
# What a change made elsewhere says when it comes back here.
DONE = {"training_exception": "One removal was allowed. It is used up when they take papers out."}


# What every home page reads, each statement compiled once (models/prepared.py).
_DECIDED_FOR = Prepared(
    lambda person_id, since: Removal.decided_for(person_id, since).limit(10),
    person_id=int,
    since=dt.datetime,
)
_ACTIONS = Prepared(
    lambda person_id: BreachAction.owned_by_id(person_id).limit(FOLLOW_THROUGH_SHOWN),
    person_id=int,
)
# Only those who handle the ICO are owed anything: its SQL depends on the person's roles.
_ICO_OWED = PreparedByShape(
    lambda shape: IcoItem.owed(shape.person(None)).limit(FOLLOW_THROUGH_SHOWN)
)


@bp.get("/")
def index():
    # Only team staff hold papers: the breach chain's home needs no removals query.
    removals = (
        Removal.for_person(current_user, REMOVALS_SHOWN + 1)
        if current_user.can(Can.WORK_WITH_PAPERS)
        else []
    )
    decisions = (
        _DECIDED_FOR.rows(person_id=current_user.id, since=clock.now() - DECISIONS_SHOWN_FOR)
        if current_user.can(Can.WORK_WITH_PAPERS)
        else []
    )
    # Anyone may be someone's line manager (a director is a line manager's), and team staff
    # check each other's drafts (the /send page's list): one statement counts all four.
    counts = waiting_counts(current_user, bounded=True)
    # Drafts whose team has no one else left to check them come to the drafter's manager
    # or the seniors (machines.dispatch.checkers_above), who may not work in the team.
    to_check_above = Dispatch.to_check_from_above(current_user)
    now = clock.now()
    undelivered = (
        [(d, delivery_words(d, now)) for d in raised_for_board(UNDELIVERED_SHOWN)]
        if current_user.can(Can.FOLLOW_UP_UNDELIVERED)
        else []
    )
    actions = _ACTIONS.rows(person_id=current_user.id)
    ico_owed = _ICO_OWED.rows(PersonShape.of(current_user))
    waiting, unread = Breach.waiting_for(current_user, now)
    shown = waiting[:WAITING_SHOWN]
    return render_template(
        "home/index.html",
        title="Home",
        user=current_user,
        done=DONE.get(request.args.get("done", "")),
        training=training_of(current_user),
        training_due=reports_needing_training(current_user, now)
        if current_user.can(Can.LINE_MANAGE)
        else [],
        removals=removals[:REMOVALS_SHOWN],
        removals_more=len(removals) > REMOVALS_SHOWN,
        decisions=decisions,
        pending=counts["pending"],
        more_time=counts["more_time"],
        remote=counts["remote"],
        to_check=counts["to_check"],
        count_bound=COUNT_BOUND,
        to_check_above=to_check_above,
        undelivered=undelivered,
        kind_labels=KIND_LABELS,
        in_breach_chain=current_user.can(Can.HANDLE_EVERY_BREACH),
        waiting=[
            {"breach": b, "events": events, "clock": case_clock(b, now)} for b, events in shown
        ],
        waiting_more=len(waiting) - len(shown),
        actions=actions,
        ico_owed=ico_owed,
        today=clock.uk_today(),
        action_categories=ACTION_CATEGORIES,
        item_kinds=dict(ICO_KINDS),
        waiting_unread=unread,
        purposes=dict(PURPOSES),
        state_labels=STATE_LABELS,
        breach_state_labels=BREACH_STATE_LABELS,
        event_labels=BREACH_EVENT_LABELS,
    )
