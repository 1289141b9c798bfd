"""Creating staff accounts (the command line today; administration and import build on it)."""

from __future__ import annotations

from machines.permissions import Role
from machines.professions import PROFESSIONS
from models.base import db
from models.people import Team, User, UserRole, hash_secret


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
    profession: str | None = None,
) -> User:
    """Create one account; raise UserInputError naming the first bad argument."""
    username = username.strip().lower()
    unknown = [r for r in roles if r not in set(Role)]
    if unknown:
        raise UserInputError(f"Unknown role '{unknown[0]}'. Roles are: {', '.join(Role)}.")
    if not roles:
        raise UserInputError("Give at least one --role.")
    if not username.replace("-", "").replace(".", "").replace("_", "").isalnum():
        raise UserInputError("Usernames use letters, digits, dots, hyphens and underscores only.")
    if len(password) < 12:
        raise UserInputError("The password must be at least 12 characters long.")
    if profession and profession not in dict(PROFESSIONS):
        known = ", ".join(dict(PROFESSIONS))
        raise UserInputError(f"Unknown profession '{profession}'. Professions are: {known}.")
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
            profession=profession or None,
        )
        user.set_password(password)
        if pin:
            user.pin_hash = hash_secret(pin)
        user.save()
        for role in dict.fromkeys(roles):
            UserRole.create(user=user, role=role)
    return user
