"""Single sign-on with OpenID Connect (issue 12), against a real provider process on loopback
(tests/oidc_provider.py: oidc-provider-mock, plus a control to spoil the next ID token's
claims). The whole flow runs over HTTP: the app's redirect to the provider, the provider's
sign-in form answered as a person would, the callback, and the app's own code exchange and
token checks against the provider's published keys. Nothing leaves the machine."""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from machines import clock
from models.audit import AuditEvent
from models.people import User, UserSession
from services.sso import SsoSettingError, sso_settings
from tests.conftest import PASSWORD, People, close_database, make_app
from tests.http.conftest import Web
from tests.http.journeys import Page
from tests.http.journeys.accounts import events
from tests.pgserver import free_port

CLIENT_ID = "safekeep-test"


def sso_config(provider: str, **more) -> dict:
    return {
        "OIDC_ISSUER": provider,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": "test-client-secret",
        "OIDC_PROVIDER_NAME": "your council account",
        # The public address the provider sends people back to; the test client answers it.
        "REMINDER_BASE_URL": "http://localhost",
        **more,
    }


@pytest.fixture
def sso_app(backend, tmp_path, request, provider):
    app = make_app(backend, tmp_path, request, **sso_config(provider))
    yield app
    close_database()


@pytest.fixture
def staff(sso_app):
    people = People()
    return {
        "ada": people.add("ada", "admin", team="Information Governance"),
        "pat": people.add("pat"),
        "kiosk": people.add("kiosk-north", "kiosk", pin=None),
    }


def provider_user(provider: str, sub: str, **claims) -> None:
    requests.put(f"{provider}/users/{sub}", json=claims, timeout=10).raise_for_status()


def spoil_next_id_token(provider: str, **claims) -> None:
    requests.put(f"{provider}/test/id-token", json=claims, timeout=10).raise_for_status()


