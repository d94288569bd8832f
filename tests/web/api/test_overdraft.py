"""The overdraft through the API: granted by a super_admin only; its sessions marked in the
grid's rows and downloads; the refusal names it; the usage's current stays the count."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.storage.db import Database
from tests.conftest import World
from tests.web.api.test_account_settings import api, audit_rows, settings_of, stored
from tests.web.api.test_agent import error_of, grid, login, open_session
from tests.web.api.test_export import get, rows_of

Client = TestClient[Litestar]


def granted(client: Client, world: World, overdraft: int) -> None:
    answer = api(client, "PATCH", "acme/settings", world.super_token, {"overdraft": overdraft})
    assert answer.status_code == 200, answer.text
    assert answer.json()["overdraft"] == overdraft


def test_a_super_admin_grants_an_overdraft_and_everyone_reads_it(
    client: Client, world: World, db: Database
) -> None:
    assert settings_of(client, world.admin_token)["overdraft"] == 0
    granted(client, world, 2)
    assert settings_of(client, world.admin_token)["overdraft"] == 2
    [row] = audit_rows(db, world.acme.id)
    assert (row["actor"], row["details"]) == ("root", {"setting": "overdraft", "from": 0, "to": 2})


def test_an_account_admins_overdraft_is_refused_403_and_changes_nothing(
    client: Client, world: World, db: Database
) -> None:
    before = stored(db)
    refused = api(client, "PATCH", "acme/settings", world.admin_token, {"overdraft": 5})
    assert error_of(refused) == (403, "not_allowed")
    assert refused.json()["error"]["message"] == "Only a Super Admin changes the overdraft."
    assert stored(db) == before


@pytest.mark.parametrize(
    "value",
    [-1, 100_001, 10**30, "five", "<b>5</b>", "5\u0000", 2.5, True, []],
    ids=["negative", "over-max", "huge", "words", "markup", "control", "fraction", "bool", "list"],
)
def test_a_bad_overdraft_is_refused_400_and_changes_nothing(
    client: Client, world: World, db: Database, value: Any
) -> None:
    before = stored(db)
    refused = api(client, "PATCH", "acme/settings", world.super_token, {"overdraft": value})
    assert error_of(refused) == (400, "invalid_request")
    message = refused.json()["error"]["message"]
    # Control characters are refused before the body is read, for any field.
    assert "overdraft" in message or "control characters" in message
    assert stored(db) == before


def test_sessions_beyond_the_licenses_are_marked_in_the_rows_and_the_downloads(
    client: Client, world: World
) -> None:
    granted(client, world, 1)
    for name in ("alice", "bob", "carol", "dave"):  # acme has 3 licenses
        login(client, world, name)
    rows = grid(client, world, "?sort=session_start")["sessions"]
    assert {r["agent_id"]: r["overdraft"] for r in rows} == {
        "alice": False,
        "bob": False,
        "carol": False,
        "dave": True,
    }
    as_csv = rows_of(get(client, "/active-sessions/export?format=csv", world.admin_token))
    assert {r["agent_id"]: r["overdraft"] for r in as_csv} == {
        "alice": "no",
        "bob": "no",
        "carol": "no",
        "dave": "yes",
    }
    as_json = get(client, "/active-sessions/export?format=json", world.admin_token).json()
    assert [r["overdraft"] for r in as_json["sessions"]] == [r["overdraft"] for r in rows]
    usage = get(client, "/usage", world.admin_token).json()
    assert (usage["current"], usage["total"]) == (4, 3)


def test_the_refusal_when_the_overdraft_is_used_says_so(client: Client, world: World) -> None:
    granted(client, world, 2)
    for _ in range(5):
        assert open_session(client, world.app_key).status_code == 201
    refused = open_session(client, world.app_key)
    assert error_of(refused) == (409, "license_limit_reached")
    assert refused.json()["error"]["message"] == (
        "All 3 licenses and the overdraft of 2 are in use. Try again when an agent logs out, "
        "or ask your administrator to free a session."
    )
