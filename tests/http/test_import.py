"""Setting up in bulk (issue 12): a CSV of people or records is checked row by row and shown
before anything is saved; a file with an error saves nothing, one without is saved in batches,
and importing it again skips what is already saved. The file goes back with the button, never
into the URL or a table."""

from __future__ import annotations

import html as htmllib
import io
import re
import threading
import time

import pytest

from machines import clock
from models.audit import AuditEvent, hmac_key, verify_chain
from models.people import Team, User
from models.records import Record
from services import imports
from tests.http.journeys import Cast, Page
from tests.http.journeys.accounts import events

HEADER = "username,full_name,staff_number,email,team,line_manager,roles,profession\r\n"


@pytest.fixture
def staff(people):
    ada = people.add("ada", "admin", team="Information Governance")
    lina = people.add("lina", "line_manager")
    return {"ada": ada, "lina": lina}


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


def upload(web, kind: str, text: str):
    web.get("/admin/import")
    return web.client.post(
        "/admin/import",
        data={
            "csrf_token": web.csrf,
            "kind": kind,
            "file": (io.BytesIO(text.encode("utf-8")), f"{kind}.csv"),
        },
        content_type="multipart/form-data",
    )


def confirm(web, response):
    html = response.get_data(as_text=True)
    kind = re.search(r'name="kind" value="([^"]+)"', html).group(1)
    csv_text = re.search(r'name="csv_text" value="([^"]*)"', html, re.S).group(1)
    return web.post("/admin/import/confirm", {"kind": kind, "csv_text": htmllib.unescape(csv_text)})


def test_the_templates_download_with_the_documented_headers(cast):
    web = cast["ada"]
    people = web.client.get("/admin/import/template-people.csv")
    assert people.status_code == 200 and people.mimetype == "text/csv"
    assert people.get_data(as_text=True).startswith(HEADER)
    records = web.client.get("/admin/import/template-records.csv").get_data(as_text=True)
    assert records.startswith("case_id,description,team\r\n")
    assert web.client.get("/admin/import/template-nothing.csv").status_code == 404


def test_people_are_previewed_then_imported_in_one_go_with_new_teams_and_managers(cast, staff):
    web = cast["ada"]
    text = (
        HEADER + "mgreen,Maya Green,30001,maya.green@council.example,Fostering,,line_manager,"
        "social_worker\r\n"
        "tblue,Tom Blue,30002,tom.blue@council.example,Fostering,mgreen,Practitioner;Line manager,"
        "Social worker\r\n"
        "rred,Rae Red,30003,,Children North,lina,practitioner,\r\n"
    )
    preview = upload(web, "people", text)
    page = Page.of(preview)
    assert preview.status_code == 200 and page.errors == []
    assert "3 rows read, no errors" in page.text and "New team to add: Fostering" in page.text
    assert "Import 3 people" in page.buttons
    assert User.by_username("mgreen") is None  # nothing saved yet
    before = AuditEvent.select().count()
    done = confirm(web, preview)
    assert done.status_code == 200 and "3 people added" in Page.of(done).text
    maya, tom, rae = (User.by_username(u) for u in ("mgreen", "tblue", "rred"))
    assert tom.line_manager_id == maya.id and rae.line_manager_id == staff["lina"].id
    assert tom.roles == {"practitioner", "line_manager"} and tom.profession == "social_worker"
    assert (
        maya.team.name == "Fostering" and Team.select().where(Team.name == "Fostering").count() == 1
    )
    # Each person and the new team on record; the import itself too.
    assert events("user", tom.id, "add_user")[0].details["details"]["line_manager"] == "Maya Green"
    assert events("team", maya.team_id, "add_team")
    assert AuditEvent.select().count() == before + 5  # 3 people, 1 team, the import


def test_every_rows_errors_show_before_anything_is_saved(cast, staff):
    web = cast["ada"]
    text = (
        HEADER + "lina,Someone,30001,,Children North,,practitioner,\r\n"  # username taken
        f"newone,New One,{staff['lina'].staff_number},bad-email,Children North,nobody,wizard,"
        "astronaut\r\n"
        "fine,Fine Person,30009,,Children North,,practitioner,\r\n"
        "fine,Again,30009,,Children North,,practitioner,\r\n"  # same username and number
    )
    response = upload(web, "people", text)
    page = Page.of(response)
    assert response.status_code == 422
    assert page.errors == [
        "Row 2: There is already an account called lina",
        f"Row 3: Staff number {staff['lina'].staff_number} is already used by Lina Tester; "
        "Enter an email address in the correct format, like name@example.org; "
        "“wizard” is not a role. Roles are: practitioner, line_manager, director, "
        "assistant_director, "
        "caldicott_guardian, records_manager, business_improvement, governance, dpo, admin, "
        "kiosk; “astronaut” is not a profession. Professions are: social_worker, "
        "occupational_therapist, other_hcpc, unregistered; No active account or row in the "
        "file has the username nobody (line manager)",
        "Row 5: Row 4 has the same username; Row 4 has the same staff number",
    ]
    assert "Import" not in " ".join(page.buttons)
    assert User.by_username("fine") is None