def sso_sign_in(client, provider: str, sub: str, next_url: str = "/"):
    """Start at the app, sign in at the provider as `sub`, come back; the app's answer and the
    provider address the app sent the browser to."""
    start = client.get("/sso/start", query_string={"next": next_url})
    assert start.status_code == 302, start.status_code
    authorize = start.headers["Location"]
    assert authorize.startswith(provider + "/")
    answered = requests.post(authorize, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert answered.status_code == 302, answered.text[:500]
    back = urlsplit(answered.headers["Location"])
    assert back.path == "/sso/callback"
    return client.get(f"{back.path}?{back.query}"), authorize


def test_a_member_of_staff_signs_in_with_the_provider(sso_app, staff, provider):
    provider_user(provider, "pat-sub-1", email="Pat@Council.Example", name="Pat")
    client = sso_app.test_client()
    response, authorize = sso_sign_in(client, provider, "pat-sub-1", next_url="/account")
    # Authorization code flow with PKCE (S256), state and nonce.
    asked = parse_qs(urlsplit(authorize).query)
    assert asked["response_type"] == ["code"] and asked["client_id"] == [CLIENT_ID]
    assert asked["code_challenge_method"] == ["S256"] and len(asked["code_challenge"][0]) >= 43
    assert asked["state"][0] and asked["nonce"][0]
    assert "openid" in asked["scope"][0].split()
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert client.get("/").status_code == 200
    session = UserSession.get(UserSession.user == staff["pat"].id)
    assert session.via == "sso"
    (signed_in,) = events("user", staff["pat"].id, "sign_in")
    assert signed_in.details == {"via": "sso"}
    assert "Single sign-on" in Page.of(client.get("/account")).text


def test_the_sign_in_page_offers_the_provider(sso_app, staff):
    page = Page.of(sso_app.test_client().get("/sign-in"))
    assert "Sign in with your council account" in page.text
    assert "Or sign in with a Safekeep password" in page.text


def test_an_unknown_identity_is_told_to_ask_an_administrator_and_gets_no_account(
    sso_app, staff, provider, caplog
):
    provider_user(provider, "stranger-1", email="someone.new@council.example")
    users = User.select().count()
    client = sso_app.test_client()
    with caplog.at_level(logging.INFO, logger="safekeep.security"):
        response, _ = sso_sign_in(client, provider, "stranger-1")
    page = Page.of(response)
    assert response.status_code == 403
    assert page.title.startswith("You cannot sign in yet")
    assert "Ask your administrator to add you" in page.text
    assert User.select().count() == users
    assert client.get("/").status_code == 302
    (event,) = AuditEvent.select().where(AuditEvent.event == "sso_unknown_identity")
    assert event.details["reason"] == "unknown" and len(event.details["identity"]) == 16
    assert "sso_unknown_identity" in caplog.text
    assert "someone.new" not in caplog.text and "someone.new" not in event.summary


def test_a_disabled_account_is_refused(sso_app, staff, provider):
    User.update(active=False).where(User.id == staff["pat"].id).execute()
    provider_user(provider, "pat-sub-2", email="pat@council.example")
    response, _ = sso_sign_in(sso_app.test_client(), provider, "pat-sub-2")
    assert response.status_code == 403
    assert "Your Safekeep account has been disabled" in Page.of(response).text


def test_an_id_token_for_another_audience_is_refused(sso_app, staff, provider, caplog):
    """aud names another client, azp ours: Authlib's default checks let this through (its
    azp rule); OpenID Connect says the client must find itself in aud."""
    provider_user(provider, "pat-sub-3", email="pat@council.example")
    spoil_next_id_token(provider, aud=["another-client"], azp=CLIENT_ID)
    client = sso_app.test_client()
    with caplog.at_level(logging.INFO, logger="safekeep.security"):
        response, _ = sso_sign_in(client, provider, "pat-sub-3")
    assert response.status_code == 401
    assert Page.of(response).title.startswith("Sign-in did not work")
    assert client.get("/").status_code == 302
    assert not UserSession.select().exists()
    assert "sso_refused" in caplog.text and "'aud'" in caplog.text


def test_an_expired_id_token_is_refused(sso_app, staff, provider):
    provider_user(provider, "pat-sub-4", email="pat@council.example")
    spoil_next_id_token(provider, exp=-3600, iat=-7200)
    client = sso_app.test_client()
    response, _ = sso_sign_in(client, provider, "pat-sub-4")
    assert response.status_code == 401
    assert client.get("/").status_code == 302


def test_a_callback_that_the_app_did_not_start_is_refused(sso_app, staff, provider):
    client = sso_app.test_client()
    response = client.get("/sso/callback?code=forged&state=forged")
    assert response.status_code == 401
    assert client.get("/").status_code == 302


def test_a_provider_that_cannot_be_reached_is_said_so_and_signs_no_one_in(
    backend, tmp_path, request, caplog
):
    # Nothing listens on this port: the provider's metadata cannot be fetched.
    app = make_app(backend, tmp_path, request, **sso_config(f"http://127.0.0.1:{free_port()}"))
    try:
        client = app.test_client()
        with caplog.at_level(logging.INFO, logger="safekeep.security"):
            response = client.get("/sso/start")
        page = Page.of(response)
        assert response.status_code == 503
        assert "could not reach the council's sign-in service" in page.text
        assert "provider_unreachable" in caplog.text
        assert client.get("/").status_code == 302
    finally:
        close_database()


def test_a_kiosk_account_does_not_sign_in_with_the_provider(sso_app, staff, provider):
    User.update(email="kiosk@council.example").where(User.id == staff["kiosk"].id).execute()
    provider_user(provider, "kiosk-sub", email="kiosk@council.example")
    response, _ = sso_sign_in(sso_app.test_client(), provider, "kiosk-sub")
    assert response.status_code == 403


def test_staff_can_be_matched_by_upn_to_their_username(backend, tmp_path, request, provider):
    app = make_app(
        backend,
        tmp_path,
        request,
        **sso_config(provider, OIDC_STAFF_CLAIM="preferred_username", OIDC_MATCH_FIELD="username"),
    )
    try:
        People().add("pat")
        provider_user(provider, "pat-upn", preferred_username="PAT", email="elsewhere@x.example")
        response, _ = sso_sign_in(app.test_client(), provider, "pat-upn")
        assert response.status_code == 303
    finally:
        close_database()


# -- Local passwords off (SSO_ONLY) ---------------------------------------------------------------


@pytest.fixture
def sso_only_app(backend, tmp_path, request, provider):
    app = make_app(
        backend,
        tmp_path,
        request,
        **sso_config(provider, SSO_ONLY="1", SSO_BREAK_GLASS="ada"),
    )
    yield app
    close_database()


def password_sign_in(client, username: str, password: str = PASSWORD):
    web = Web(client)
    web.get("/sign-in?local=1")
    return web.post("/sign-in", {"username": username, "password": password})


def test_sso_only_refuses_local_passwords_but_for_break_glass_and_kiosks(sso_only_app):
    people = People()
    people.add("ada", "admin", team="Information Governance")
    people.add("pat")
    people.add("kiosk-north", "kiosk", pin=None)
    page = Page.of(sso_only_app.test_client().get("/sign-in"))
    assert "Sign in with your council account" in page.text
    assert "Password" not in page.text and "Break-glass sign-in" in page.text
    refused = password_sign_in(sso_only_app.test_client(), "pat")
    assert refused.status_code == 401  # the same answer as a wrong password
    assert password_sign_in(sso_only_app.test_client(), "ada").status_code == 303
    assert password_sign_in(sso_only_app.test_client(), "kiosk-north").status_code == 303


def test_sso_only_people_have_no_password_here_and_set_their_pin_after_a_fresh_sign_in(
    sso_only_app, provider
):
    people = People()
    ada = people.add("ada", "admin", team="Information Governance")
    pat = people.add("pat")
    provider_user(provider, "pat-sub-5", email="pat@council.example")
    client = sso_only_app.test_client()
    assert sso_sign_in(client, provider, "pat-sub-5")[0].status_code == 303
    web = Web(client)
    assert "Safekeep has no password of yours" in Page.of(web.get("/account/password")).text
    page = Page.of(web.get("/account/pin"))
    assert "Your password" not in page.text  # a sign-in this recent is the proof
    assert web.post("/account/pin", {"pin": "2580", "pin_confirm": "2580"}).status_code == 303
    assert events("user", pat.id, "set_pin")
    clock.travel(dt.timedelta(minutes=11))
    web.get("/")
    later = Page.of(web.get("/account/pin"))
    assert later.title.startswith("Sign in again to set your kiosk PIN")
    assert web.post("/account/pin", {"pin": "3690", "pin_confirm": "3690"}).status_code == 409
    # An administrator cannot reset a password that is not used.
    admin = Web(sso_only_app.test_client())
    assert password_sign_in(admin.client, "ada").status_code == 303
    assert admin.client.get(f"/admin/people/{pat.id}/reset-password").status_code == 409
    assert "Reset password" not in Page.of(admin.get(f"/admin/people/{pat.id}")).text
    del ada


# -- Settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings, problem",
    [
        ({"OIDC_ISSUER": "http://login.example.org"}, "must be an https:// address"),
        ({"OIDC_ISSUER": "https://login.example.org"}, "set OIDC_CLIENT_ID"),
        ({"SSO_ONLY": "1"}, "needs single sign-on"),
        (
            {
                "OIDC_ISSUER": "https://l.example",
                "OIDC_CLIENT_ID": "a",
                "OIDC_CLIENT_SECRET": "b",
                "OIDC_STAFF_CLAIM": "name",
            },
            "OIDC_STAFF_CLAIM must be one of",
        ),  # fmt: skip
    ],
)
def test_settings_that_cannot_work_are_refused_at_start_up(settings, problem):
    with pytest.raises(SsoSettingError, match=problem):
        sso_settings(settings)


def test_without_an_issuer_there_is_no_single_sign_on(app):
    client = app.test_client()
    assert client.get("/sso/start").status_code == 404
    assert "Sign in with" not in Page.of(client.get("/sign-in")).text
