"""Signing in, the kiosk PIN, and identifying at a team-base kiosk."""

from __future__ import annotations

from views.forms import GovForm
from views.forms.fields import Secret, Text

USERNAME_MAX = 100
STAFF_NUMBER_MAX = 20
LABEL_CODE_MAX = 20
PIN_MAX = 100  # longer than any PIN, so a PIN a digit too long hears the PIN rule


class SignIn(GovForm):
    username = Text("Username", required="Enter your username", limit=USERNAME_MAX)
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
