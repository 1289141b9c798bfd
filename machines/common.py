"""What every machine shares: who is acting, and how a validator refuses input."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    """The signed-in person a transition is attempted by (built by the view from the user)."""

    id: int
    roles: frozenset[str] = field(default_factory=frozenset)
    team_id: int | None = None
    line_manager_id: int | None = None

    def has(self, *roles: str) -> bool:
        """Return True when the actor holds any of the roles."""
        return any(role in self.roles for role in roles)


class InputError(Exception):
    """A validator's refusal: form field name -> GOV.UK error message ("Enter the ...")."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors
