"""Administration of accounts (the `admin` role): people, teams, and setting up in bulk.

Every page here needs Can.ADMINISTER_ACCOUNTS. The rules and the transactions are in
services/accounts.py, services/handover.py and services/imports.py; this module reads the
forms and turns the answers into pages: 422 for what was typed, 409 when the change cannot be
made as things stand (or someone else changed the person first), 403 for everyone else.
"""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from peewee import JOIN, fn

from machines import clock
from machines.permissions import ROLE_LABELS, Can, roles_that
from machines.professions import PROFESSIONS
from machines.security_log import security_event
from models.audit import AuditEvent
from models.people import Team, User, UserRole, UserSession
from models.training import training_of
from services.account_errors import AccountConflict, AccountError, NotAllowed
from services.accounts import (
    PersonDetails,
    add_team,
    check_person,
    create_person,
    end_sessions,
    record_training,
    rename_team,
    reset_password,
    retire_team,
    set_active,
    team_contents,
    unlock,
    update_person,
)
from services.handover import DUTIES, open_work, work_for_change
from services.mail import MailerUnavailable, MessageRefused, mailer_for
from services.message_kinds import PASSWORD_RESET
from views import admin_import
from views.access import requires
from views.errors import render_error
from views.forms import FormErrors
from views.forms.accounts import (
    EndSession,
    HandOver,
    PeopleFilter,
    PeopleSearch,
    PersonForm,
    ResetPassword,
    TeamForm,
    TrainingDate,
    Versioned,
)
from views.paging import page_links, page_of

bp = Blueprint("admin", __name__, url_prefix="/admin")

SEARCH_SHOWN = 50

# Outcomes shown after a change (the redirect carries the code, never a name).
DONE = {
    "added": "The account was created. Set their first password below, unless they sign in "
    "with single sign-on.",
    "saved": "The changes were saved.",
    "saved_sessions": "The changes were saved. Their roles changed, so they were signed out "
    "everywhere.",
    "disabled": "The account was disabled and signed out everywhere.",
    "enabled": "The account was enabled again.",
    "unlocked": "The account was unlocked.",
    "sessions": "Their sessions were ended.",
    "link_sent": "A one-time link to set a new password was emailed to them. It works for 60 "
    "minutes. Their old password no longer works and they were signed out everywhere.",
    "team_added": "The team was added.",
    "team_renamed": "The team was renamed.",
    "team_retired": "The team was retired.",
    "training": "Their data protection training date was recorded.",
}


ACCOUNT_EVENTS = {
    "add_user": "Account created",
    "update_user": "Details changed",
    "disable_user": "Account disabled",
    "enable_user": "Account enabled again",
    "unlock": "Unlocked",
    "reset_password": "Password reset",
    "end_sessions": "Sessions ended",
    "sign_in": "Signed in",
    "sign_out": "Signed out",
    "sign_out_everywhere": "Signed out everywhere",
    "change_password": "Password changed",
    "reset_password_by_link": "New password chosen with the emailed link",
    "set_pin": "Kiosk PIN set",
    "account_locked": "Locked after too many wrong passwords",
    "pin_locked": "Kiosk PIN locked after too many wrong PINs",
    "hand_over": "Line manager changed in a hand-over",
    "record_training": "Data protection training date recorded",
    "allow_training_exception": "One removal allowed while their training has lapsed",
    "use_training_exception": "The removal their line manager allowed went out",
}
FIELD_WORDS = {
    "display_name": "name",
    "staff_number": "staff number",
    "email": "email",
    "team": "team",
    "line_manager": "line manager",
    "roles": "roles",
    "profession": "profession",
}


def account_event_words(event: AuditEvent) -> str:
    """An account's audit event in words, with what changed (never a password)."""
    words = ACCOUNT_EVENTS.get(event.event, event.event.replace("_", " ").capitalize())
    details = event.details
    if event.event == "update_user" and details.get("changed"):
        words += ": " + ", ".join(FIELD_WORDS.get(k, k) for k in details["changed"])
    elif event.event == "reset_password":
        words += (
            " (a link was emailed)"
            if details.get("method") == "email_link"
            else " (a temporary password was given)"
        )
    elif event.event == "hand_over" and details.get("to"):
        words = f"Line manager changed to {details['to']} in a hand-over"
    if details.get("via") == "sso":
        words += " with single sign-on"
    return words


@bp.context_processor
def _words():
    return {"account_event_words": account_event_words}


@bp.before_request
def _administrators_only():
    if not current_user.can(Can.ADMINISTER_ACCOUNTS):
        abort(403)


