"""Signing in, the kiosk PIN, and identifying at a team-base kiosk."""

from __future__ import annotations

from views.forms import GovForm
from views.forms.fields import Secret, Text

USERNAME_MAX = 100
STAFF_NUMBER_MAX = 20
LABEL_CODE_MAX = 20


class SignIn(GovForm):
    username = Text("Username", required="Enter your username", limit=USERNAME_MAX)
    password = Secret(required="Enter your password")


class SetPin(GovForm):
    password = Secret(required="Enter your password")
    pin = Text("PIN")
    pin_confirm = Text("PIN again")


class KioskIdentify(GovForm):
    staff_number = Text("Staff number", required="Enter your staff number", limit=STAFF_NUMBER_MAX)
    pin = Secret(required="Enter your PIN")


class KioskScan(GovForm):
    label_code = Text(
        "Label code",
        required="Scan the label, or type the code printed on it",
        limit=LABEL_CODE_MAX,
    )
