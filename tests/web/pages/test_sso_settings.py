"""Account Settings' single sign-on section: its form sets the provider, says what is wrong
with each field (and saves nothing), never shows the client secret, removes the provider,
and is sent only with the browser's CSRF token."""

from __future__ import annotations

import html
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import audit_events, sso_providers
from tests.conftest import World
from tests.sso_fakes import CLIENT_SECRET, ISSUER
from tests.web.pages.test_pages import form_token, log_in

Client = TestClient[Litestar]
SETTINGS = "/accounts/acme/settings"
FORM = f"{SETTINGS}/sso"


def stored(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [dict(row._mapping) for row in conn.execute(select(sso_providers))]


def form(**changes: str) -> dict[str, str]:
    fields = {
        "issuer": ISSUER,
        "client_id": "seatkeeper-acme",
        "client_secret": CLIENT_SECRET,
        "display_name": "Acme Okta",
        "username_claim": "preferred_username",
        "roles_claim": "groups",
        "role_rules": "support-admins = account_admin\r\ndesigners = designer\r\n",
        "default_role": "agent",
        "audiences": "agent-app\r\n",
        "passwords_allowed": "on",
    }
    return {**fields, **changes}


def send(client: Client, fields: dict[str, str], path: str = FORM) -> Any:
    token = form_token(client.get(SETTINGS).text)
    answer = client.post(path, data={**fields, "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    assert answer.headers["location"] == f"{SETTINGS}#sso"
    return client.get(answer.headers["location"])


def test_the_form_sets_changes_and_removes_the_provider(
    client: Client, world: World, db: Database
) -> None:
    log_in(client, "admin")
    page = client.get(SETTINGS).text
    assert 'data-testid="sso-section"' in page and 'data-testid="sso-not-set-up"' in page
    assert "http://testserver.local/sso/acme/callback" in page
    assert "http://testserver.local/sso/acme/back-channel-logout" in page
    assert "<legend>" in page

    saved = send(client, form())
    assert 'data-testid="sso-notice"' in saved.text and "Single sign-on saved." in saved.text
    assert 'data-testid="sso-current"' in saved.text and "Acme Okta" in saved.text
    assert CLIENT_SECRET not in saved.text
    row = stored(db)[0]
    assert row["role_map"] == {"support-admins": "account_admin", "designers": "designer"}
    assert row["audiences"] == ["agent-app"] and row["passwords_allowed"] is True
    assert str(row["client_secret"]).startswith("fernet:")
    assert "support-admins = account_admin" in html.unescape(saved.text)

    # The secret left empty is kept; the checkbox left out turns passwords off.
    changed = form(client_secret="", display_name="Okta")
    del changed["passwords_allowed"]
    again = send(client, changed)
    assert "passwords are off" in again.text
    after = stored(db)[0]
    assert after["client_secret"] == row["client_secret"] and after["display_name"] == "Okta"
    assert after["passwords_allowed"] is False

    removed = send(client, {}, f"{FORM}/remove")
    assert (
        "Single sign-on removed" in removed.text and 'data-testid="sso-not-set-up"' in removed.text
    )
    assert stored(db) == []
    with db.read() as conn:
        assert CLIENT_SECRET not in repr(conn.execute(select(audit_events)).all())


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"issuer": "ftp://idp.example.com"}, "issuer", "https://"),
        ({"issuer": "https://nowhere.example.com"}, "issuer", "answered 404"),
        ({"issuer": "https://10.0.0.1"}, "issuer", "refused"),
        ({"client_id": ""}, "client-id", "Give the client id"),
        ({"display_name": "<script>alert(1)</script>" + "x" * 10_000}, "display-name", "500"),
        ({"role_rules": "admins = super_admin"}, "role-rules", "at most the account_admin"),
        ({"role_rules": "just a group"}, "role-rules", "Each line of the role rules"),
        ({"roles_claim": ""}, "roles-claim", "Name the claim"),
        ({"default_role": "super_admin"}, "default-role", "at most the account_admin"),
        ({"client_secret": ""}, "client-secret", "Give the client secret"),
    ],
)
def test_a_refusal_names_each_field_and_saves_nothing(
    client: Client, world: World, db: Database, changes: dict[str, str], field: str, words: str
) -> None:
    log_in(client, "admin")
    page = send(client, form(**changes))
    assert 'data-testid="sso-error"' in page.text
    error = page.text.split(f'data-testid="sso-error-{field}">')[1].split("</span>")[0]
    assert words in html.unescape(error), error
    assert "<script>alert" not in page.text  # what was typed is shown escaped
    assert CLIENT_SECRET not in page.text  # nor is the secret sent back
    assert 'data-testid="settings-error"' not in page.text  # the other form is untouched
    assert stored(db) == []


def test_both_forms_carry_the_csrf_token_and_need_it(
    client: Client, world: World, db: Database
) -> None:
    log_in(client, "admin")
    send(client, form())
    page = client.get(SETTINGS).text
    token = form_token(page)
    assert page.count(f'name="csrf_token" value="{token}"') == page.count("<form")
    for path in (FORM, f"{FORM}/remove"):
        for forged in (None, "0" * 64):
            data = form(display_name="Forged") if forged is None else {"csrf_token": forged}
            answer = client.post(path, data=data, follow_redirects=False)
            assert answer.status_code == 403, answer.text[:300]
    assert stored(db)[0]["display_name"] == "Acme Okta"


def test_lower_roles_and_other_accounts_cannot(client: Client, world: World, db: Database) -> None:
    for username, account, status in (("dan", "acme", 403), ("gadmin", "globex", 404)):
        client.cookies.clear()
        log_in(client, username, account=account)
        token = form_token(client.get("/logins").text)
        for path in (FORM, f"{FORM}/remove"):
            answer = client.post(path, data={**form(), "csrf_token": token}, follow_redirects=False)
            assert answer.status_code == status, (username, answer.status_code)
    assert stored(db) == []


@pytest.mark.parametrize("field", ["role_rules", "audiences", "display_name"])
def test_only_line_breaks_pass_in_the_text_areas(
    client: Client, world: World, db: Database, field: str
) -> None:
    """The request guard lets a text area's line breaks through, and nothing else."""
    log_in(client, "admin")
    token = form_token(client.get(SETTINGS).text)
    for control in ("\x00", "\x1b", "\x85", "\r"):
        value = f"designers = designer{control}x"
        answer = client.post(FORM, data={**form(**{field: value}), "csrf_token": token})
        assert answer.status_code == 400, (control, answer.status_code)
        assert "must not contain control characters" in answer.text
    assert stored(db) == []
