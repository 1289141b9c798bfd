"""Signing in, the kiosk PIN, and identifying at a team-base kiosk."""

from __future__ import annotations

from wtforms.validators import ValidationError

from services.accounts import USERNAME_MAX, username_error
from views.forms import GovForm
from views.forms.fields import Secret, Text

STAFF_NUMBER_MAX = 20
LABEL_CODE_MAX = 20
PIN_MAX = 100  # longer than any PIN, so a PIN a digit too long hears the PIN rule


def valid_username(form, field) -> None:
    """The one username rule (services.accounts.username_error), as every account was made by.

    No personal-data patterns: a username is a member of staff's, and one the administration
    pages accept ("la111500a") must sign in, not be refused as a National Insurance number.
    """
    if problem := username_error(field.data.lower()):
        raise ValidationError(problem)


class SignIn(GovForm):
    username = Text(
        "Username",
        required="Enter your username",
        limit=USERNAME_MAX,
        personal_data=True,
        validators=[valid_username],
    )
    password = Secret(required="Enter your password")


class SetPin(GovForm):
    password = Secret(required="Enter your password")
    # Digits, judged by the PIN rule (views/account.py); never free text about anyone.
    pin = Text("PIN", limit=PIN_MAX, personal_data=True)
    pin_confirm = Text("PIN again", limit=PIN_MAX, personal_data=True)


class KioskIdentify(GovForm):
    staff_number = Text("Staff number", required="Enter your staff number", limit=STAFF_NUMBER_MAX)
    pin = Secret(required="Enter your PIN")


class KioskScan(GovForm):
    label_code = Text(
        "Label code",
        required="Scan the label, or type the code printed on it",
        limit=LABEL_CODE_MAX,
    )
