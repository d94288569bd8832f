"""Hostile requests to every API route and the pages' forms, on both backends: JSON nested
too deep, and a NUL or another control character in a body, a path parameter or a query
parameter. Each is refused with 400 and a sentence, never a 500, and nothing changes."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import audit_events, flows, users, webhooks
from seatkeeper.web.api.admin import admin_router
from seatkeeper.web.api.agent import agent_router
from seatkeeper.web.api.export import export_router
from seatkeeper.web.api.keys import keys_router
from seatkeeper.web.api.people import people_router
from seatkeeper.web.api.reports import reports_router
from seatkeeper.web.api.sso import sso_router
from seatkeeper.web.api.usage import usage_router
from seatkeeper.web.api.webhooks import webhooks_router
from seatkeeper.web.guard import MAX_DEPTH
from tests.conftest import PASSWORD, World, bearer
from tests.web.api.test_agent import login
from tests.web.pages.test_pages import form_token, log_in

Client = TestClient[Litestar]
CONTROLS = ["\x00", "\n", "\x85"]  # C0 (NUL, a line break) and C1


def _operations() -> list[tuple[str, str]]:
    """(method, path template) of every admin and agent API route."""
    found: list[tuple[str, str]] = []
    routers = (
        admin_router,
        agent_router,
        export_router,
        people_router,
        webhooks_router,
        keys_router,
        sso_router,
        usage_router,
        reports_router,
    )
    for router in routers:
        for route in router.routes:
            found += [
                (str(m), re.sub(r":\w+}", "}", route.path))
                for m in sorted(route.methods - {"HEAD", "OPTIONS"})
            ]
    return found


OPERATIONS = _operations()
WITH_BODY = [(m, p) for m, p in OPERATIONS if m in ("POST", "PATCH", "PUT")]
# A realistic body for each route that takes one, with the control character in its text.
BODIES = {
    "/sessions": {"username": "alice{c}", "password": PASSWORD},
    "/heartbeat": {},
    "/interactions": {"flow": "Password{c}Reset"},
    "/steps": {"step": "Verify{c}"},
    "/terminate": {"session_ids": ["{c}"]},
    "/flows": {"name": "New{c}Flow", "steps": ["Start{c}"]},
    "/settings": {"name": "Acme{c}"},
    "/users": {"username": "eve{c}", "password": "a good long pass{c}", "role": "agent"},
    "/users/{username}": {"role": "designer{c}"},
    "/password": {"password": "a good long pass{c}"},
    "/webhooks": {"url": "https://hooks.example.com/{c}hook"},
    "/webhooks/{webhook_id}": {"url": "https://hooks.example.com/{c}hook"},
    "/keys": {"kind": "application", "name": "Key{c}"},
    "/rotate": {"grace_minutes": 5, "expires_at{c}": None},
    "/revoke": {},
    "/sso": {"issuer": "https://idp.example.com", "client_id": "x", "display_name": "Okta{c}"},
}


def _fill(path: str, live: dict[str, Any]) -> str:
    values = {
        "account": "acme",
        "session_id": live["session_id"],
        "interaction_id": live["interaction_id"],
        "name": "Password Reset",
        "webhook_id": "1",
        "key_id": "1",
        "username": "bob",
    }
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)


def _body_for(path: str, control: str) -> bytes:
    """The route's realistic body with `control` in its text (escaped, as JSON must)."""
    key = next(k for k in sorted(BODIES, key=len, reverse=True) if path.endswith(k))
    body = BODIES[key] or {"x{c}": 1}
    return json.dumps(body).replace("{c}", f"\\u{ord(control):04x}").encode()


def _credentials(path: str, world: World, live: dict[str, Any]) -> dict[str, str]:
    if path.startswith("/api/v1/accounts/"):
        return bearer(world.admin_token)
    if path.startswith("/api/v1/sessions/"):
        return bearer(live["token"])
    return bearer(world.app_key)


def _changes(db: Database) -> tuple[int, ...]:
    with db.engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (audit_events, users, flows, webhooks)
        )


@pytest.fixture
def live(client: Client, world: World) -> dict[str, Any]:
    opened = login(client, world, "alice")
    response = client.post(
        f"/api/v1/sessions/{opened['session_id']}/interactions",
        json={"flow": "Password Reset"},
        headers=bearer(opened["token"]),
    )
    assert response.status_code == 201, response.text
    return {**opened, "interaction_id": response.json()["interaction_id"]}


