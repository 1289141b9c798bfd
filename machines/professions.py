"""Staff professions, and the professional regulator a breach would be referred to.

Social workers in England have been regulated by Social Work England since December 2019
(the procedure's HCPC still regulates occupational therapists and other allied health
professions). The stored ids are schema (User.profession).
"""

from __future__ import annotations

PROFESSIONS: tuple[tuple[str, str], ...] = (
    ("social_worker", "Social worker"),
    ("occupational_therapist", "Occupational therapist"),
    ("other_hcpc", "Another HCPC-registered profession"),
    ("unregistered", "Not in a regulated profession"),
)

# profession -> the regulator key of machines.breach.REGULATORS
REGULATOR_OF: dict[str, str] = {
    "social_worker": "social_work_england",
    "occupational_therapist": "hcpc",
    "other_hcpc": "hcpc",
    "unregistered": "none",
}


def regulator_for(profession: str | None) -> str | None:
    """The regulator a staff member's conduct would be referred to, or None when unknown."""
    return REGULATOR_OF.get(profession or "")