def _settings() -> tuple[dt.timedelta, dt.timedelta]:
    config = current_app.config
    return (
        dt.timedelta(minutes=int(config["SESSION_IDLE_MINUTES"])),
        dt.timedelta(hours=float(config["SESSION_MAX_HOURS"])),
    )


@bp.errorhandler(AccountConflict)
@bp.errorhandler(NotAllowed)
def _refused(error: Exception):
    """A change the service refused, wherever a page asks for it: 409 with its reason, or 403
    for a former administrator."""
    if isinstance(error, NotAllowed):
        return render_error(403)
    return render_error(409, str(error))


def _version(form) -> int:
    """The version of the person the page showed: none never matches, so the change is
    refused as stale (409) instead of overwriting blind."""
    return form.version.data if form.version.data is not None else -1


def _person_or_404(user_id: int) -> User:
    user = User.get_or_none(User.id == user_id)
    if user is None:
        abort(404)
    return user


def _choices(current_manager_id: int | None = None) -> dict:
    """The lists the person form chooses from: as line manager, whoever may be one
    (Can.LINE_MANAGE), and the person's manager now whatever they are, so that saving the
    form without touching the field keeps them."""
    may_manage = UserRole.select(UserRole.user).where(
        UserRole.role.in_(sorted(roles_that(Can.LINE_MANAGE)))
    )
    managers = (
        User.select(User.id, User.display_name, User.staff_number)
        .where((User.active & User.id.in_(may_manage)) | (User.id == current_manager_id))
        .order_by(User.display_name)
    )
    return {
        "teams": list(Team.current()),
        "managers": list(managers),
        "role_labels": ROLE_LABELS,
        "professions": PROFESSIONS,
    }


# -- People ------------------------------------------------------------------------------------


@bp.get("")
@requires(Can.ADMINISTER_ACCOUNTS)
def index():
    return redirect(url_for("admin.people"))


def _people_query(team: int | None, role: str | None, status: str):
    query = (
        User.select(User, Team)
        .join(Team, JOIN.LEFT_OUTER, on=(User.team == Team.id), attr="team")
        .order_by(User.display_name, User.id)
    )
    if status != "all":
        query = query.where(User.active == (status == "active"))
    if team:
        query = query.where(User.team == team)
    if role:
        with_role = UserRole.select(UserRole.user).where(UserRole.role == role)
        query = query.where(User.id.in_(with_role))
    return query


def _with_roles(users: list[User]) -> list[User]:
    """Read the roles of a page of people in one query (no query per row)."""
    roles: dict[int, set[str]] = {u.id: set() for u in users}
    if users:
        for user_id, role in (
            UserRole.select(UserRole.user, UserRole.role)
            .where(UserRole.user.in_(list(roles)))
            .tuples()
        ):
            roles[user_id].add(role)
    for user in users:
        user._roles = frozenset(roles[user.id])
    return users


@bp.get("/people")
@bp.post("/people")
@requires(Can.ADMINISTER_ACCOUNTS)
def people():
    # A name typed to search for goes in the POST body; the filters (ids, codes) in the URL.
    form = PeopleSearch() if request.method == "POST" else PeopleFilter()
    errors = form.check()
    status = 422 if errors else 200
    filters = {
        "team": form.team.data if not errors else None,
        "role": form.role.data if not errors else None,
        "status": (form.status.data if not errors else None) or "active",
    }
    query = _people_query(filters["team"], filters["role"], filters["status"])
    searched = None
    page = None
    if request.method == "POST" and not errors and form.q.data:
        term = form.q.data.lower()
        matches = query.where(
            fn.LOWER(User.display_name).contains(term)
            | fn.LOWER(User.username).contains(term)
            | (fn.LOWER(User.staff_number) == term)
            | fn.LOWER(User.email).contains(term)
        )
        searched = _with_roles(list(matches.limit(SEARCH_SHOWN + 1)))
    else:
        page = page_of(query)
        _with_roles(page.rows)
    pagination = None
    if page is not None and page.pages > 1:
        pagination = page_links(
            page.number,
            page.pages,
            lambda n: url_for("admin.people", **{k: v for k, v in filters.items() if v}, page=n),
            "People",
        )
    return render_template(
        "admin/people.html",
        title="People",
        page=page,
        searched=searched[:SEARCH_SHOWN] if searched is not None else None,
        more=searched is not None and len(searched) > SEARCH_SHOWN,
        q=form.q.typed if request.method == "POST" else "",
        filters=filters,
        pagination=pagination,
        errors=errors,
        teams=list(Team.select().order_by(Team.name)),
        role_labels=ROLE_LABELS,
    ), status


