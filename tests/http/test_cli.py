"""The command line a council's IT team uses: init-db, create-user, seed-demo, audit-verify."""

from __future__ import annotations

from models.people import User
from tests.conftest import PASSWORD


def test_create_user_makes_an_account_that_can_sign_in(app, web):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "jo",
            "--name",
            "Jo Bloggs",
            "--staff-number",
            "555",
            "--team",
            "Adults West",
            "--role",
            "practitioner",
            "--role",
            "line_manager",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    user = User.by_username("jo")
    assert user.team.name == "Adults West"
    assert user.roles == {"practitioner", "line_manager"}
    web.sign_in("jo")
    assert "Jo Bloggs" in web.get("/").get_data(as_text=True)


def test_create_user_rejects_an_unknown_role_in_one_line(app):
    result = app.test_cli_runner().invoke(
        args=[
            "create-user",
            "jo",
            "--name",
            "Jo",
            "--staff-number",
            "555",
            "--team",
            "T",
            "--role",
            "wizard",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code != 0
    assert "Unknown role 'wizard'" in result.output
    assert User.by_username("jo") is None


def test_create_user_rejects_an_unknown_manager_and_a_short_password(app):
    runner = app.test_cli_runner()
    base = [
        "create-user",
        "jo",
        "--name",
        "Jo",
        "--staff-number",
        "555",
        "--team",
        "T",
        "--role",
        "practitioner",
        "--password-stdin",
    ]
    result = runner.invoke(args=[*base, "--manager", "nobody"], input=PASSWORD + "\n")
    assert result.exit_code != 0 and "No user called 'nobody'" in result.output
    result = runner.invoke(args=base, input="short\n")
    assert result.exit_code != 0 and "at least 12 characters" in result.output
    # The same rule as everywhere else: never a password known from breaches.
    result = runner.invoke(args=base, input="Liverpool2026!\n")
    assert result.exit_code != 0 and "known from data breaches" in result.output
    assert User.by_username("jo") is None


def test_seed_demo_creates_every_role_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--demo"])
    assert result.exit_code == 0 and "password" in result.output
    roles = set().union(*(u.roles for u in User.select()))
    assert {
        "practitioner",
        "line_manager",
        "director",
        "assistant_director",
        "caldicott_guardian",
        "records_manager",
        "business_improvement",
        "governance",
        "dpo",
    } <= roles
    again = runner.invoke(args=["seed-demo", "--demo"])
    assert "nothing added" in again.output


def test_seed_demo_opens_on_a_working_office_with_a_true_audit_trail(app, web):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo", "--demo"])
    web.sign_in("lina", password="safekeep-demo-2026")
    board = web.get("/board").get_data(as_text=True)
    assert "Home visit notes, 2026" in board  # waiting for Lina's approval
    assert "3 days overdue" in board
    assert "Parenting assessment for court" in web.get("/send").get_data(as_text=True)
    # Lina owns an open action on a case referred to the ICO; Rita is owed its follow-up.
    assert "Lockable bags for every practitioner" in web.get("/").get_data(as_text=True)
    rita = web.__class__(app.test_client())
    rita.sign_in("rita", password="safekeep-demo-2026")
    owed = rita.get("/").get_data(as_text=True)
    assert 'id="ico-owed"' in owed and "Follow-up report" in owed
    verified = runner.invoke(args=["audit-verify"])
    assert verified.exit_code == 0 and "intact" in verified.output


def test_init_db_is_safe_to_run_twice(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init-db"]).exit_code == 0
    assert "schema version" in runner.invoke(args=["init-db"]).output
