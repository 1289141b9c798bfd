"""The account forms: administering people and teams, a person's own password, the import.

They only parse; services.accounts judges (unique staff numbers, the last administrator...).
"""

from __future__ import annotations

from machines.permissions import Role
from machines.professions import PROFESSIONS
from machines.training import EXCEPTION_REASON_MAX
from models.base import MAX_ID
from services.accounts import EMAIL_MAX, NAME_MAX, STAFF_NUMBER_MAX, TEAM_NAME_MAX, USERNAME_MAX
from views.forms import GovForm
from views.forms.fields import Choice, Choices, GovDate, Secret, Text, WholeNumber

SEARCH_MAX = 100


class StaffText(Text):
    """A member of staff's own details: a name, a work email, a username, a staff number.

    These are meant to be typed here: a member of staff is not a service user, so the check
    that refuses service users' personal data in free text (machines/privacy.py) would refuse
    "Dr Amira Shah" or a work email address for no reason. Hence `personal_data=True`.
    """

    def __init__(self, label: str = "", required: str | None = None, **kwargs):
        kwargs.setdefault("one_line", True)
        kwargs.setdefault("personal_data", True)
        super().__init__(label, required, **kwargs)


class LowerText(StaffText):
    """Staff text compared without case: usernames and email addresses, kept lower-case."""

    def process_formdata(self, valuelist) -> None:
        super().process_formdata(valuelist)
        self.data = (self.data or "").lower()


ROLE_CHOICES = [role.value for role in Role]


class PersonForm(GovForm):
    """Adding or editing a person: `username` only counts when adding."""

    username = LowerText("Username", limit=USERNAME_MAX)
    display_name = StaffText("Full name", limit=NAME_MAX)
    staff_number = StaffText("Staff number", limit=STAFF_NUMBER_MAX)
    email = LowerText("Work email address", limit=EMAIL_MAX)
    team_id = WholeNumber("Team", maximum=MAX_ID)
    line_manager_id = WholeNumber("Line manager", maximum=MAX_ID)
    roles = Choices("Roles", choices=ROLE_CHOICES, invalid="Select roles from the list")
    profession = Choice(
        "Profession",
        choices=[key for key, _ in PROFESSIONS],
        invalid="Select the person's profession from the list",
    )
    version = WholeNumber("Version", maximum=MAX_ID)
    # The hand-over a move to another team needs (services/handover.py).
    successor_id = WholeNumber("Who takes over", maximum=MAX_ID)
    work_seen = Text("Work", limit=20_000, personal_data=True)  # keys the page made, compared


class PeopleFilter(GovForm):
    """The people list's filters (in the query string: ids and codes, never a name)."""

    team = WholeNumber("Team", maximum=MAX_ID)
    role = Choice("Role", choices=ROLE_CHOICES, invalid="Select a role from the list")
    status = Choice(
        "Status", choices=["active", "disabled", "all"], invalid="Select a status from the list"
    )


class PeopleSearch(PeopleFilter):
    """A name, username, staff number or email to look for: sent in the body, never the URL."""

    q = StaffText("Name, username, staff number or email", limit=SEARCH_MAX)


class HandOver(GovForm):
    """Disabling someone: who takes over what they hold, and the list the page showed."""

    version = WholeNumber("Version", maximum=MAX_ID)
    successor_id = WholeNumber("Who takes over", maximum=MAX_ID)
    work_seen = Text("Work", limit=20_000, personal_data=True)  # keys the page made, compared


class Versioned(GovForm):
    version = WholeNumber("Version", maximum=MAX_ID)


class ResetPassword(GovForm):
    method = Choice(
        required="Select how the person will set their new password",
        choices=["link", "temporary"],
    )


class EndSession(GovForm):
    session_id = WholeNumber("Session", maximum=MAX_ID)


class TeamForm(GovForm):
    name = StaffText("Team name", required="Enter the team's name", limit=TEAM_NAME_MAX)


class ChangePassword(GovForm):
    current_password = Secret(required="Enter your current password")
    new_password = Secret(required="Enter a new password")
    confirm_password = Secret(required="Enter the new password again")


class ChooseNewPassword(GovForm):
    """A reset link's page, and a temporary password's first sign-in: no current password
    to ask for (the link, or the sign-in just made, proved who it is)."""

    new_password = Secret(required="Enter a new password")
    confirm_password = Secret(required="Enter the new password again")


class ImportConfirm(GovForm):
    """The preview's "Import": the CSV posted again (never kept on the server or in the URL)."""

    kind = Choice(required="Choose what to import", choices=["people", "records", "training"])
    # Staff names and emails are the point of a people file; services.imports checks each
    # record's description for service users' personal data, as the record form does.
    csv_text = Text("File", limit=1_000_000, personal_data=True)


class TrainingDate(GovForm):
    trained_on = GovDate("the date the training was completed")
    version = WholeNumber("Version", maximum=MAX_ID)


class TrainingException(GovForm):
    reason = Text(
        "Reason",
        required="Enter why this removal should go ahead before the training is done",
        limit=EXCEPTION_REASON_MAX,
    )
