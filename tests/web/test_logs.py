"""Passwords and tokens are never written to the logs, whatever happens."""

from __future__ import annotations

import logging

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.conftest import PASSWORD, World, bearer
from tests.web.api.test_agent import call, login, open_session
from tests.web.pages.test_pages import log_in

Client = TestClient[Litestar]


def test_no_secret_reaches_the_logs(
    client: Client, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    alice = login(client, world, "alice")
    call(client, "POST", f"{alice['session_id']}/heartbeat", alice["token"])
    call(client, "POST", f"{alice['session_id']}/interactions", alice["token"], {"flow": "X"})
    wrong = open_session(client, world.app_key, {"username": "bob", "password": "not-" + PASSWORD})
    assert wrong.status_code == 401
    forged = call(client, "POST", f"{alice['session_id']}/heartbeat", alice["token"] + "x")
    assert forged.status_code == 401
    log_in(client, "admin")
    cookie = client.cookies.get("seatkeeper_login")
    assert cookie
    client.post(
        "/api/v1/accounts/acme/active-sessions/terminate",
        json={"session_ids": [alice["session_id"]]},
        headers=bearer(world.admin_token),
    )
    client.get("/api/v1/accounts/acme/usage", headers=bearer(world.super_token))
    call(client, "POST", f"{alice['session_id']}/heartbeat", alice["token"])  # 410 now
    assert caplog.records  # the requests were logged
    secrets = {
        "the password": PASSWORD,
        "the application key": world.app_key,
        "an admin token": world.admin_token,
        "a super_admin token": world.super_token,
        "a session token": alice["token"],
        "the login cookie": cookie,
    }
    logged = caplog.text
    assert [name for name, value in secrets.items() if value in logged] == []