def test_a_file_changed_on_its_way_back_is_checked_again_and_nothing_saved(cast, staff, people):
    web = cast["ada"]
    preview = upload(
        web, "people", HEADER + "newone,New One,30001,,Children North,,practitioner,\r\n"
    )
    assert preview.status_code == 200
    people.add("newone")  # someone else took the username meanwhile
    response = confirm(web, preview)
    assert response.status_code == 422
    assert Page.of(response).errors == ["Row 2: There is already an account called newone"]


def test_records_carry_case_system_ids_and_an_audit_event_each(cast, staff):
    web = cast["ada"]
    text = (
        'case_id,description,team\r\n1234567,"Court bundle, volume 2",Children North\r\n'
        "mos-7654321,Assessment 2025,children north\r\n"
    )
    preview = upload(web, "records", text)
    assert preview.status_code == 200 and "Import 2 records" in Page.of(preview).buttons
    confirm(web, preview)
    records = list(Record.select().order_by(Record.id))
    assert [r.case_id for r in records] == ["1234567", "MOS-7654321"]
    assert all(r.team_id == staff["lina"].team_id for r in records)
    assert all(events("record", r.id, "add_record") for r in records)


def test_bad_records_and_files_are_refused_row_by_row(cast, staff):
    web = cast["ada"]
    rows = Page.of(upload(web, "records", "case_id,description,team\r\nJohn Smith,,Nowhere\r\n"))
    assert rows.errors[0].startswith("Row 2: Enter the case-system ID in the correct format")
    assert "There is no team called Nowhere: add it first" in rows.errors[0]
    headers = Page.of(upload(web, "records", "case,notes\r\n1,2\r\n"))
    assert headers.errors[0] == "The header row has no column called case_id, description, team"
    empty = Page.of(upload(web, "records", ""))
    assert empty.status == 422 and empty.errors == ["The file is empty"]
    nothing = Page.of(upload(web, "people", HEADER))
    assert nothing.errors == ["The file has a header row but no rows to import"]
    assert Record.select().count() == 0


def test_a_spreadsheets_windows_encoding_is_read(cast, staff):
    text = "case_id,description,team\r\n1234567,Caf\xe9 meeting notes,Children North\r\n"
    data, problem = imports.read_upload(text.encode("cp1252"))
    assert problem is None and "Café" in data


