"""The admin API of an account's single sign-on: GET, PUT and DELETE /sso, on both backends,
with the provider's discovery faked. The client secret is never shown, is stored sealed,
and a wrong issuer or a hostile value changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import audit_events, sso_providers
from tests.conftest import World, bearer
from tests.sso_fakes import CLIENT_SECRET, ISSUER, FakeProvider, provider_body, use

Client = TestClient[Litestar]
SSO = "/api/v1/accounts/acme/sso"


def stored(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [dict(row._mapping) for row in conn.execute(select(sso_providers))]


def audit_text(db: Database) -> str:
    with db.read() as conn:
        return repr(conn.execute(select(audit_events)).all())


def put(client: Client, token: str, body: dict[str, Any], account: str = "acme") -> Any:
    return client.put(f"/api/v1/accounts/{account}/sso", json=body, headers=bearer(token))


def test_set_show_change_and_remove(client: Client, world: World, db: Database) -> None:
    admin = bearer(world.admin_token)
    missing = client.get(SSO, headers=admin)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "single_sign_on_not_configured"

    answer = put(client, world.admin_token, provider_body())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["issuer"] == ISSUER and body["client_id"] == "seatkeeper-acme"
    assert body["role_map"] == {"support-admins": "account_admin", "designers": "designer"}
    assert body["audiences"] == ["agent-app"] and body["scopes"] == "openid profile"
    assert body["secret_encrypted"] is True and body["passwords_allowed"] is True
    assert body["redirect_uri"] == "http://testserver.local/sso/acme/callback"
    assert body["back_channel_logout_uri"] == "http://testserver.local/sso/acme/back-channel-logout"
    assert body["updated_at"].endswith("+01:00")  # in acme's zone, Paris
    assert "client_secret" not in body
    assert client.get(SSO, headers=admin).json() == body

    changed = put(client, world.admin_token, provider_body(passwords_allowed=False, role_map={}))
    assert changed.status_code == 200, changed.text
    assert changed.json()["passwords_allowed"] is False and changed.json()["role_map"] == {}
    # A change without a secret keeps the stored one.
    kept = stored(db)[0]["client_secret"]
    without_secret = provider_body(display_name="Okta")
    del without_secret["client_secret"]
    assert put(client, world.admin_token, without_secret).status_code == 200
    row = stored(db)[0]
    assert row["client_secret"] == kept and row["display_name"] == "Okta"

    removed = client.delete(SSO, headers=admin)
    assert removed.status_code == 204
    assert stored(db) == []
    again = client.delete(SSO, headers=admin)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "single_sign_on_not_configured"
    actions = audit_text(db)
    assert "single_sign_on_set" in actions and "single_sign_on_removed" in actions


def test_the_secret_is_sealed_and_never_shown(client: Client, world: World, db: Database) -> None:
    answers = [put(client, world.admin_token, provider_body())]
    answers.append(client.get(SSO, headers=bearer(world.admin_token)))
    answers.append(client.get("/docs/openapi.json"))
    for answer in answers:
        assert CLIENT_SECRET not in answer.text
    secret = stored(db)[0]["client_secret"]
    assert secret.startswith("fernet:") and CLIENT_SECRET not in secret
    assert CLIENT_SECRET not in audit_text(db)


def test_without_a_secret_key_the_secret_is_kept_marked_plain(
    client: Client, app: Litestar, world: World, db: Database
) -> None:
    use(app, FakeProvider())  # no secret key
    answer = put(client, world.admin_token, provider_body())
    assert answer.status_code == 200 and answer.json()["secret_encrypted"] is False
    assert stored(db)[0]["client_secret"] == f"plain:{CLIENT_SECRET}"
    assert CLIENT_SECRET not in answer.text


def test_a_new_provider_needs_its_secret(client: Client, world: World, db: Database) -> None:
    body = provider_body()
    del body["client_secret"]
    answer = put(client, world.admin_token, body)
    assert answer.status_code == 400
    assert "client_secret" in answer.json()["error"]["fields"]
    assert stored(db) == []


@pytest.mark.parametrize(
    ("issuer", "words"),
    [
        ("https://nowhere.example.com", "answered 404"),  # no discovery document
        ("https://other.example.com", "names the issuer"),  # it names another issuer
        ("http://127.0.0.1", "refused"),
        ("https://169.254.169.254", "refused"),
        ("https://10.0.0.1", "refused"),
        ("https://[::1]", "refused"),
    ],
)
def test_a_wrong_issuer_is_refused_and_changes_nothing(
    client: Client, world: World, db: Database, fake: FakeProvider, issuer: str, words: str
) -> None:
    fake.documents["other.example.com"] = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/a",
        "token_endpoint": f"{ISSUER}/t",
        "jwks_uri": f"{ISSUER}/k",
    }
    before = audit_text(db)
    answer = put(client, world.admin_token, provider_body(issuer=issuer))
    assert answer.status_code == 502, answer.text
    error = answer.json()["error"]
    assert error["code"] == "identity_provider_unavailable" and words in error["message"]
    assert stored(db) == [] and audit_text(db) == before
    if "127.0.0.1" in issuer or "169.254" in issuer or "10.0.0.1" in issuer or "::1" in issuer:
        assert fake.requests == []  # refused before any connection


def test_an_issuer_change_is_checked_but_other_changes_do_not_reach_the_provider(
    client: Client, world: World, db: Database, fake: FakeProvider
) -> None:
    assert put(client, world.admin_token, provider_body()).status_code == 200
    fake.documents.pop("idp.example.com")  # the provider is down
    seen = len(fake.requests)
    passwords_back = put(client, world.admin_token, provider_body(passwords_allowed=True))
    assert passwords_back.status_code == 200, passwords_back.text
    assert len(fake.requests) == seen
    moved = put(client, world.admin_token, provider_body(issuer="https://idp2.example.com"))
    assert moved.status_code == 502
    assert stored(db)[0]["issuer"] == ISSUER


LONG = "x" * 10_000
HOSTILE = [
    ("display_name", {"display_name": "<script>alert(1)</script>" + LONG}),
    ("issuer", {"issuer": "javascript:alert(1)"}),
    ("issuer", {"issuer": f"https://idp.example.com/{LONG}"}),
    ("client_id", {"client_id": LONG}),
    ("client_id", {"client_id": "   "}),
    ("username_claim", {"username_claim": LONG}),
    ("roles_claim", {"roles_claim": LONG}),
    ("role_map", {"role_map": {"admins": "super_admin"}}),
    ("role_map", {"role_map": {"admins": "root"}}),
    ("role_map", {"role_map": {f"group-{i}": "agent" for i in range(1000)}}),
    ("role_map", {"role_map": {LONG: "agent"}}),
    ("roles_claim", {"roles_claim": None, "role_map": {"admins": "designer"}}),
    ("default_role", {"default_role": "super_admin"}),
    ("audiences", {"audiences": [f"app-{i}" for i in range(21)]}),
    ("audiences", {"audiences": [LONG]}),
    ("scopes", {"scopes": "profile email"}),
    ("client_secret", {"client_secret": "x" * 1001}),
]


@pytest.mark.parametrize(("field", "change"), HOSTILE, ids=[f for f, _ in HOSTILE])
def test_hostile_values_are_refused_naming_the_field(
    client: Client, world: World, db: Database, field: str, change: dict[str, Any]
) -> None:
    before = audit_text(db)
    answer = put(client, world.admin_token, provider_body(**change))
    assert answer.status_code == 400, answer.text[:300]
    error = answer.json()["error"]
    assert field in error["fields"], error
    assert "<script>" not in answer.text
    assert stored(db) == [] and audit_text(db) == before


@pytest.mark.parametrize("control", ["\x00", "\x1b", "\x85"])
def test_control_characters_are_refused(
    client: Client, world: World, db: Database, control: str
) -> None:
    for field in ("display_name", "client_id", "issuer"):
        answer = put(client, world.admin_token, provider_body(**{field: f"Acme{control}Okta"}))
        assert answer.status_code == 400, answer.text
    assert stored(db) == []


def test_unknown_fields_are_refused(client: Client, world: World, db: Database) -> None:
    answer = put(client, world.admin_token, provider_body(client_secret_plain="x"))
    assert answer.status_code == 400
    assert stored(db) == []


@pytest.fixture
def configured(client: Client, world: World) -> Iterator[None]:
    assert put(client, world.admin_token, provider_body()).status_code == 200
    yield


@pytest.mark.usefixtures("configured")
def test_only_admins_of_the_account_may(client: Client, world: World, db: Database) -> None:
    before = stored(db)
    for token, status in (
        (world.agent_token, 403),
        (world.designer_token, 403),
        (world.globex_admin_token, 404),
    ):
        for answer in (
            client.get(SSO, headers=bearer(token)),
            put(client, token, provider_body(display_name="Taken")),
            client.delete(SSO, headers=bearer(token)),
        ):
            assert answer.status_code == status, (answer.request.method, answer.text)
            assert CLIENT_SECRET not in answer.text
    assert stored(db) == before
    assert client.get(SSO).status_code == 401
    # A super_admin may act on any account.
    shown = client.get(SSO, headers=bearer(world.super_token))
    assert shown.status_code == 200 and shown.json()["account"] == "acme"
    assert put(client, world.super_token, provider_body(), "globex").status_code == 200


@pytest.mark.usefixtures("configured")
def test_the_addresses_start_with_the_public_url(
    client: Client, app: Litestar, world: World
) -> None:
    import dataclasses

    app.state.runtime = dataclasses.replace(
        app.state.runtime, public_url="https://seats.example.com"
    )
    body = client.get(SSO, headers=bearer(world.admin_token)).json()
    assert body["redirect_uri"] == "https://seats.example.com/sso/acme/callback"
    assert body["back_channel_logout_uri"] == (
        "https://seats.example.com/sso/acme/back-channel-logout"
    )