def _details(form: PersonForm, username: str = "") -> PersonDetails:
    return PersonDetails(
        username=username,
        display_name=form.display_name.data or "",
        staff_number=form.staff_number.data or "",
        email=form.email.data or None,
        team_id=form.team_id.data,
        line_manager_id=form.line_manager_id.data,
        roles=form.roles.data or [],
        profession=form.profession.data,
    )


@bp.get("/people/new")
@bp.post("/people/new")
@requires(Can.ADMINISTER_ACCOUNTS)
def add_person():
    form = PersonForm()
    errors = form.check_posted()
    if request.method == "POST":
        try:
            if errors:  # every error at once: the service's rules too, on what could be read
                raise AccountError(check_person(_details(form, form.username.data or "")))
            user = create_person(current_user.id, _details(form, form.username.data), clock.now())
        except AccountError as error:
            errors.add_all(error.errors)
            errors = errors.in_order(form.field_names)
        else:
            return redirect(url_for("admin.person", person_id=user.id, done="added"), code=303)
    return render_template(
        "admin/person_form.html",
        title="Add a person",
        person=None,
        values=form.typed() if request.method == "POST" else {"roles": []},
        errors=errors,
        **_choices(),
    ), 422 if errors else 200


@bp.get("/people/<int:person_id>")
@requires(Can.ADMINISTER_ACCOUNTS)
def person(person_id: int):
    user = _person_or_404(person_id)
    idle, lifetime = _settings()
    now = clock.now()
    sessions = UserSession.open_for(user.id, now, idle, lifetime)
    history = list(AuditEvent.for_entity("user", user.id).order_by(AuditEvent.id.desc()).limit(20))
    return render_template(
        "admin/person.html",
        title=user.display_name,
        person=user,
        sessions=sessions,
        last_sign_in=UserSession.last_sign_in(user.id),
        password_locked=bool(user.locked_until and user.locked_until > now),
        pin_locked=bool(user.pin_locked_until and user.pin_locked_until > now),
        history=history,
        done=DONE.get(request.args.get("done", "")),
        role_labels=ROLE_LABELS,
        professions=dict(PROFESSIONS),
        reports=User.select().where(User.line_manager == user.id, User.active == True).count(),  # noqa: E712
        sso_only=_sso_only_for(user),
        training=training_of(user, with_exception=False),
        errors=FormErrors(),
    )


def _sso_only_for(user: User) -> bool:
    from services.sso import local_password_allowed, sso_settings

    return sso_settings(current_app.config) is not None and not local_password_allowed(
        current_app.config, user
    )


def _work_context(user: User, work) -> dict:
    default = user.line_manager_id if user.line_manager_id else None
    candidates = (
        User.select()
        .where(User.active == True, User.id != user.id)  # noqa: E712
        .order_by(User.display_name)
    )
    return {
        "work": work,
        "groups": work.by_duty(),
        "duties": DUTIES,
        "candidates": [c for c in _with_roles(list(candidates)) if not c.can(Can.KIOSK_DEVICE)],
        "default_successor": default,
    }


@bp.get("/people/<int:person_id>/edit")
@bp.post("/people/<int:person_id>/edit")
@requires(Can.ADMINISTER_ACCOUNTS)
def edit_person(person_id: int):
    user = _person_or_404(person_id)
    form = PersonForm()
    errors = form.check_posted()
    work = None
    if request.method == "POST":
        details = _details(form)
        if not errors:
            # A move, or roles that stop them deciding requests nobody else is left to decide.
            work = work_for_change(user, details.team_id, details.roles)
            if work.items and form.successor_id.data is None and not form.work_seen.data:
                # First the hand-over: the same form again, with what they hold and a choice.
                return _edit_page(user, form, errors, work, status=200)
        try:
            if errors:  # every error at once: the service's rules too, on what could be read
                raise AccountError(check_person(details, user))
            changed = update_person(
                current_user.id,
                user.id,
                details,
                _version(form),
                clock.now(),
                successor_id=form.successor_id.data,
                work_seen=form.work_seen.data,
            )
        except AccountError as error:
            errors.add_all(error.errors)
            errors = errors.in_order([*form.field_names])
        else:
            done = "saved_sessions" if "roles" in changed else "saved"
            return redirect(url_for("admin.person", person_id=user.id, done=done), code=303)
    return _edit_page(user, form, errors, work, status=422 if errors else 200)