def test_only_administrators_import(new_web, staff, people):
    people.add("pat")
    web = new_web()
    web.sign_in("pat")
    web.get("/")
    assert web.client.get("/admin/import").status_code == 403
    response = web.client.post(
        "/admin/import",
        data={"csrf_token": web.csrf, "kind": "records", "file": (io.BytesIO(b"x"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403


# -- the advertised size, other people's saves meanwhile, and finishing a stopped import -----


def _people_file(count: int) -> str:
    rows = [
        f"p{n},Person {n},P{n},p{n}@council.example,Team {n % 7},"
        f"{'lina' if n % 50 == 0 else f'p{n - n % 50}'},"
        f"{'line_manager' if n % 50 == 0 else 'practitioner'},social_worker\r\n"
        for n in range(count)
    ]
    return HEADER + "".join(rows)


@pytest.mark.slow
def test_the_advertised_maximum_imports_while_other_people_keep_saving(cast, staff, people):
    """5,000 people, with line managers in the file. A record added by someone else while the
    import runs is saved between two batches, while part of the file is saved and part is not,
    instead of waiting for the whole file (or timing out on the write lock)."""
    people.add("pat")
    ada, pat = cast["ada"], cast["pat"]
    before = User.select().count()
    preview = upload(ada, "people", _people_file(imports.MAX_ROWS))
    assert preview.status_code == 200 and "Import 5000 people" in Page.of(preview).buttons
    pat.get("/records/new")
    result = {}

    def run_import():
        result["response"] = confirm(ada, preview)

    importing = threading.Thread(target=run_import)
    importing.start()
    while User.select().count() == before and importing.is_alive():
        time.sleep(0.02)  # until the first people are saved
    added = pat.post("/records/new", {"case_id": "7654321", "description": "Court bundle"})
    imported_by_then = User.select().count() - before
    importing.join()
    assert added.status_code == 303 and Record.select().count() == 1
    # Saved between two batches: an import in one transaction shows nobody, then everybody.
    assert 0 < imported_by_then < imports.MAX_ROWS, "the save waited for the whole import"
    done = result["response"]
    assert done.status_code == 200 and "5000 people added" in Page.of(done).text
    assert User.select().count() == before + imports.MAX_ROWS
    p60 = User.by_username("p60")
    assert p60.line_manager_id == User.by_username("p50").id
    assert events("user", p60.id, "add_user")[0].details["details"]["line_manager"] == "Person 50"
    assert not verify_chain(key=hmac_key()).problems  # the batches' events chain and are sealed


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_import_that_stopped_part_way_is_finished_by_importing_the_file_again(
    cast, staff, monkeypatch
):
    web = cast["ada"]
    text = HEADER + "".join(
        f"p{n},Person {n},P{n},,Children North,lina,practitioner,\r\n" for n in range(5)
    )
    monkeypatch.setattr(imports, "BATCH_ROWS", 2)
    real_append = AuditEvent.append_many
    calls = []

    def worker_killed_at_the_second_batch(events):
        calls.append(len(events))
        if len(calls) == 2:
            raise RuntimeError("the worker was stopped")
        real_append(events)

    monkeypatch.setattr(AuditEvent, "append_many", worker_killed_at_the_second_batch)
    with pytest.raises(RuntimeError):
        imports.commit("people", text, staff["ada"].id, clock.now())
    monkeypatch.setattr(AuditEvent, "append_many", real_append)
    # The first batch (two people, with their audit events) stays; the second left nothing.
    saved = [u for u in (User.by_username(f"p{n}") for n in range(5)) if u]
    assert [u.username for u in saved] == ["p0", "p1"]

    again = Page.of(upload(web, "people", text))
    assert again.status == 200 and "Import 3 people" in again.buttons
    assert again.text.count("Skipped") == 2
    done = confirm(web, upload(web, "people", text))
    assert done.status_code == 200
    assert "3 people added" in Page.of(done).text and "2 rows were already" in Page.of(done).text
    for n in range(5):
        user = User.by_username(f"p{n}")
        assert len(events("user", user.id, "add_user")) == 1
    assert User.select().where(User.username.startswith("p")).count() == 5

    third = Page.of(upload(web, "people", text))
    assert "Every row is already in" in third.text and not any(
        b.startswith("Import") for b in third.buttons
    )


def test_records_imported_twice_are_not_duplicated(cast, staff):
    web = cast["ada"]
    text = "case_id,description,team\r\n" + "1234567,Court bundle,Children North\r\n" * 2
    assert confirm(web, upload(web, "records", text)).status_code == 200
    assert Record.select().count() == 2  # two bundles alike: both kept
    again = Page.of(upload(web, "records", text))
    assert again.text.count("Skipped") == 2
    assert Record.select().count() == 2


def test_line_managers_that_go_round_in_a_circle_are_refused(cast, staff):
    text = (
        HEADER + "aa,A A,40001,,Children North,bb,line_manager,\r\n"
        "bb,B B,40002,,Children North,aa,line_manager,\r\n"
    )
    page = Page.of(upload(cast["ada"], "people", text))
    assert page.status == 422
    assert page.errors[0] == (
        "Row 2: The line managers in rows 2, 3 go round in a circle: "
        "give one of them a line manager outside it"
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_account_saved_meanwhile_stops_the_import_at_its_row_keeping_the_rows_before(
    cast, staff, people, monkeypatch
):
    web = cast["ada"]
    text = HEADER + "".join(
        f"p{n},Person {n},P{n},,Children North,lina,practitioner,\r\n" for n in range(4)
    )
    preview = upload(web, "people", text)
    monkeypatch.setattr(imports, "BATCH_ROWS", 2)
    real_clash = imports._clash

    def someone_adds_p2_meanwhile(batch):
        if batch[0].parsed["details"].username == "p2":
            people.add("p2")
        return real_clash(batch)

    monkeypatch.setattr(imports, "_clash", someone_adds_p2_meanwhile)
    response = confirm(web, preview)
    page = Page.of(response)
    assert response.status_code == 409
    assert "The import stopped at row 4" in page.text
    assert "2 people were saved before it, and stay saved" in page.text
    assert User.by_username("p1") is not None and User.by_username("p3") is None
