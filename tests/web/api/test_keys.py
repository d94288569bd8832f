"""The admin API's keys and tokens: list (never a secret), make, revoke, rotate; a revoked
key refused at once, by this instance and by another process on the same database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.config import Settings
from seatkeeper.storage.db import Database
from seatkeeper.web.app import create_app
from tests.conftest import World, bearer
from tests.servers import running_servers
from tests.web.api.test_agent import error_of

Client = TestClient[Litestar]
KEYS = "/api/v1/accounts/acme/keys"


def listed(client: Client, world: World, token: str | None = None) -> list[dict[str, Any]]:
    answer = client.get(KEYS, headers=bearer(token or world.admin_token))
    assert answer.status_code == 200, answer.text
    keys: list[dict[str, Any]] = answer.json()["keys"]
    return keys


def key_named(client: Client, world: World, name: str, kind: str = "application") -> Any:
    return next(k for k in listed(client, world) if k["name"] == name and k["kind"] == kind)


def flows_with(client: Client, key: str) -> int:
    return client.get("/api/v1/flows", headers=bearer(key)).status_code


def test_the_list_shows_every_key_and_token_and_never_a_secret(
    client: Client, world: World, clock: FrozenClock
) -> None:
    made = client.post(
        KEYS, json={"kind": "application", "name": "CRM plug-in"}, headers=bearer(world.admin_token)
    )
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    assert secret.startswith("sk_app_")
    answer = client.get(KEYS, headers=bearer(world.admin_token))
    keys = answer.json()["keys"]
    assert keys[0]["name"] == "CRM plug-in" and keys[0]["state"] == "active"
    assert {(k["kind"], k["username"]) for k in keys} == {
        ("application", None),
        ("user", "admin"),
        ("user", "alice"),
        ("user", "dan"),
    }
    assert set(keys[0]) == {
        "id", "name", "kind", "username", "created_at", "last_used_at", "expires_at",
        "ends_at", "state", "replaced_by",
    }  # fmt: skip
    for known in (secret, world.app_key, world.admin_token, world.agent_token):
        assert known not in answer.text
        assert known[8:] not in answer.text
    # Times are in the account's zone; the admin's own use of it is written down.
    assert keys[0]["created_at"].endswith("+01:00")
    admins = next(k for k in keys if k["username"] == "admin")
    assert admins["last_used_at"] is not None


def test_revoking_a_key_refuses_it_at_once(client: Client, world: World) -> None:
    assert flows_with(client, world.app_key) == 200
    key = key_named(client, world, "t")
    answer = client.post(f"{KEYS}/{key['id']}/revoke", headers=bearer(world.admin_token))
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "revoked"
    assert flows_with(client, world.app_key) == 401
    opened = client.post("/api/v1/sessions", json={}, headers=bearer(world.app_key))
    assert error_of(opened) == (401, "invalid_token")
    again = client.post(f"{KEYS}/{key['id']}/revoke", headers=bearer(world.admin_token))
    assert error_of(again) == (409, "conflict")


def test_a_revoked_admin_token_is_refused_at_once(client: Client, world: World) -> None:
    mine = next(k for k in listed(client, world) if k["username"] == "admin")
    answer = client.post(f"{KEYS}/{mine['id']}/revoke", headers=bearer(world.admin_token))
    assert answer.status_code == 200
    assert error_of(client.get(KEYS, headers=bearer(world.admin_token))) == (401, "invalid_token")


def test_a_revocation_is_refused_by_a_second_instance_and_process_at_once(
    client: Client, world: World, settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    other_db = Database(settings.database_url)
    other = TestClient(create_app(settings, clock=clock, database=other_db))
    try:
        with other, running_servers(settings.database_url, 1, tmp_path) as (url,):
            process = httpx.Client(base_url=url, timeout=30)
            # Both have answered with the key and the token before: nothing kept may outlive
            # the revocation.
            assert flows_with(other, world.app_key) == 200
            assert process.get("/api/v1/flows", headers=bearer(world.app_key)).status_code == 200
            assert process.get(KEYS, headers=bearer(world.designer_token)).status_code == 403
            key = key_named(client, world, "t")
            dans = next(k for k in listed(client, world) if k["username"] == "dan")
            for revoked in (key, dans):
                answer = client.post(
                    f"{KEYS}/{revoked['id']}/revoke", headers=bearer(world.admin_token)
                )
                assert answer.status_code == 200
            assert flows_with(other, world.app_key) == 401
            assert process.get("/api/v1/flows", headers=bearer(world.app_key)).status_code == 401
            assert process.get(KEYS, headers=bearer(world.designer_token)).status_code == 401
            assert process.get(KEYS, headers=bearer(world.admin_token)).status_code == 200
            process.close()
    finally:
        other_db.dispose()


@pytest.mark.parametrize("grace_minutes", [0, 10])
def test_rotating_a_key_with_and_without_a_grace_period(
    client: Client, world: World, clock: FrozenClock, grace_minutes: int
) -> None:
    key = key_named(client, world, "t")
    body = {"grace_minutes": grace_minutes} if grace_minutes else None
    answer = client.post(f"{KEYS}/{key['id']}/rotate", json=body, headers=bearer(world.admin_token))
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["key"]["name"] == "t" and made["key"]["state"] == "active"
    assert flows_with(client, made["secret"]) == 200
    old = next(k for k in listed(client, world) if k["id"] == key["id"])
    assert old["replaced_by"] == made["key"]["id"]
    if grace_minutes:
        assert old["state"] == "rotated"
        assert flows_with(client, world.app_key) == 200
        clock.advance(timedelta(minutes=grace_minutes))
    assert flows_with(client, world.app_key) == 401
    assert flows_with(client, made["secret"]) == 200


def test_a_key_made_with_an_expiry_stops_at_it(
    client: Client, world: World, clock: FrozenClock
) -> None:
    expires = (clock.now() + timedelta(hours=2)).isoformat()
    answer = client.post(
        KEYS,
        json={"kind": "user", "name": "nightly", "username": "admin", "expires_at": expires},
        headers=bearer(world.admin_token),
    )
    assert answer.status_code == 201, answer.text
    token = answer.json()["secret"]
    assert token.startswith("sk_user_")
    assert client.get(KEYS, headers=bearer(token)).status_code == 200
    clock.advance(timedelta(hours=2))
    assert error_of(client.get(KEYS, headers=bearer(token))) == (401, "invalid_token")
    nightly = key_named(client, world, "nightly", "user")
    assert nightly["state"] == "expired"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "application", "name": "a\u0000b"}, "control characters"),
        ({"kind": "application", "name": "<b>\n</b>"}, "control characters"),
        ({"kind": "application", "name": " "}, "1 to 100"),
        ({"kind": "user", "name": "x"}, "acts as a user"),
        ({"kind": "application", "name": "x", "username": "admin"}, "name no user"),
        ({"kind": "user", "name": "x", "username": "nobody"}, "no user 'nobody'"),
        ({"kind": "application", "name": "x", "expires_at": "2020-01-01T00:00:00Z"}, "future"),
        ({"kind": "application", "name": "x", "expires_at": "2026-12-01T00:00:00"}, "expires_at"),
        ({"kind": "application", "name": "x" * 101}, "name"),
        ({"kind": "admin", "name": "x"}, "kind"),
        ({"kind": "application", "name": "x", "secret": "mine"}, "secret"),
    ],
)
def test_hostile_or_wrong_requests_are_refused_and_change_nothing(
    client: Client, world: World, body: dict[str, Any], message: str
) -> None:
    before = listed(client, world)
    answer = client.post(KEYS, json=body, headers=bearer(world.admin_token))
    assert 400 <= answer.status_code < 500 and answer.status_code != 401, answer.text
    assert message in answer.json()["error"]["message"]
    assert [k["id"] for k in listed(client, world)] == [k["id"] for k in before]


def test_a_rotation_with_a_wrong_grace_is_refused(client: Client, world: World) -> None:
    key = key_named(client, world, "t")
    for grace in (-1, 43201, 1e308):
        answer = client.post(
            f"{KEYS}/{key['id']}/rotate",
            json={"grace_minutes": grace},
            headers=bearer(world.admin_token),
        )
        assert answer.status_code == 400, answer.text
    assert flows_with(client, world.app_key) == 200
    assert len(listed(client, world)) == 4


def test_ids_of_another_account_or_none_at_all_are_not_found(client: Client, world: World) -> None:
    globex_key = client.get(
        "/api/v1/accounts/globex/keys", headers=bearer(world.globex_admin_token)
    ).json()["keys"][0]
    for key_id in (globex_key["id"], 999999):
        for action in ("revoke", "rotate"):
            answer = client.post(f"{KEYS}/{key_id}/{action}", headers=bearer(world.admin_token))
            assert error_of(answer) == (404, "key_not_found")
    assert flows_with(client, world.globex_app_key) == 200