def _refused(response: Any, words: str) -> None:
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert words in error["message"], error["message"]


@pytest.mark.parametrize(("method", "path"), WITH_BODY)
def test_a_body_nested_too_deep_is_refused(
    client: Client, world: World, db: Database, live: dict[str, Any], method: str, path: str
) -> None:
    before = _changes(db)
    address = _fill(path, live)
    headers = {**_credentials(address, world, live), "Content-Type": "application/json"}
    for deep in (
        b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
        b"[" * (MAX_DEPTH + 2) + b"]" * (MAX_DEPTH + 2),
    ):
        response = client.request(method, address, content=deep, headers=headers)
        _refused(response, f"nested too deep: at most {MAX_DEPTH} levels")
    assert _changes(db) == before


@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
@pytest.mark.parametrize(("method", "path"), WITH_BODY)
def test_a_control_character_in_a_body_is_refused(
    client: Client,
    world: World,
    db: Database,
    live: dict[str, Any],
    method: str,
    path: str,
    control: str,
) -> None:
    before = _changes(db)
    address = _fill(path, live)
    body = _body_for(path, control)
    headers = {**_credentials(address, world, live), "Content-Type": "application/json"}
    response = client.request(method, address, content=body, headers=headers)
    _refused(response, "must not contain control characters")
    assert _changes(db) == before


@pytest.mark.parametrize(
    ("method", "path"), [(m, p) for m, p in OPERATIONS if re.search(r"{(?!webhook_id|key_id)", p)]
)
def test_a_nul_in_a_path_parameter_is_refused(
    client: Client, world: World, db: Database, live: dict[str, Any], method: str, path: str
) -> None:
    before = _changes(db)
    # (an integer parameter with a NUL is no address at all: 404)
    for name in set(re.findall(r"{(\w+)}", path)) - {"webhook_id", "key_id"}:
        address = _fill(path.replace(f"{{{name}}}", f"x%00{{{name}}}"), live)
        body = b"{}" if method in ("POST", "PATCH") else None
        headers = {**_credentials(address, world, live), "Content-Type": "application/json"}
        response = client.request(method, address, content=body, headers=headers)
        _refused(response, "The address must not contain control characters")
    assert _changes(db) == before


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_a_nul_in_a_query_parameter_is_refused(
    client: Client, world: World, db: Database, live: dict[str, Any], method: str, path: str
) -> None:
    before = _changes(db)
    address = _fill(path, live) + "?q=" + quote("bob\x00") + "&search=a%0Ab"
    body = b"{}" if method in ("POST", "PATCH") else None
    headers = {**_credentials(address, world, live), "Content-Type": "application/json"}
    response = client.request(method, address, content=body, headers=headers)
    _refused(response, "The query parameter 'q' must not contain control characters")
    assert _changes(db) == before


@pytest.mark.parametrize(
    ("address", "form"),
    [
        ("/login", {"account": "acme", "username": "admin\x00", "password": PASSWORD}),
        ("/accounts/acme/users", {"username": "eve\x00", "role": "agent", "password": ""}),
        ("/accounts/acme/settings", {"name": "Acme\x00"}),
    ],
)
def test_a_control_character_in_a_form_is_refused_with_a_page(
    client: Client, world: World, db: Database, address: str, form: dict[str, str]
) -> None:
    log_in(client, "admin")
    before = _changes(db)
    token = form_token(client.get("/accounts/acme/users").text)
    response = client.post(address, data={**form, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 400, response.text[:300]
    assert "must not contain control characters" in response.text
    assert 'data-testid="error-400"' in response.text
    assert _changes(db) == before


def test_a_page_address_with_a_nul_is_refused_with_a_page(client: Client, world: World) -> None:
    log_in(client, "admin")
    response = client.get("/accounts/acme/active-agents?q=bob%00")
    assert response.status_code == 400
    assert "must not contain control characters" in response.text


def test_ordinary_text_passes_the_guard(client: Client, world: World) -> None:
    """Accents, other scripts and emoji are text, not control characters."""
    response = client.post(
        "/api/v1/accounts/acme/flows",
        json={"name": "Réclamation 請求 🚀", "steps": ["Début", "Fin"]},
        headers=bearer(world.admin_token),
    )
    assert response.status_code == 201, response.text
