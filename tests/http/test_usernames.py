"""One rule for usernames wherever one enters: the administration form, the CSV import, the
command line and the sign-in form accept exactly the usernames services.accounts.username_error
accepts. The sign-in form once refused "la111500a", which the administration form had
accepted, as "a National Insurance number": that account could never sign in."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from models.people import Team, User, UserRole
from services import imports
from services.accounts import PersonDetails, UserInputError, add_user, check_person, username_error
from views.forms.accounts import PersonForm
from views.forms.people import SignIn

PASSWORD = "correct horse battery staple"

usernames = st.one_of(
    st.text(alphabet="abcxyz019._-", min_size=1, max_size=12),
    st.text(alphabet="aZ9 ._-@!é", min_size=0, max_size=8),
    st.from_regex(r"[a-z]{2}[0-9]{6}[a-d]", fullmatch=True),  # NI-number-like
    st.from_regex(r"[0-9]{10}", fullmatch=True),  # NHS-number-like
    st.sampled_from(["la111500a", "jc123456c", "07700900123", "mrs.smith", "sw1a1aa"]),
)


def _admin_accepts(username: str) -> bool:
    form = PersonForm(formdata=MultiDict({"username": username}))
    form.validate()
    if form.username.errors:
        return False
    return "username" not in check_person(PersonDetails(username=form.username.data))


def _sign_in_accepts(username: str) -> bool:
    form = SignIn(formdata=MultiDict({"username": username, "password": PASSWORD}))
    form.validate()
    return not form.username.errors


def _import_accepts(username: str) -> bool:
    cell = '"' + username.replace('"', '""') + '"'
    text = f"{imports.COLUMNS['people'][0][0]},full_name,staff_number,team,roles\r\n"
    preview = imports.preview(
        "people", text + f"{cell},Some One,77001,Children North,practitioner\r\n"
    )
    return not preview.file_errors and not preview.rows[0].errors


def _command_line_accepts(username: str) -> bool:
    try:
        user = add_user(
            username, "Some One", "77002", "Children North", ["practitioner"], None, PASSWORD
        )
    except UserInputError:
        return False
    UserRole.delete().where(UserRole.user == user.id).execute()
    User.delete().where(User.id == user.id).execute()  # the next example may use it again
    return True


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(username=usernames)
@example(username="la111500a")
def test_every_place_a_username_enters_agrees_with_the_one_rule(app, username: str) -> None:
    Team.get_or_create(name="Children North")
    with app.app_context():
        rule = username_error(" ".join(username.split()).lower()) is None
        answers = {
            "admin form": _admin_accepts(username),
            "sign-in form": _sign_in_accepts(username),
            "import": _import_accepts(username),
            "command line": _command_line_accepts(username),
        }
    assert answers == dict.fromkeys(answers, rule), (username, rule)
