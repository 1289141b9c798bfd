"""A breach case's follow-through: what the ICO is still owed after the referral, and the
actions that prevent the next breach. Each item has a page of its own (an action's owner
may not see the case, only their action); the case page lists them."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from machines import breach_action, clock, ico_follow_up
from machines.breach_action import BreachActionMachine, breach_action_machine
from machines.common import Actor, InputError, enabled_events
from machines.ico_follow_up import IcoItemMachine, ico_item_machine
from machines.permissions import Can
from models.base import Stale, VersionedModel
from models.breaches import Breach
from models.follow_through import BreachAction, IcoItem
from models.transitions import Forbidden, Refused, apply_transition, check_transition
from views.access import visible_or_404
from views.display import uk_date
from views.forms import FormErrors
from views.forms.follow_through import (
    ACTION_FORMS,
    ICO_ITEM_FORMS,
    AddAction,
    RecordIcoItem,
    owner_choices,
)
from views.transitions import (
    Confirm,
    EventForm,
    Lifecycle,
    RowPage,
    post_row_event,
    show_row,
    status_panel,
)

bp = Blueprint("follow_through", __name__)


# -- adding an item to a case -----------------------------------------------------------


def _add(
    breach_id: int,
    new: Callable[[Breach], VersionedModel],
    factory: Callable,
    event: str,
    form: EventForm,
    refused: str,
    entity_type: str,
) -> tuple[VersionedModel | None, FormErrors, int]:
    """Create a row in its initial state and send its first event, in one transaction with
    its audit event: (the row, no errors, 200), or (None, the errors, 422 or 409)."""
    errors = form.check()
    actor: Actor = current_user.as_actor()

    def fresh() -> VersionedModel:
        # Read inside the transaction: the case's state as the guard sees it is current.
        return new(Breach.get_by_id(breach_id))

    def saved() -> VersionedModel:
        row = fresh()
        row.save(force_insert=True)
        return row

    arguments = {
        "factory": factory,
        "event": event,
        "actor": actor,
        "now": clock.now(),
        "values": form.machine_values(),
        "expected_version": None,
    }
    try:
        check_transition(load=fresh, **arguments)  # every error at once, the machine's too
        if not errors:
            row = apply_transition(
                load=saved,
                entity_type=entity_type,
                summary=form.summary(),
                **arguments,
            )
            return row, FormErrors(), 200
    except InputError as error:
        for name, message in error.errors.items():
            errors.add(name, message, anchor=form[name].anchor if name in form else None)
    except (Forbidden, Refused, Stale):
        return None, FormErrors(status=refused), 409
    return None, errors.in_order(form.field_names), 422


def _may_add(machine_class, row: VersionedModel, event: str) -> bool:
    return event in enabled_events(machine_class, row, current_user.as_actor(), clock.now())


# -- what the ICO is owed ------------------------------------------------------------------


def _new_item(breach: Breach) -> IcoItem:
    item = IcoItem(breach=breach)
    item.breach = breach  # the guard reads the case: no second query
    return item


@bp.get("/breaches/<int:breach_id>/ico/new")
@bp.post("/breaches/<int:breach_id>/ico/new")
def new_ico_item(breach_id: int):
    breach = visible_or_404(Breach, breach_id)
    if not current_user.can(Can.FOLLOW_UP_WITH_ICO):
        abort(403)
    errors, status, typed = FormErrors(), 200, {"kind": request.args.get("kind")}
    if not _may_add(IcoItemMachine, _new_item(breach), "record"):
        errors, status = FormErrors(status=_ico_refusal(breach)), 409
    elif request.method == "POST":
        form = RecordIcoItem()
        item, errors, status = _add(
            breach_id,
            _new_item,
            ico_item_machine,
            "record",
            form,
            _ico_refusal(Breach.get_by_id(breach_id)),
            IcoItem._meta.table_name,
        )
        if item is not None:
            return redirect(
                url_for("breaches.show", breach_id=breach_id, _anchor="ico-follow-up"), code=303
            )
        typed = form.typed()
    return render_template(
        "ico_items/new.html",
        title="Record what the ICO is owed",
        breach=breach,
        form=typed,
        errors=errors,
        kinds=ico_follow_up.KINDS,
    ), status


def _ico_refusal(breach: Breach) -> str:
    if breach.closed_at is not None:
        return "This case is closed: nothing more can be recorded for the ICO."
    if breach.ico_outcome:
        return "The ICO's outcome is recorded: its case has ended, so nothing more is owed."
    return "This case was not referred to the ICO: record the referral first."


ITEM_CONFIRMS = {
    "answer": Confirm(
        "Record this answer as sent to the ICO?",
        "Once recorded, the item is closed: a new question from the ICO is recorded as a new item.",
    )
}


def _item_panel(item: IcoItem, errors=None, form=None) -> dict:
    events = [
        e
        for e in enabled_events(IcoItemMachine, item, current_user.as_actor(), clock.now())
        if e in ICO_ITEM_FORMS
    ]
    return {
        **status_panel(
            events,
            ico_follow_up.EVENT_LABELS,
            ico_follow_up.STATE_LABELS,
            errors,
            form,
            ITEM_CONFIRMS,
        ),
        "item": item,
        "kinds": dict(ico_follow_up.KINDS),
        "overdue": ico_follow_up.is_overdue(item, clock.uk_today()),
    }


def _item_title(item: IcoItem) -> str:
    return f"{dict(ico_follow_up.KINDS)[item.kind]}: {item.breach.reference}"


ITEM_PAGE = RowPage(
    Lifecycle.of(IcoItem, IcoItemMachine, ICO_ITEM_FORMS, "item", confirms=ITEM_CONFIRMS),
    "ico_items/show.html",
    _item_title,
    _item_panel,
    described=lambda item: (
        _item_title(item),
        [
            ("Asked" if item.kind == "question" else "Not yet known", item.asked),
            ("Due", uk_date(item.due_on)),
        ],
    ),  # fmt: skip
    endpoint="follow_through.ico_item",
    row_arg="item_id",
)


@bp.get("/ico-items/<int:item_id>")
def ico_item(item_id: int):
    return show_row(ITEM_PAGE, item_id)


@bp.post("/ico-items/<int:item_id>/<event>")
def ico_item_event(item_id: int, event: str):
    return post_row_event(ITEM_PAGE, item_id, event)


# -- actions that prevent the next breach ------------------------------------------------


def _new_action(breach: Breach) -> BreachAction:
    action = BreachAction(breach=breach)
    action.breach = breach
    return action


@bp.get("/breaches/<int:breach_id>/actions/new")
@bp.post("/breaches/<int:breach_id>/actions/new")
def new_action(breach_id: int):
    breach = visible_or_404(Breach, breach_id)
    if not current_user.can(Can.PLAN_BREACH_ACTIONS):
        abort(403)
    errors, status, typed = FormErrors(), 200, {}
    if not _may_add(BreachActionMachine, _new_action(breach), "add"):
        errors, status = FormErrors(status=_action_refusal(breach)), 409
    elif request.method == "POST":
        form = AddAction()
        action, errors, status = _add(
            breach_id,
            _new_action,
            breach_action_machine,
            "add",
            form,
            _action_refusal(Breach.get_by_id(breach_id)),
            BreachAction._meta.table_name,
        )
        if action is not None:
            return redirect(
                url_for("breaches.show", breach_id=breach_id, _anchor="actions"), code=303
            )
        typed = form.typed()
    return render_template(
        "breach_actions/new.html",
        title="Add an action to prevent the next breach",
        breach=breach,
        form=typed,
        errors=errors,
        categories=breach_action.CATEGORIES,
        people=owner_choices() if status != 409 else [],
    ), status


def _action_refusal(breach: Breach) -> str:
    if breach.closed_at is not None:
        return "This case is closed: no more actions can be added."
    return "Actions are added once the decision on the case is recorded."


ACTION_CONFIRMS = {
    "accept_not_needed": Confirm(
        "Accept that this action is not needed?",
        "The action will be closed as not needed, with your reason, and cannot be reopened.",
    ),
}


def _action_panel(action: BreachAction, errors=None, form=None) -> dict:
    events = [
        e
        for e in enabled_events(BreachActionMachine, action, current_user.as_actor(), clock.now())
        if e in ACTION_FORMS
    ]
    return {
        **status_panel(
            events,
            breach_action.EVENT_LABELS,
            breach_action.STATE_LABELS,
            errors,
            form,
            ACTION_CONFIRMS,
        ),
        "action": action,
        "categories": breach_action.CATEGORY_LABELS,
        "overdue": breach_action.is_overdue(action, clock.uk_today()),
        "may_see_case": action.breach.visible_to(current_user),
        "people": owner_choices() if "reassign" in events else [],
    }


def _action_title(action: BreachAction) -> str:
    return f"Action on {action.breach.reference}"


ACTION_PAGE = RowPage(
    Lifecycle.of(
        BreachAction, BreachActionMachine, ACTION_FORMS, "action", confirms=ACTION_CONFIRMS
    ),
    "breach_actions/show.html",
    _action_title,
    _action_panel,
    described=lambda action: (
        _action_title(action),
        [
            ("Action", action.description),
            ("Owner", action.owner.display_name),
            ("Due", uk_date(action.due_on)),
        ],
    ),  # fmt: skip
    endpoint="follow_through.action",
    row_arg="action_id",
)


@bp.get("/actions/<int:action_id>")
def action(action_id: int):
    return show_row(ACTION_PAGE, action_id)


@bp.post("/actions/<int:action_id>/<event>")
def action_event(action_id: int, event: str):
    return post_row_event(ACTION_PAGE, action_id, event)
