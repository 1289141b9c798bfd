"""The demo council's accounts: every role, two teams, one published password (demo only)."""

from __future__ import annotations

from machines.permissions import ROLE_LABELS
from models.base import db
from models.people import User
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
    return True


def demo_accounts() -> list[tuple[str, str]]:
    return [
        (u, ", ".join(ROLE_LABELS[r] for r in roles) + f" ({team})")
        for u, _, _, team, roles, _ in _DEMO
    ]