def _edit_page(user: User, form: PersonForm, errors, work, status: int):
    values = (
        form.typed()
        if request.method == "POST"
        else {
            "display_name": user.display_name,
            "staff_number": user.staff_number,
            "email": user.email or "",
            "team_id": str(user.team_id or ""),
            "line_manager_id": str(user.line_manager_id or ""),
            "roles": sorted(user.roles),
            "profession": user.profession or "",
            "version": str(user.version),
        }
    )
    context = _work_context(user, work) if work is not None and work.items else {}
    return render_template(
        "admin/person_form.html",
        title=f"Change {user.display_name}'s details",
        person=user,
        values=values,
        errors=errors,
        **context,
        **_choices(user.line_manager_id),
    ), status


@bp.get("/people/<int:person_id>/disable")
@bp.post("/people/<int:person_id>/disable")
@requires(Can.ADMINISTER_ACCOUNTS)
def disable_person(person_id: int):
    user = _person_or_404(person_id)
    form = HandOver()
    errors = form.check_posted()
    if request.method == "POST" and not errors:
        try:
            set_active(
                current_user.id,
                user.id,
                False,
                _version(form),
                clock.now(),
                successor_id=form.successor_id.data,
                work_seen=form.work_seen.data or "",
            )
        except AccountError as error:
            errors.add_all(error.errors)
        else:
            return redirect(url_for("admin.person", person_id=user.id, done="disabled"), code=303)
    work = open_work(user)
    chosen = form.successor_id.data if request.method == "POST" else None
    return render_template(
        "admin/disable.html",
        title=f"Disable {user.display_name}'s account",
        person=user,
        errors=errors,
        chosen=chosen,
        **_work_context(user, work),
    ), 422 if errors else 200


@bp.post("/people/<int:person_id>/enable")
@requires(Can.ADMINISTER_ACCOUNTS)
def enable_person(person_id: int):
    user = _person_or_404(person_id)
    form = Versioned()
    try:
        set_active(
            current_user.id,
            user.id,
            True,
            _version(form),
            clock.now(),
        )
    except AccountError as error:  # nothing to correct on this page: said as a refusal
        return _refused(error)
    return redirect(url_for("admin.person", person_id=user.id, done="enabled"), code=303)


@bp.get("/people/<int:person_id>/training")
@bp.post("/people/<int:person_id>/training")
@requires(Can.ADMINISTER_ACCOUNTS)
def person_training(person_id: int):
    """Record the day a person completed their data protection training."""
    user = _person_or_404(person_id)
    form = TrainingDate()
    errors = form.check_posted()
    if request.method == "POST":
        try:
            if errors:
                raise AccountError({})
            record_training(
                current_user.id, user.id, form.trained_on.data, _version(form), clock.now()
            )
        except AccountError as error:
            errors.add_all(error.errors)
        else:
            return redirect(url_for("admin.person", person_id=user.id, done="training"), code=303)
    typed = form.typed() if request.method == "POST" else _date_boxes(user.trained_on)
    return render_template(
        "admin/training.html",
        title=f"Training date: {user.display_name}",
        person=user,
        form=typed,
        errors=errors,
    ), 422 if errors else 200


def _date_boxes(day: dt.date | None) -> dict:
    """A date as the three boxes of a GOV.UK date input show it (empty when none)."""
    if day is None:
        return {}
    return {
        "trained_on-day": str(day.day),
        "trained_on-month": str(day.month),
        "trained_on-year": str(day.year),
    }


@bp.post("/people/<int:person_id>/unlock")
@requires(Can.ADMINISTER_ACCOUNTS)
def unlock_person(person_id: int):
    user = _person_or_404(person_id)
    unlock(current_user.id, user.id, clock.now())
    return redirect(url_for("admin.person", person_id=user.id, done="unlocked"), code=303)


@bp.post("/people/<int:person_id>/sessions/end")
@requires(Can.ADMINISTER_ACCOUNTS)
def end_person_sessions(person_id: int):
    user = _person_or_404(person_id)
    form = EndSession()
    if form.check():
        abort(400)
    end_sessions(current_user.id, user.id, clock.now(), session_id=form.session_id.data)
    return redirect(url_for("admin.person", person_id=user.id, done="sessions"), code=303)


