"""Staff professions, and the professional regulator a breach would be referred to.

Social workers in England have been regulated by Social Work England since December 2019
(the procedure's HCPC still regulates occupational therapists and other allied health
professions). The stored ids are schema (User.profession).
"""

from __future__ import annotations

# (id, label, the regulator key of machines.breach_report.REGULATORS): one row a profession.
_ROWS: tuple[tuple[str, str, str], ...] = (
    ("social_worker", "Social worker", "social_work_england"),
    ("occupational_therapist", "Occupational therapist", "hcpc"),
    ("other_hcpc", "Another HCPC-registered profession", "hcpc"),
    ("unregistered", "Not in a regulated profession", "none"),
)
PROFESSIONS: tuple[tuple[str, str], ...] = tuple((key, label) for key, label, _ in _ROWS)
REGULATOR_OF: dict[str, str] = {key: regulator for key, _, regulator in _ROWS}


def regulator_for(profession: str | None) -> str | None:
    """The regulator a staff member's conduct would be referred to, or None when unknown."""
    return REGULATOR_OF.get(profession or "")
