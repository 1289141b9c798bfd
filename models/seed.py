"""Accounts from the command line, and the demo council `make run` starts with."""

from __future__ import annotations

from models.base import db
from models.people import ROLES, Team, User, UserRole

DEMO_PASSWORD = "safekeep-demo-2026"


class UserInputError(ValueError):
    """A bad create-user argument, said in one line."""


def add_user(
    username: str,
    display_name: str,
    staff_number: str,
    team_name: str,
    roles: tuple[str, ...] | list[str],
    manager_username: str | None,
    password: str,
    pin: str | None = None,
    email: str | None = None,
) -> User:
    """Create one account; raise UserInputError naming the first bad argument."""
    username = username.strip().lower()
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise UserInputError(f"Unknown role '{unknown[0]}'. Roles are: {', '.join(ROLES)}.")
    if not roles:
        raise UserInputError("Give at least one --role.")
    if not username.replace("-", "").replace(".", "").replace("_", "").isalnum():
        raise UserInputError("Usernames use letters, digits, dots, hyphens and underscores only.")
    if len(password) < 12:
        raise UserInputError("The password must be at least 12 characters long.")
    if email and ("@" not in email or " " in email.strip()):
        raise UserInputError(f"'{email}' is not an email address.")
    if User.by_username(username):
        raise UserInputError(f"A user called '{username}' already exists.")
    if User.get_or_none(User.staff_number == staff_number):
        raise UserInputError(f"Staff number {staff_number} is already in use.")
    manager = None
    if manager_username:
        manager = User.by_username(manager_username)
        if manager is None:
            raise UserInputError(f"No user called '{manager_username}' to be the line manager.")
    with db.atomic():
        team, _ = Team.get_or_create(name=team_name.strip())
        user = User(
            username=username,
            display_name=display_name.strip(),
            staff_number=staff_number.strip(),
            team=team,
            line_manager=manager,
            email=email.strip().lower() if email else None,
        )
        user.set_password(password)
        if pin:
            from models.people import hash_secret

            user.pin_hash = hash_secret(pin)
        user.save()
        for role in dict.fromkeys(roles):
            UserRole.create(user=user, role=role)
    return user


# username, name, staff number, team, roles, line manager
_DEMO = [
    ("lina", "Lina Okafor", "10001", "Children North", ["line_manager"], None),
    ("pat", "Pat Reyes", "10002", "Children North", ["practitioner"], "lina"),
    ("sam", "Sam Patel", "10003", "Children North", ["practitioner"], "lina"),
    ("mo", "Mo Adeyemi", "20001", "Adults East", ["line_manager"], None),
    ("alex", "Alex Byrne", "20002", "Adults East", ["practitioner"], "mo"),
    ("dana", "Dana Whitfield", "90001", "Directorate", ["director"], None),
    ("ash", "Ash Kowalski", "90002", "Directorate", ["assistant_director"], "dana"),
    ("cal", "Cal Mensah", "90003", "Information Governance", ["caldicott_guardian"], "dana"),
    ("rita", "Rita Lowe", "90004", "Information Governance", ["records_manager"], "cal"),
    ("bim", "Ben Ito", "90005", "Information Governance", ["business_improvement"], "cal"),
    ("gov", "Gita Shah", "90006", "Information Governance", ["governance"], "cal"),
    ("dpo", "Dee Price", "90007", "Information Governance", ["dpo"], "cal"),
    ("admin", "Ada Admin", "90008", "Information Governance", ["admin"], None),
    ("kiosk-north", "Children North kiosk", "K0001", "Children North", ["kiosk"], None),
]
DEMO_PIN = "2468"


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
            )
    return True


def demo_accounts() -> list[tuple[str, str]]:
    return [
        (u, ", ".join(ROLES[r] for r in roles) + f" ({team})") for u, _, _, team, roles, _ in _DEMO
    ]