@bp.get("/people/<int:person_id>/reset-password")
@bp.post("/people/<int:person_id>/reset-password")
@requires(Can.ADMINISTER_ACCOUNTS)
def reset_person_password(person_id: int):
    user = _person_or_404(person_id)
    if _sso_only_for(user):
        return render_error(
            409,
            f"{user.display_name} signs in through single sign-on: "
            f"{current_app.config['SERVICE_NAME']} does not use their password.",
        )
    form = ResetPassword()
    errors = form.check_posted()
    if request.method == "POST" and not errors:
        try:
            user, secret = reset_password(current_user.id, user.id, form.method.data, clock.now())
        except AccountError as error:
            errors.add_all(error.errors)
        else:
            if form.method.data == "temporary":
                # Shown once, on this response only: never stored, logged or emailed.
                return render_template(
                    "admin/temporary_password.html",
                    title=f"Temporary password for {user.display_name}",
                    person=user,
                    password=secret,
                )
            problem = _send_reset_link(user, secret)
            if problem is None:
                return redirect(
                    url_for("admin.person", person_id=user.id, done="link_sent"), code=303
                )
            return render_template(
                "admin/reset_password.html",
                title=f"Reset {user.display_name}'s password",
                person=user,
                errors=FormErrors({"method": problem}),
                mail_failed=True,
            ), 503
    return render_template(
        "admin/reset_password.html",
        title=f"Reset {user.display_name}'s password",
        person=user,
        errors=errors,
        mail_failed=False,
    ), 422 if errors else 200


def _send_reset_link(user: User, token: str) -> str | None:
    """Email the one-time link (the link only: no name, no username); the problem, or None."""
    config = current_app.config
    link = config["REMINDER_BASE_URL"].rstrip("/") + url_for("account.reset_link", token=token)
    message = (
        f"An administrator has reset the password of your {config['SERVICE_NAME']} account.\n\n"
        "Choose a new password with this link within 60 minutes. It works once:"
    )
    after = "If you did not expect this, tell your administrator or the IT service desk."
    personalisation = {
        "subject": f"Set your {config['SERVICE_NAME']} password",
        "body": f"{message}\n\n{link}\n\n{after}\n",
        "message": message,
        "link": link,
        "reference": "",
    }
    try:
        with mailer_for(config) as mailer:
            mailer.deliver(
                user.email, PASSWORD_RESET, personalisation, f"safekeep-password_reset-{user.id}"
            )
    except (MailerUnavailable, MessageRefused):
        security_event("reset_link_not_sent", user_id=current_user.id, target_user=user.id)
        return (
            "The link could not be emailed (the mail server did not take it). Their old "
            "password no longer works: send the link again, or give a temporary password"
        )
    return None


# -- Teams -------------------------------------------------------------------------------------


@bp.get("/teams")
@bp.post("/teams")
@requires(Can.ADMINISTER_ACCOUNTS)
def teams():
    form = TeamForm()
    errors = form.check_posted()
    if request.method == "POST" and not errors:
        try:
            add_team(current_user.id, form.name.data, clock.now())
        except AccountError as error:
            errors.add_all(error.errors)
        else:
            return redirect(url_for("admin.teams", done="team_added"), code=303)
    members = dict(
        User.select(User.team, fn.COUNT(User.id))
        .where(User.active == True)  # noqa: E712
        .group_by(User.team)
        .tuples()
    )
    return render_template(
        "admin/teams.html",
        title="Teams",
        teams=list(Team.select().order_by(Team.retired_at.is_null(False), Team.name)),
        members=members,
        name=form.name.typed if request.method == "POST" else "",
        errors=errors,
        done=DONE.get(request.args.get("done", "")),
    ), 422 if errors else 200


def _team_or_404(team_id: int) -> Team:
    team = Team.get_or_none(Team.id == team_id)
    if team is None:
        abort(404)
    return team


@bp.get("/teams/<int:team_id>/rename")
@bp.post("/teams/<int:team_id>/rename")
@requires(Can.ADMINISTER_ACCOUNTS)
def rename(team_id: int):
    team = _team_or_404(team_id)
    form = TeamForm()
    errors = form.check_posted()
    if request.method == "POST" and not errors:
        try:
            rename_team(current_user.id, team.id, form.name.data, clock.now())
        except AccountError as error:
            errors.add_all(error.errors)
        else:
            return redirect(url_for("admin.teams", done="team_renamed"), code=303)
    return render_template(
        "admin/team_rename.html",
        title=f"Rename {team.name}",
        team=team,
        name=form.name.typed if request.method == "POST" else team.name,
        errors=errors,
    ), 422 if errors else 200


@bp.get("/teams/<int:team_id>/retire")
@bp.post("/teams/<int:team_id>/retire")
@requires(Can.ADMINISTER_ACCOUNTS)
def retire(team_id: int):
    team = _team_or_404(team_id)
    if request.method == "POST":
        retire_team(current_user.id, team.id, clock.now())
        return redirect(url_for("admin.teams", done="team_retired"), code=303)
    return render_template(
        "admin/team_retire.html",
        title=f"Retire {team.name}",
        team=team,
        blockers=team_contents(team.id).blockers(),
    )


# Setting up in bulk (CSV imports): its own module, under /admin/import, behind the same
# check that only administrators get in.
bp.register_blueprint(admin_import.bp)
