"""Single sign-on, against a provider whose every token the test writes: the pages' sign-in
(code flow with PKCE, state and nonce), ID tokens opening agent sessions, back-channel
logout, and every bad token refused with a clear answer that changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import Role
from seatkeeper.services import users
from seatkeeper.services.access import OPERATOR
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions, audit_events, web_logins
from seatkeeper.storage.tables import users as users_table
from tests.conftest import PASSWORD, World, bearer
from tests.sso_fakes import CLIENT_ID, FakeProvider, keep_provider, new_key

Client = TestClient[Litestar]


# acme's provider in these tests: groups mapped to roles, and a desktop application's
# client id accepted beside seatkeeper's.
ACME_ID: dict[str, Any] = {
    "display_name": "Acme ID",
    "role_map": {"seat-admins": "account_admin", "seat-designers": "designer"},
    "audiences": ["acme-desktop"],
}


@pytest.fixture
def provider(fake: FakeProvider, db: Database, world: World, clock: FrozenClock) -> FakeProvider:
    keep_provider(db, fake, now=clock.now(), **ACME_ID)
    return fake


def counts(db: Database) -> tuple[int, int, int]:
    """Users, sessions and page logins: what a refused sign-in must leave as it was."""
    with db.read() as conn:
        return (
            conn.scalar(select(func.count()).select_from(users_table)) or 0,
            conn.scalar(select(func.count()).select_from(agent_sessions)) or 0,
            conn.scalar(select(func.count()).select_from(web_logins)) or 0,
        )


def sign_in(client: Client, provider: FakeProvider, username: str, **claims: object) -> str:
    """Through the provider and back: where seatkeeper sends the browser at the end."""
    started = client.get("/sso/acme/start", follow_redirects=False)
    assert started.status_code == 303, started.text
    code, state = provider.approve(started.headers["location"], username, **claims)
    back = client.get(
        "/sso/acme/callback", params={"code": code, "state": state}, follow_redirects=False
    )
    assert back.status_code == 303
    return back.headers["location"]


def login_error(client: Client, location: str) -> str:
    page = client.get(location)
    assert 'data-testid="login-error"' in page.text, page.text
    return page.text


def test_an_admin_signs_in_and_sees_active_agents(
    client: Client, provider: FakeProvider, db: Database
) -> None:
    login = client.get("/login?account=acme")
    assert "Log in with Acme ID" in login.text
    assert (
        sign_in(client, provider, "ada", groups=["seat-admins"]) == "/accounts/acme/active-agents"
    )
    assert client.get("/accounts/acme/active-agents").status_code == 200
    with db.read() as conn:
        made = conn.execute(select(users_table).where(users_table.c.username == "ada")).one()
        created = conn.execute(
            select(audit_events.c.actor, audit_events.c.details)
            .where(audit_events.c.action == "user_created")
            .order_by(audit_events.c.id.desc())
        ).first()
    assert (made.role, made.sso_subject) == ("account_admin", "sub-ada")
    assert created is not None and created.actor == "single sign-on (Acme ID)"
    assert created.details["by_single_sign_on"] is True


def test_the_authorization_request_carries_pkce_state_and_nonce(
    client: Client, provider: FakeProvider
) -> None:
    url = client.get("/sso/acme/start", follow_redirects=False).headers["location"]
    asked = parse_qs(urlsplit(url).query)
    assert url.startswith("https://idp.example.com/authorize?")
    assert asked["response_type"] == ["code"] and asked["code_challenge_method"] == ["S256"]
    assert asked["redirect_uri"] == ["http://testserver.local/sso/acme/callback"]
    assert len(asked["state"][0]) >= 40 and len(asked["nonce"][0]) >= 40
    assert asked["scope"] == ["openid profile"]


def test_roles_follow_the_claims_at_each_sign_in(
    client: Client, provider: FakeProvider, db: Database
) -> None:
    sign_in(client, provider, "ada", groups=["seat-admins"])
    client.cookies.clear()
    assert sign_in(client, provider, "ada", groups=[]) == "/"
    with db.read() as conn:
        role = conn.scalar(select(users_table.c.role).where(users_table.c.username == "ada"))
    assert role == "agent"
    assert client.get("/accounts/acme/active-agents", follow_redirects=False).status_code == 403


def test_a_disabled_user_is_refused_as_at_any_login(
    client: Client, provider: FakeProvider, db: Database, clock: FrozenClock
) -> None:
    users.change_user(db, OPERATOR, "acme", "alice", enabled=False, now=clock.now())
    before = counts(db)
    where = sign_in(client, provider, "alice")
    assert "The account, username or password is not correct." in login_error(client, where)
    assert counts(db) == before


def test_a_super_admin_never_signs_in_through_an_account_provider(
    client: Client, provider: FakeProvider, db: Database, clock: FrozenClock, passwords: object
) -> None:
    from seatkeeper.services.secrets import Passwords

    assert isinstance(passwords, Passwords)
    users.add_user(
        db, passwords, OPERATOR, "acme", username="root", role=Role.SUPER_ADMIN,
        password=PASSWORD, now=clock.now(),
    )  # fmt: skip
    before = counts(db)
    where = sign_in(client, provider, "root", groups=["seat-admins"])
    assert "super_admin" in login_error(client, where)
    assert counts(db) == before


def test_a_used_or_unknown_state_or_a_replayed_code_is_refused(
    client: Client, provider: FakeProvider, db: Database
) -> None:
    started = client.get("/sso/acme/start", follow_redirects=False).headers["location"]
    code, state = provider.approve(started, "alan")
    first = client.get(
        "/sso/acme/callback", params={"code": code, "state": state}, follow_redirects=False
    )
    assert first.headers["location"] == "/"
    client.cookies.pop("seatkeeper_login")
    before = counts(db)
    for params in (
        {"code": code, "state": state},  # the same answer again
        {"code": "made-up", "state": "made-up"},
        {"error": "access_denied", "state": state},
    ):
        again = client.get("/sso/acme/callback", params=params, follow_redirects=False)
        assert again.status_code == 303 and again.headers["location"].startswith("/login")
        login_error(client, again.headers["location"])
    assert counts(db) == before


def test_a_replayed_code_with_a_fresh_state_is_refused_by_the_provider(
    client: Client, provider: FakeProvider, db: Database
) -> None:
    started = client.get("/sso/acme/start", follow_redirects=False).headers["location"]
    code, state = provider.approve(started, "alan")
    kept = dict(provider.codes)
    client.get("/sso/acme/callback", params={"code": code, "state": state})
    provider.codes.update(kept)  # a provider that would honour it again is not asked twice
    provider.codes.clear()
    client.cookies.pop("seatkeeper_login")
    before = counts(db)
    fresh = client.get("/sso/acme/start", follow_redirects=False).headers["location"]
    _, new_state = provider.approve(fresh, "alan")
    refused = client.get(
        "/sso/acme/callback", params={"code": code, "state": new_state}, follow_redirects=False
    )
    assert "invalid_grant" in login_error(client, refused.headers["location"])
    assert counts(db) == before


def test_an_answer_carried_to_another_browser_is_refused(
    app: Litestar, client: Client, provider: FakeProvider, db: Database
) -> None:
    started = client.get("/sso/acme/start", follow_redirects=False).headers["location"]
    code, state = provider.approve(started, "mallory")
    before = counts(db)
    with TestClient(app) as victim:
        taken = victim.get(
            "/sso/acme/callback", params={"code": code, "state": state}, follow_redirects=False
        )
        assert taken.headers["location"].startswith("/login")
        assert "seatkeeper_login" not in victim.cookies
    assert counts(db) == before


def test_a_token_with_another_nonce_is_refused(
    client: Client, provider: FakeProvider, db: Database
) -> None:
    started = client.get("/sso/acme/start", follow_redirects=False).headers["location"]
    code, state = provider.approve(started, "alan", nonce="from-an-earlier-sign-in")
    before = counts(db)
    back = client.get(
        "/sso/acme/callback", params={"code": code, "state": state}, follow_redirects=False
    )
    assert "nonce" in login_error(client, back.headers["location"])
    assert counts(db) == before


def test_a_provider_that_is_down_is_told_plainly(
    client: Client, provider: FakeProvider, world: World, db: Database
) -> None:
    started = client.get("/sso/acme/start", follow_redirects=False).headers["location"]
    code, state = provider.approve(started, "alan")
    provider.up = False
    before = counts(db)
    back = client.get(
        "/sso/acme/callback", params={"code": code, "state": state}, follow_redirects=False
    )
    assert "could not be reached" in login_error(client, back.headers["location"])
    provider.rotate("key-2")  # a key seatkeeper has not fetched: it must ask the provider
    down = client.post(
        "/api/v1/sessions",
        json={"id_token": provider.id_token("alan")},
        headers=bearer(world.app_key),
    )
    assert down.status_code == 502, down.text
    assert down.json()["error"]["code"] == "identity_provider_unavailable"
    assert "could not be reached" in down.json()["error"]["message"]
    assert counts(db) == before


# --- Agent sessions opened with an ID token --------------------------------------------


def open_with(client: Client, world: World, id_token: str) -> tuple[int, dict[str, object]]:
    answer = client.post(
        "/api/v1/sessions", json={"id_token": id_token}, headers=bearer(world.app_key)
    )
    return answer.status_code, answer.json() if answer.content else {}


def test_an_id_token_opens_the_agents_session(
    client: Client, provider: FakeProvider, world: World
) -> None:
    status, body = open_with(client, world, provider.id_token("alan"))
    assert (status, body["agent_id"]) == (201, "alan")
    status, again = open_with(client, world, provider.id_token("alan"))
    assert (status, again["session_id"]) == (200, body["session_id"])  # joined, no license
    status, desktop = open_with(client, world, provider.id_token("bob", audience="acme-desktop"))
    assert (status, desktop["agent_id"]) == (201, "bob")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unsigned(claims: dict[str, object]) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def _tampered(provider: FakeProvider, clock: FrozenClock) -> str:
    """A genuine token whose payload was changed after signing."""
    head, _, signature = provider.id_token("alan").split(".")
    body = _b64(json.dumps({**_claims(provider, clock), "preferred_username": "admin"}).encode())
    return f"{head}.{body}.{signature}"


def _hmac_with_public_key(provider: FakeProvider, claims: dict[str, object]) -> str:
    """The classic confusion: HS256 keyed with the provider's public key, which anyone has."""
    header = _b64(json.dumps({"alg": "HS256", "kid": provider.key.kid}).encode())
    body = _b64(json.dumps(claims).encode())
    secret = provider.key.as_pem(private=False)
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def _claims(provider: FakeProvider, clock: FrozenClock) -> dict[str, object]:
    now = int(clock.now().timestamp())
    return {
        "iss": provider.issuer, "sub": "sub-alan", "aud": CLIENT_ID, "iat": now,
        "exp": now + 600, "preferred_username": "alan",
    }  # fmt: skip


