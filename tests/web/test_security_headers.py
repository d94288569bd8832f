"""Every answer carries the security headers, the error pages and /docs included, whoever
made the answer: a route, an exception handler, or the router itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from seatkeeper.web.headers import CONTENT_SECURITY_POLICY
from seatkeeper.web.pages.common import PAGE_EXCEPTION_HANDLERS
from tests.conftest import World, bearer
from tests.web.pages.test_pages import log_in

Client = TestClient[Litestar]
EXPECTED = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@get("/api/v1/test-failure", sync_to_thread=False)
def failing_route() -> dict[str, str]:
    raise RuntimeError("a bug")


@get(
    "/test-failure",
    sync_to_thread=False,
    include_in_schema=False,
    exception_handlers=PAGE_EXCEPTION_HANDLERS,
)
def failing_page() -> dict[str, str]:
    raise RuntimeError("a bug")


@pytest.fixture
def failing_client(app: Litestar) -> Iterator[Client]:
    """The app with two routes that fail: one in the API, one page."""
    app.register(failing_route)
    app.register(failing_page)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def assert_secured(response: Any) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.status_code, response.url)


# (method, address, token of, body, status)
ANSWERS = [
    ("GET", "/docs", None, None, 200),
    ("GET", "/docs/openapi.json", None, None, 200),
    ("GET", "/healthz", None, None, 200),
    ("GET", "/login", None, None, 200),
    ("GET", "/nowhere", None, None, 404),  # a page
    ("GET", "/api/v1/nowhere", None, None, 404),
    ("GET", "/docs/nowhere", None, None, 404),
    ("DELETE", "/healthz", None, None, 405),
    ("DELETE", "/login", None, None, 405),
    ("POST", "/api/v1/sessions", "app_key", b"{not json", 400),
    ("GET", "/api/v1/accounts/acme/active-sessions?page=0", "admin_token", None, 400),
    ("GET", "/api/v1/accounts/acme/active-sessions", None, None, 401),
    ("GET", "/api/v1/accounts/acme/active-sessions", "agent_token", None, 403),
    ("GET", "/api/v1/accounts/globex/active-sessions", "admin_token", None, 404),
    ("GET", "/api/v1/accounts/nowhere/active-sessions", "super_token", None, 404),
    ("GET", "/accounts/acme/active-agents?page=0", "login", None, 400),  # a page
    ("GET", "/accounts/globex/active-agents", "login", None, 404),  # a page
    ("GET", "/accounts/acme/active-agents", "agent_login", None, 403),  # a page
    ("GET", "/set-password/sk_pw_unknown", None, None, 404),
]


@pytest.mark.parametrize(("method", "address", "token", "body", "status"), ANSWERS)
def test_every_answer_carries_the_security_headers(
    client: Client,
    world: World,
    method: str,
    address: str,
    token: str | None,
    body: bytes | None,
    status: int,
) -> None:
    headers: dict[str, str] = {}
    if token in ("login", "agent_login"):
        log_in(client, "admin" if token == "login" else "alice")
    elif token is not None:
        headers = bearer(getattr(world, token))
    response = client.request(method, address, headers=headers, content=body)
    assert response.status_code == status, response.text[:300]
    assert_secured(response)


@pytest.mark.parametrize("address", ["/api/v1/test-failure", "/test-failure"])
def test_a_failure_answers_500_with_the_security_headers(
    failing_client: Client, address: str
) -> None:
    response = failing_client.get(address)
    assert response.status_code == 500
    assert "a bug" not in response.text
    assert_secured(response)


def test_seatkeepers_own_scripts_may_be_cached_but_not_sniffed_nor_framed(
    client: Client,
) -> None:
    response = client.get("/static/docs.js")
    assert response.status_code == 200
    assert "cache-control" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_the_opens_answered_as_they_are_encoded_carry_the_security_headers(
    client: Client, world: World
) -> None:
    """An open's 201 and a full pool's 409 are sent without a Response object (the agent
    API's busiest answers): they still carry every security header, and the 409 is the
    error body every refusal has."""
    answers = [client.post("/api/v1/sessions", json={}, headers=bearer(world.app_key))]
    while answers[-1].status_code == 201:
        answers.append(client.post("/api/v1/sessions", json={}, headers=bearer(world.app_key)))
    refused = answers[-1]
    assert [a.status_code for a in answers] == [201, 201, 201, 409]  # acme has 3 licenses
    assert refused.json() == {
        "error": {
            "code": "license_limit_reached",
            "message": "All 3 licenses are in use. Try again when an agent logs out, "
            "or ask your administrator to free a session.",
        }
    }
    for answer in answers:
        assert answer.headers["content-type"] == "application/json"
        assert_secured(answer)
