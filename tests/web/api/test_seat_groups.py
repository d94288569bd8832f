"""Seat groups' refusals reach the open's 409 body, each with its code and sentence."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper import client as sk
from seatkeeper.client.errors import raise_for
from seatkeeper.storage.db import Database
from tests.conftest import PASSWORD, World, bearer
from tests.services.test_seating import add_group

HOSTILE = '<b onclick="x()">Billing</b>\u202e\x07'


def test_the_refusals_sentences_reach_the_409_body(
    client: TestClient[Litestar], world: World, db: Database
) -> None:
    add_group(db, world.acme.id, "Guests", guests=True, maximum=1)
    add_group(db, world.acme.id, HOSTILE, reserved=1, members=["alice", "bob"])

    def open_as(username: str | None) -> tuple[int, dict[str, str]]:
        body = {} if username is None else {"username": username, "password": PASSWORD}
        r = client.post("/api/v1/sessions", json=body, headers=bearer(world.app_key))
        return r.status_code, r.json().get("error", {})

    assert open_as(None)[0] == 201
    assert open_as(None) == (
        409,
        {"code": "group_limit_reached", "message": "Guests may hold at most 1 license."},
    )
    assert [open_as(name)[0] for name in ("alice", "carol")] == [201, 201]
    assert open_as("dave") == (
        409,
        {"code": "license_limit_reached", "message": "All 2 unreserved licenses are in use."},
    )
    # The group's name is told as it was given: JSON carries it, nothing renders it here.
    assert open_as("bob") == (
        409,
        {
            "code": "license_limit_reached",
            "message": f"The only license reserved for {HOSTILE} is in use "
            "and no unreserved license is free.",
        },
    )
    usage = client.get("/api/v1/accounts/acme/usage", headers=bearer(world.admin_token)).json()
    assert usage["days"][-1]["denials"] == 3


def test_the_python_client_raises_a_group_limit_as_a_full_pool(
    client: TestClient[Litestar], world: World, db: Database
) -> None:
    add_group(db, world.acme.id, "Guests", guests=True, maximum=0)
    refused = client.post("/api/v1/sessions", json={}, headers=bearer(world.app_key))
    # Applications that wait on a full pool wait on a group's maximum too.
    with pytest.raises(sk.LicenseLimitReached) as raised:
        raise_for(refused)
    assert isinstance(raised.value, sk.GroupLimitReached)
    assert (raised.value.code, raised.value.message) == (
        "group_limit_reached",
        "Guests may hold at most 0 licenses.",
    )