BAD_TOKENS: dict[str, Callable[[FakeProvider, FrozenClock], str]] = {
    "unsigned (alg none)": lambda p, c: _unsigned(_claims(p, c)),
    "HMAC keyed with the public key": lambda p, c: _hmac_with_public_key(p, _claims(p, c)),
    "another issuer": lambda p, c: p.id_token("alan", claims={"iss": "https://evil.example"}),
    "another audience": lambda p, c: p.id_token("alan", audience="someone-else"),
    "several audiences, azp another": lambda p, c: p.id_token(
        "alan", audience=[CLIENT_ID, "other"], claims={"azp": "other"}
    ),
    "expired": lambda p, c: p.id_token(
        "alan", issued=c.now() - timedelta(hours=2), lifetime=timedelta(minutes=10)
    ),
    "issued in the future": lambda p, c: p.id_token("alan", issued=c.now() + timedelta(hours=1)),
    "signed by another provider's key": lambda p, c: p.id_token("alan", key=new_key("key-1")),
    "no username claim": lambda p, c: p.id_token("alan", claims={"preferred_username": None}),
    "a username with markup": lambda p, c: p.id_token(
        "alan", claims={"preferred_username": "<script>alert(1)</script>"}
    ),
    "tampered payload": _tampered,
    "not a JWT": lambda p, c: "not-a-token",
    "huge": lambda p, c: "a" * 16_000 + ".b.c",
}


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_a_bad_id_token_gets_a_clear_401_and_changes_nothing(
    client: Client,
    provider: FakeProvider,
    world: World,
    db: Database,
    clock: FrozenClock,
    kind: str,
) -> None:
    token = BAD_TOKENS[kind](provider, clock)
    before = counts(db)
    status, body = open_with(client, world, token)
    assert status in (400, 401), body
    error = body["error"]
    assert isinstance(error, dict) and error["message"]
    if status == 401:
        assert error["code"] == "invalid_id_token"
    assert counts(db) == before


