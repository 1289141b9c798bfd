"""Data protection training: a line manager's one-removal exception, and who is in date.

The rules are machines/training.py's; the training dates are recorded by an administrator
(services/accounts.record_training) or the learning system's import (services/imports.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from peewee import JOIN, IntegrityError

from machines.common import uk_date
from machines.permissions import Role
from machines.training import (
    LAPSING_SOON_DAYS,
    Training,
    add_months,
    exception_reason_error,
    long_date,
    may_allow_exception,
)
from models.base import db, write_transaction
from models.people import User, UserRole
from models.prepared import Prepared
from models.training import (
    TrainingException,
    training_by_person,
    training_of,
    training_period,
)


class ExceptionRefused(Exception):
    """The exception cannot be allowed as things stand (409): the message says why."""


class NotTheirManager(Exception):
    """Only the person's own line manager may allow it (403)."""


class ReasonError(ValueError):
    """The reason typed cannot be recorded (422): the GOV.UK message."""


def allow_exception(manager: User, person_id: int, reason: str, now: dt.datetime) -> User:
    """Record the manager's leave for one removal; return the person it is for."""
    if problem := exception_reason_error(reason):  # the length first, before any query
        raise ReasonError(problem)
    with write_transaction():
        person = User.get_or_none(User.id == person_id)
        if person is None or person.line_manager_id != manager.id or not person.active:
            raise NotTheirManager()
        training = training_of(person)
        if not may_allow_exception(person.as_actor(), training, manager.as_actor(), now):
            raise ExceptionRefused(refusal(person, training, now))
        try:
            with db.atomic():  # a savepoint: the refusal leaves the rest as it was
                TrainingException.allow(person, manager, reason.strip(), now)
        except IntegrityError:  # another click allowed one a moment ago
            raise ExceptionRefused(
                f"{person.display_name} already has one removal allowed."
            ) from None
    return person


def refusal(person: User, training: Training, now: dt.datetime) -> str:
    if training.exception_id is not None:
        return (
            f"{person.display_name} already has one removal allowed: it is used when they "
            "take papers out."
        )
    return (
        f"{person.display_name}'s data protection training is in date until "
        f"{long_date(training.lapses_on)}: no exception is needed."
    )


@dataclass
class Standing:
    """One person and their training, for the lists that name people."""

    person: User
    training: Training


# Asked on every line manager's home page (models/prepared.py: why compiled once).
_ACTIVE_REPORTS = Prepared(
    lambda manager_id: User.select().where(
        User.line_manager == manager_id,
        User.active == True,  # noqa: E712
    ),
    manager_id=int,
)


def reports_needing_training(manager: User, now: dt.datetime) -> list[Standing]:
    """The manager's active reports whose training has lapsed or lapses within 30 days."""
    today = uk_date(now)
    people = _ACTIVE_REPORTS.rows(manager_id=manager.id)
    standing = training_by_person(people)
    return sorted(
        (
            Standing(p, standing[p.id])
            for p in people
            if not standing[p.id].in_date(today) or standing[p.id].lapses_soon(today)
        ),
        key=lambda s: (s.training.lapses_on or dt.date.min, s.person.display_name),
    )


@dataclass
class Share:
    """How many of a group's staff are in date, and who lapses within 30 days."""

    staff: int = 0
    in_date: int = 0
    lapsing: list[Standing] = field(default_factory=list)
    lapsed: list[Standing] = field(default_factory=list)

    @property
    def percent(self) -> int | None:
        """Whole percent in date, rounded down (95 % means 95 %, never 94.6)."""
        return None if not self.staff else self.in_date * 100 // self.staff


def _staff_query():
    """Active people who are not a kiosk device: the staff the toolkit counts."""
    kiosks = UserRole.select(UserRole.user).where(UserRole.role == Role.KIOSK.value)
    return User.select().where(User.active == True, User.id.not_in(kiosks))  # noqa: E712


def shares_by_team(team_ids: list[int] | None, now: dt.datetime) -> dict[int, Share]:
    """Team id -> its share in date (None: every team)."""
    if team_ids is None:
        people = _STAFF.rows()
    elif len(team_ids) == 1:
        people = _STAFF_OF_TEAM.rows(team_id=team_ids[0])
    else:
        people = list(_teams_staff(team_ids))
    return _shares(people, now, key=lambda person: person.team_id)


def _teams_staff(team_ids: list[int] | None):
    query = _staff_query().where(User.team.is_null(False))
    if team_ids is not None:
        query = query.where(User.team.in_(team_ids))
    return query.order_by(User.display_name)


# Every board asks for one team's staff, or everyone's: each compiled once (models/prepared.py).
_STAFF = Prepared(lambda: _teams_staff(None))
_STAFF_OF_TEAM = Prepared(lambda team_id: _teams_staff([team_id]), team_id=int)


