"""A dispatch nobody can check (issue 22): when the rest of a team moved or left, the
drafter's line manager, or else an Assistant Director or Director, gives the second check;
an account change that would leave a draft with nobody to check it is refused."""

from __future__ import annotations

import re

import pytest

from models.people import User
from tests.http.journeys import Cast, Page
from tests.http.journeys.accounts import person_form, work_seen
from tests.http.journeys.sending import CHECKS, draft, latest, send

# Runs on PostgreSQL too: the correlated query that finds drafts without a colleague.
pytestmark = pytest.mark.postgres


@pytest.fixture
def staff(people):
    ada = people.add("ada", "admin", team="Information Governance")
    ad = people.add("ad", "assistant_director", team="Directorate")
    lina = people.add("lina", "line_manager", manager=ad)
    pat = people.add("pat", "practitioner", manager=lina)
    sam = people.add("sam", "practitioner", manager=lina)
    mo = people.add("mo", "line_manager", team="Adults East")
    return {"ada": ada, "ad": ad, "lina": lina, "pat": pat, "sam": sam, "mo": mo}


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


def disable(web, person, successor=None):
    page = web.get(f"/admin/people/{person.id}/disable").get_data(as_text=True)
    data = {"version": User.get_by_id(person.id).version}
    if 'name="work_seen"' in page:
        data["work_seen"] = work_seen(page)
    if successor is not None:
        data["successor_id"] = successor.id
    return web.post(f"/admin/people/{person.id}/disable", data)


def move(web, person, team_id, successor=None):
    fresh = User.get_by_id(person.id)
    data = person_form(fresh, team_id=team_id, line_manager_id="")
    response = web.post(f"/admin/people/{person.id}/edit", data)
    if response.status_code != 303 and 'name="work_seen"' in response.get_data(as_text=True):
        data.update(work_seen=work_seen(response.get_data(as_text=True)), successor_id=successor.id)
        response = web.post(f"/admin/people/{person.id}/edit", data)
    return response


def test_the_last_of_a_team_has_their_draft_checked_by_their_line_manager(cast, staff):
    admin = cast["ada"]
    assert disable(admin, staff["sam"]).status_code == 303
    # Lina moves: Pat's line management passes to the Assistant Director.
    assert move(admin, staff["lina"], staff["mo"].team_id, staff["ad"]).status_code == 303
    assert User.get_by_id(staff["pat"].id).line_manager_id == staff["ad"].id
    assert draft(cast["pat"]).status_code == 303

    home = cast["ad"].get("/").get_data(as_text=True)
    waiting = home.split('id="to-check-above"', 1)[1].split("</div>", 1)[0]
    assert "Nobody else in the team can check this draft" in waiting
    (link,) = re.findall(r'href="([^"]+)"', waiting)
    assert link == f"/dispatches/{latest().id}"
    page = Page.of(cast["ad"].get(link))
    assert "Confirm the checks" in page.buttons
    assert send(cast["ad"], "check", **CHECKS).status_code == 303
    assert (latest().state, latest().checked_by_id) == ("checked", staff["ad"].id)
    # The drafter still may not check their own, and nothing else waits on the home page.
    assert "to-check-above" not in cast["ad"].get("/").get_data(as_text=True)


def test_nobody_from_above_checks_while_a_colleague_may(cast, staff):
    assert draft(cast["pat"]).status_code == 303
    page = Page.of(cast["ad"].get(f"/dispatches/{latest().id}"))
    assert "Confirm the checks" not in page.buttons
    assert send(cast["ad"], "check", **CHECKS).status_code == 403
    assert latest().state == "drafted"


def test_disabling_the_last_person_who_could_check_a_draft_is_refused(cast, staff):
    admin = cast["ada"]
    pat = staff["pat"]
    # Pat's manager works in another team (cannot see Pat's dispatches); Sam leaves.
    User.update(line_manager=staff["mo"].id).where(User.id == pat.id).execute()
    User.update(line_manager=None).where(User.id == staff["lina"].id).execute()
    assert move(admin, staff["lina"], staff["mo"].team_id, staff["ad"]).status_code == 303
    assert disable(admin, staff["sam"], staff["ad"]).status_code == 303
    assert draft(cast["pat"]).status_code == 303
    dispatch = latest()
    assert "Confirm the checks" in Page.of(cast["ad"].get(f"/dispatches/{dispatch.id}")).buttons

    # The Assistant Director is the only one left to check it.
    refused = disable(admin, staff["ad"], staff["mo"])
    assert refused.status_code == 409
    said = Page.of(refused).text
    assert f"Disabling Ad Tester would leave dispatch {dispatch.id} (case 1234567)" in said
    assert "with nobody who may give the second check" in said
    assert User.get_by_id(staff["ad"].id).active
    # Taking away their role is refused the same way; the draft still waits for them.
    ad = User.get_by_id(staff["ad"].id)
    demoted = admin.post(f"/admin/people/{ad.id}/edit", person_form(ad, roles=["governance"]))
    assert demoted.status_code == 409, demoted.status_code
    assert "with nobody who may give the second check" in Page.of(demoted).text
    assert User.get_by_id(ad.id).roles == {"assistant_director"}
    assert send(cast["ad"], "check", **CHECKS).status_code == 303