def test_a_token_from_another_accounts_provider_is_refused(
    app: Litestar, client: Client, provider: FakeProvider, world: World, db: Database,
    clock: FrozenClock,
) -> None:  # fmt: skip
    globex = FakeProvider(clock, issuer="https://idp.example.com")  # same address, its own key
    globex.keys = [new_key("key-1")]  # and the same key id
    before = counts(db)
    status, body = open_with(client, world, globex.id_token("alan"))
    assert status == 401
    assert isinstance(body["error"], dict) and body["error"]["code"] == "invalid_id_token"
    globex_key = client.post(
        "/api/v1/sessions", json={"id_token": provider.id_token("alan")},
        headers=bearer(world.globex_app_key),
    )  # fmt: skip
    assert globex_key.status_code == 404  # globex has no provider: nothing to check it with
    assert globex_key.json()["error"]["code"] == "single_sign_on_not_configured"
    assert counts(db) == before


def test_a_new_signing_key_is_fetched_when_its_id_appears(
    client: Client, provider: FakeProvider, world: World
) -> None:
    assert open_with(client, world, provider.id_token("alan"))[0] == 201
    fetched = provider.paths().count("/jwks")
    provider.rotate("key-2")
    status, body = open_with(client, world, provider.id_token("bob"))
    assert (status, body["agent_id"]) == (201, "bob")
    assert provider.paths().count("/jwks") == fetched + 1
    open_with(client, world, provider.id_token("carol"))
    assert provider.paths().count("/jwks") == fetched + 1  # known now: not fetched again


