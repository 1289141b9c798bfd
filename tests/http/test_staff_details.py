"""Staff are not service users: the check that refuses service users' personal data in free
text (machines/privacy.py) must let a member of staff's own name and work email through the
administration forms and the CSV import, while a record's description is still checked."""

from __future__ import annotations

import pytest

from models.people import User
from models.records import Record
from tests.http.journeys import Cast, Page
from tests.http.journeys.accounts import new_person, person_form
from tests.http.test_import import HEADER, confirm, upload

# Each of these is refused in a breach or record form: a title before a name, an email.
NAME = "Dr Amira Shah"
EMAIL = "amira.shah@council.example"


@pytest.fixture
def staff(people):
    ada = people.add("ada", "admin", team="Information Governance")
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", "practitioner", manager=lina)
    return {"ada": ada, "lina": lina, "pat": pat}


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


def test_an_admin_adds_and_edits_a_person_with_a_real_name_and_work_email(cast, staff):
    web = cast["ada"]
    web.get("/admin/people/new")
    added = web.post(
        "/admin/people/new",
        new_person(staff["pat"].team, username="ashah", display_name=NAME, email=EMAIL),
    )
    assert added.status_code == 303, Page.of(added).errors
    amira = User.by_username("ashah")
    assert amira.display_name == NAME and amira.email == EMAIL
    pat = staff["pat"]
    web.get(f"/admin/people/{pat.id}/edit")
    edited = web.post(
        f"/admin/people/{pat.id}/edit",
        person_form(pat, display_name="Mr Pat Reyes", email="pat.reyes@council.example"),
    )
    assert edited.status_code == 303, Page.of(edited).errors
    assert User.get_by_id(pat.id).display_name == "Mr Pat Reyes"
    # Looking someone up by their email finds them.
    found = Page.of(web.post("/admin/people", {"q": EMAIL}))
    assert found.status == 200 and NAME in found.text


def test_a_people_file_with_names_and_emails_imports(cast, staff):
    web = cast["ada"]
    text = HEADER + f"ashah,{NAME},30001,{EMAIL},Children North,lina,practitioner,\r\n"
    preview = upload(web, "people", text)
    assert Page.of(preview).errors == []
    done = confirm(web, preview)
    assert done.status_code == 200, Page.of(done).errors
    assert User.by_username("ashah").email == EMAIL


def test_a_records_file_still_refuses_a_service_users_details_in_a_description(cast, staff):
    web = cast["ada"]
    text = "case_id,description,team\r\n1234567,Letters from Mrs Jones,Children North\r\n"
    page = Page.of(upload(web, "records", text))
    assert page.status == 422
    assert page.errors == [
        "Row 2: Description looks like it contains a person's name. Use the case-system ID or "
        "initials instead"
    ]
    assert Record.select().count() == 0
