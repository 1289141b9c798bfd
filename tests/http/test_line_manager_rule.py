"""One rule for who can be someone's line manager (a line manager, an Assistant Director or a
Director): the admin form's choices, its check, the CSV import and the approvals agree."""

from __future__ import annotations

import re

import pytest

from models.people import User
from tests.http.journeys import Cast, Page
from tests.http.journeys.accounts import person_form
from tests.http.test_import import HEADER, confirm, upload

LINE_MANAGER_ROLES = "Select a line manager, Assistant Director or Director as the line manager"


@pytest.fixture
def staff(people):
    ada = people.add("ada", "admin", team="Information Governance")
    dora = people.add("dora", "director", team="Directorate")
    adam = people.add("adam", "assistant_director", team="Directorate")
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", "practitioner", manager=dora)
    sam = people.add("sam", "practitioner", manager=lina)
    return {"ada": ada, "dora": dora, "adam": adam, "lina": lina, "pat": pat, "sam": sam}


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


def manager_options(html: str) -> dict[str, bool]:
    """The line manager select's options: value -> selected."""
    select = re.search(r'<select[^>]*name="line_manager_id".*?</select>', html, re.S).group(0)
    return {
        value: bool(selected)
        for value, selected in re.findall(r'<option value="([^"]*)"( selected)?', select)
    }


def as_the_page_sends_it(html: str, user: User) -> dict:
    """The edit form posted untouched: the manager is whichever option the page selected."""
    chosen = [value for value, selected in manager_options(html).items() if selected]
    return person_form(user, line_manager_id=chosen[0] if chosen else "")


def test_saving_a_person_managed_by_a_director_keeps_their_manager(cast, staff):
    web, pat = cast["ada"], staff["pat"]
    html = web.get(f"/admin/people/{pat.id}/edit").get_data(as_text=True)
    assert manager_options(html).get(str(staff["dora"].id)) is True
    response = web.post(
        f"/admin/people/{pat.id}/edit",
        {**as_the_page_sends_it(html, pat), "display_name": "Pat Reyes"},
    )
    assert response.status_code == 303
    assert User.get_by_id(pat.id).line_manager_id == staff["dora"].id


def test_an_admin_may_choose_a_director_or_assistant_director_but_not_a_practitioner(cast, staff):
    web, sam = cast["ada"], staff["sam"]
    html = web.get(f"/admin/people/{sam.id}/edit").get_data(as_text=True)
    offered = manager_options(html)
    for who in ("dora", "adam", "lina"):
        assert str(staff[who].id) in offered
    assert str(staff["pat"].id) not in offered
    response = web.post(
        f"/admin/people/{sam.id}/edit", person_form(sam, line_manager_id=staff["pat"].id)
    )
    assert response.status_code == 422
    assert LINE_MANAGER_ROLES in Page.of(response).errors
    assert User.get_by_id(sam.id).line_manager_id == staff["lina"].id
    response = web.post(
        f"/admin/people/{sam.id}/edit", person_form(sam, line_manager_id=staff["adam"].id)
    )
    assert response.status_code == 303
    assert User.get_by_id(sam.id).line_manager_id == staff["adam"].id


def test_the_import_takes_a_director_as_line_manager_and_refuses_a_practitioner(cast, staff):
    web = cast["ada"]
    refused = upload(
        web, "people", HEADER + "rred,Rae Red,30003,,Children North,pat,practitioner,\r\n"
    )
    assert LINE_MANAGER_ROLES in Page.of(refused).text
    assert User.by_username("rred") is None
    preview = upload(
        web, "people", HEADER + "rred,Rae Red,30003,,Children North,dora,practitioner,\r\n"
    )
    assert confirm(web, preview).status_code == 200
    assert User.by_username("rred").line_manager_id == staff["dora"].id