# --- Passwords off ------------------------------------------------------------------------


def test_with_passwords_off_only_single_sign_on_logs_in(
    client: Client, world: World, db: Database, clock: FrozenClock, fake: FakeProvider
) -> None:
    keep_provider(db, fake, now=clock.now(), passwords_allowed=False, **ACME_ID)
    page = client.get("/login?account=acme")
    assert "Log in with Acme ID" in page.text and 'data-testid="login-password"' not in page.text
    refused = client.post(
        "/api/v1/sessions", json={"username": "alice", "password": PASSWORD},
        headers=bearer(world.app_key),
    )  # fmt: skip
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": "passwords_off",
        "message": "This account logs in through Acme ID only: Log in with Acme ID.",
    }
    assert open_with(client, world, fake.id_token("alice"))[0] == 201


# --- Back-channel logout ------------------------------------------------------------------


def test_the_provider_signs_a_user_out_everywhere_at_once(
    client: Client, provider: FakeProvider, world: World, db: Database
) -> None:
    sign_in(client, provider, "alan")
    status, opened = open_with(client, world, provider.id_token("alan"))
    assert status == 201
    token = provider.logout_token("alan")
    answer = client.post("/sso/acme/back-channel-logout", data={"logout_token": token})
    assert answer.status_code == 200
    with db.read() as conn:
        reason = conn.scalar(select(agent_sessions.c.end_reason))
        open_logins = conn.scalar(
            select(func.count()).select_from(web_logins).where(web_logins.c.ended_at.is_(None))
        )
    assert (reason, open_logins) == ("logout", 0)
    heartbeat = client.post(
        f"/api/v1/sessions/{opened['session_id']}/heartbeat", headers=bearer(str(opened["token"]))
    )
    assert heartbeat.status_code == 410
    assert client.get("/accounts/acme/active-agents", follow_redirects=False).status_code == 303
    # The same token again: nothing more happens, even to a new session.
    assert open_with(client, world, provider.id_token("alan"))[0] == 201
    again = client.post("/sso/acme/back-channel-logout", data={"logout_token": token})
    assert again.status_code == 200
    with db.read() as conn:
        still_open = conn.scalar(
            select(func.count())
            .select_from(agent_sessions)
            .where(agent_sessions.c.ended_at.is_(None))
        )
    assert still_open == 1


BAD_LOGOUTS: dict[str, Callable[[FakeProvider], str]] = {
    "forged signature": lambda p: p.logout_token("alan").rsplit(".", 1)[0] + ".AAAA",
    "an ID token instead": lambda p: p.id_token("alan"),
    "with a nonce": lambda p: p.logout_token("alan", nonce="n"),
    "no event": lambda p: p.logout_token("alan", events={}),
    "no jti": lambda p: p.logout_token("alan", jti=None),
    "another audience": lambda p: p.logout_token("alan", aud="other"),
    "empty": lambda p: "",
}


@pytest.mark.parametrize("kind", BAD_LOGOUTS)
def test_a_bad_logout_token_is_answered_400_and_ends_nothing(
    client: Client, provider: FakeProvider, world: World, db: Database, kind: str
) -> None:
    sign_in(client, provider, "alan")
    assert open_with(client, world, provider.id_token("alan"))[0] == 201
    before = counts(db)
    answer = client.post(
        "/sso/acme/back-channel-logout", data={"logout_token": BAD_LOGOUTS[kind](provider)}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_logout_token"
    with db.read() as conn:
        ended = conn.scalar(
            select(func.count())
            .select_from(agent_sessions)
            .where(agent_sessions.c.ended_at.is_not(None))
        )
    assert ended == 0 and counts(db) == before
    assert client.get("/accounts/acme/active-agents", follow_redirects=False).status_code == 403