def council_share(now: dt.datetime) -> Share:
    people = list(_staff_query().order_by(User.display_name))
    return _shares(people, now, key=lambda person: 0).get(0, Share())


def _shares(people: list[User], now: dt.datetime, key) -> dict:
    today = uk_date(now)
    standing = training_by_person(people)
    shares: dict = {}
    for person in people:
        share = shares.setdefault(key(person), Share())
        training = standing[person.id]
        share.staff += 1
        if training.in_date(today):
            share.in_date += 1
            if training.lapses_soon(today):
                share.lapsing.append(Standing(person, training))
        else:
            share.lapsed.append(Standing(person, training))
    return shares


# A lapse is news for this long: a run after an outage still tells, while an upgrade (or a new
# install importing last year's dates) does not email about every lapse there ever was.
LAPSE_NEWS_DAYS = 7
# Months differ in length: the query's window is this much wider, the exact test is Python's.
_WINDOW_SLACK = dt.timedelta(days=4)


@dataclass(frozen=True)
class Lapse:
    """A person whose training lapses within 30 days, or lapsed in the last few days."""

    person_id: int
    email: str | None
    manager_id: int | None
    manager_email: str | None
    trained_on: dt.date
    lapses_on: dt.date
    lapsed: bool  # by the day asked about: else it lapses within LAPSING_SOON_DAYS


def lapse_news(now: dt.datetime) -> list[Lapse]:
    """Active staff whose training lapses within LAPSING_SOON_DAYS, or lapsed within
    LAPSE_NEWS_DAYS, with their line manager (active) to tell once it has lapsed."""
    today = uk_date(now)
    months = training_period()
    earliest = add_months(today - dt.timedelta(days=LAPSE_NEWS_DAYS), -months) - _WINDOW_SLACK
    latest = add_months(today + dt.timedelta(days=LAPSING_SOON_DAYS), -months) + _WINDOW_SLACK
    Manager = User.alias("manager")
    rows = (
        _staff_query()
        .select(
            User.id,
            User.email,
            User.trained_on,
            Manager.id.alias("manager_id"),
            Manager.email.alias("manager_email"),
        )
        .join(
            Manager,
            JOIN.LEFT_OUTER,
            on=(Manager.id == User.line_manager) & (Manager.active == True),  # noqa: E712
        )
        .where(User.trained_on.between(earliest, latest))
        .order_by(User.id)
        .dicts()
    )
    news = []
    for row in rows:
        lapses_on = add_months(row["trained_on"], months)
        lapsed_days = (today - lapses_on).days
        if -LAPSING_SOON_DAYS <= lapsed_days <= LAPSE_NEWS_DAYS:
            news.append(
                Lapse(
                    row["id"],
                    row["email"],
                    row["manager_id"],
                    row["manager_email"],
                    row["trained_on"],
                    lapses_on,
                    lapsed=lapsed_days >= 0,
                )
            )
    return news


# -- Were the staff involved in a breach trained? (the case page, the ICO's form) --------------


@dataclass(frozen=True)
class Involved:
    """One member of staff involved in a breach, and their training when it happened."""

    roles: tuple[str, ...]  # "reported it", "held the papers", "sent the documents"
    person: User
    trained_on: dt.date | None
    in_date_then: bool
    answer: str  # in words, without their name (the ICO draft quotes it)


def involved_training(breach) -> list[Involved]:
    """The reporter and, where there were papers or documents, their holder or sender, each
    judged on the day the breach happened (a date recorded since is said to be since)."""
    then = uk_date(breach.happened_at)
    people: dict[int, tuple[User, list[str]]] = {}
    staff = [("reported it", breach.reported_by)]
    if breach.removal_id is not None:
        staff.append(("held the papers", breach.removal.for_user))
    if breach.dispatch_id is not None:
        staff.append(("sent the documents", breach.dispatch.drafted_by))
    for role, person in staff:
        people.setdefault(person.id, (person, []))[1].append(role)
    months = training_period()
    involved = []
    for person, roles in people.values():
        training = Training(person.trained_on, months)
        involved.append(
            Involved(
                tuple(roles),
                person,
                person.trained_on,
                training.in_date(then),
                _answer(training, then),
            )
        )
    return involved


def _answer(training: Training, then: dt.date) -> str:
    trained_on = training.trained_on
    if trained_on is None:
        return "No: no data protection training recorded"
    completed = long_date(trained_on)
    if trained_on > then:
        return f"Completed {completed}, after the breach: any earlier training is not recorded"
    if training.in_date(then):
        return f"Yes: completed {completed}, in date when it happened"
    return f"No: completed {completed}, lapsed on {long_date(training.lapses_on)}"
