"""The demo council's accounts: every role, two teams, one published password (demo only)."""

from __future__ import annotations

import datetime as dt

from machines.clock import uk_today
from machines.permissions import ROLE_LABELS
from machines.training import add_months
from models.base import db
from models.people import User
from models.training import training_period
from services.accounts import add_user

DEMO_PASSWORD = "safekeep-demo-2026"


# The regulated professions of the demo's team staff (machines.professions).
_PROFESSIONS = {
    "lina": "social_worker",
    "pat": "social_worker",
    "sam": "social_worker",
    "mo": "social_worker",
    "alex": "occupational_therapist",
}

# username, name, staff number, team, roles, line manager
_DEMO = [
    ("lina", "Lina Okafor", "10001", "Children North", ["line_manager"], None),
    ("pat", "Pat Reyes", "10002", "Children North", ["practitioner"], "lina"),
    ("sam", "Sam Patel", "10003", "Children North", ["practitioner"], "lina"),
    ("mo", "Mo Adeyemi", "20001", "Adults East", ["line_manager"], None),
    ("alex", "Alex Byrne", "20002", "Adults East", ["practitioner"], "mo"),
    ("dana", "Dana Whitfield", "90001", "Directorate", ["director"], None),
    ("ash", "Ash Kowalski", "90002", "Directorate", ["assistant_director"], "dana"),
    # Line managers, Assistant Directors and Directors manage people (Can.LINE_MANAGE): the
    # Information Governance staff report to the Director.
    ("cal", "Cal Mensah", "90003", "Information Governance", ["caldicott_guardian"], "dana"),
    ("rita", "Rita Lowe", "90004", "Information Governance", ["records_manager"], "dana"),
    ("bim", "Ben Ito", "90005", "Information Governance", ["business_improvement"], "dana"),
    ("gov", "Gita Shah", "90006", "Information Governance", ["governance"], "dana"),
    ("dpo", "Dee Price", "90007", "Information Governance", ["dpo"], "dana"),
    ("admin", "Ada Admin", "90008", "Information Governance", ["admin"], None),
    ("kiosk-north", "Children North kiosk", "K0001", "Children North", ["kiosk"], None),
]
DEMO_PIN = "2468"

# Days since each person's data protection training, so the demo shows every standing: most
# in date, Sam's lapsing within 30 days (a reminder, a board's list), Alex's lapsed (he needs
# Mo's exception to take papers out). The kiosk is a device: no training.
_TRAINED_DAYS_AGO = {"lina": 100, "pat": 60, "mo": 45, "dana": 200, "ash": 150, "cal": 90}
_TRAINED_DAYS_AGO |= {"rita": 120, "bim": 80, "gov": 70, "dpo": 30, "admin": 40}
SAM_LAPSES_IN_DAYS = 20
ALEX_LAPSED_DAYS_AGO = 35
# Managers listed after the people they manage: the team managers report to the Director,
# so a team manager's own request for papers goes to her (machines.removal.approvers_for).
_MANAGED_BY_LATER = {"lina": "dana", "mo": "dana"}


def seed_demo() -> bool:
    """Create the demo council when the database has no users; return True when created."""
    if User.select().exists():
        return False
    with db.atomic():
        for username, name, number, team, roles, manager in _DEMO:
            add_user(
                username,
                name,
                number,
                team,
                roles,
                manager,
                DEMO_PASSWORD,
                pin=DEMO_PIN,
                email=f"{username}@council.example",
                profession=_PROFESSIONS.get(username),
            )
        for username, manager in _MANAGED_BY_LATER.items():
            User.update(line_manager=User.by_username(manager)).where(
                User.username == username
            ).execute()
        for username, trained_on in demo_training_dates(uk_today()).items():
            User.update(trained_on=trained_on).where(User.username == username).execute()
    return True


def demo_training_dates(today: dt.date) -> dict[str, dt.date]:
    """Each demo person's training date, counted back from today under the period in force."""
    lapses_back = add_months(today, -training_period())
    return {
        **{name: today - dt.timedelta(days=days) for name, days in _TRAINED_DAYS_AGO.items()},
        "sam": lapses_back + dt.timedelta(days=SAM_LAPSES_IN_DAYS),
        "alex": lapses_back - dt.timedelta(days=ALEX_LAPSED_DAYS_AGO),
    }


def demo_accounts() -> list[tuple[str, str]]:
    return [
        (u, ", ".join(ROLE_LABELS[r] for r in roles) + f" ({team})")
        for u, _, _, team, roles, _ in _DEMO
    ]
