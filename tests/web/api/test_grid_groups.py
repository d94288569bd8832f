"""The grid's and the usage's seat groups over the admin API: each session's group, the
filter, the downloads, and group ids that are not the account's (400, nothing changed)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.storage.db import Database
from tests.conftest import World, bearer
from tests.grid_groups import seed_groups
from tests.web.api.test_agent import error_of
from tests.web.pages.test_pages import everything

Client = TestClient[Litestar]
API = "/api/v1/accounts/acme"


@pytest.fixture
def groups(db: Database, world: World, clock: FrozenClock) -> dict[str, int]:
    return seed_groups(db, world, clock.now())


def get(client: Client, world: World, path: str) -> Any:
    return client.get(f"{API}{path}", headers=bearer(world.admin_token))


def test_each_row_has_its_group_and_the_grid_shows_one_group(
    client: Client, world: World, groups: dict[str, int]
) -> None:
    body = get(client, world, "/active-sessions").json()
    assert body["group"] is None
    assert [(s["agent_id"], s["group"], s["reserved"]) for s in body["sessions"]] == [
        ("alice", "Billing", True),
        ("bob", "Billing", False),
        (None, "Guests", False),
        ("carol", None, False),
    ]
    body = get(client, world, f"/active-sessions?group={groups['guests']}").json()
    assert (body["group"], body["count"]) == (groups["guests"], 1)
    assert [s["agent_id"] for s in body["sessions"]] == [None]
    body = get(
        client, world, f"/active-sessions?group={groups['billing']}&sort=agent_id&order=desc"
    )
    assert [s["agent_id"] for s in body.json()["sessions"]] == ["bob", "alice"]


def test_the_downloads_name_the_group_and_keep_the_filter(
    client: Client, world: World, groups: dict[str, int]
) -> None:
    answer = get(client, world, f"/active-sessions/export?group={groups['billing']}")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["agent_id"], r["group"], r["reserved"]) for r in rows] == [
        ("alice", "Billing", "yes"),
        ("bob", "Billing", "no"),
    ]
    whole = get(client, world, "/active-sessions/export?format=json").json()
    assert [s["group"] for s in whole["sessions"]] == ["Billing", "Billing", "Guests", None]


@pytest.mark.parametrize(
    "value",
    ["abc", "-1", "1.5", "<script>alert(1)</script>", "1\x00", "１", "99999999999999999999"],
)
@pytest.mark.parametrize(
    "path", ["/active-sessions", "/active-sessions/export", "/usage", "/usage/export"]
)
def test_a_group_id_that_is_not_a_number_is_refused(
    client: Client, world: World, db: Database, groups: dict[str, int], path: str, value: str
) -> None:
    before = everything(db)
    answer = client.get(f"{API}{path}", params={"group": value}, headers=bearer(world.admin_token))
    assert error_of(answer)[0] == 400
    message = answer.json()["error"]["message"]
    if value.isprintable():
        assert error_of(answer)[1] == "invalid_request"
        assert message.startswith("The group must be a seat group's id, a number")
    else:  # refused before it reaches the grid, by the guard on every query
        assert "control characters" in message
    assert "\x00" not in message
    assert everything(db) == before


@pytest.mark.parametrize("path", ["/active-sessions", "/active-sessions/export", "/usage"])
def test_another_accounts_group_or_an_unknown_one_is_refused(
    client: Client, world: World, db: Database, groups: dict[str, int], path: str
) -> None:
    before = everything(db)
    for wanted in (groups["theirs"], groups["theirs"] + 50):
        answer = get(client, world, f"{path}?group={wanted}")
        assert error_of(answer) == (400, "invalid_request")
        assert answer.json()["error"]["message"] == f"The account acme has no seat group {wanted}."
    assert everything(db) == before


def test_globex_reads_its_own_group_and_not_acmes(
    client: Client, world: World, groups: dict[str, int]
) -> None:
    path = "/api/v1/accounts/globex/active-sessions"
    theirs = client.get(
        f"{path}?group={groups['theirs']}", headers=bearer(world.globex_admin_token)
    )
    assert theirs.status_code == 200 and theirs.json()["sessions"] == []
    ours = client.get(f"{path}?group={groups['billing']}", headers=bearer(world.globex_admin_token))
    assert error_of(ours) == (400, "invalid_request")


def test_a_groups_usage_is_of_its_sessions_and_says_which(
    client: Client, world: World, groups: dict[str, int]
) -> None:
    whole = get(client, world, "/usage").json()
    billing = get(client, world, f"/usage?group={groups['billing']}").json()
    assert (whole["current"], whole["group"], whole["group_name"]) == (4, None, None)
    assert (billing["current"], billing["daily_max"]) == (2, 2)
    assert (billing["group"], billing["group_name"]) == (groups["billing"], "Billing")
    download = get(client, world, f"/usage/export?format=json&group={groups['guests']}")
    assert json.loads(download.content)["current"] == 1
    assert json.loads(download.content)["group_name"] == "Guests"
    csv_rows = list(
        csv.DictReader(
            io.StringIO(get(client, world, f"/usage/export?group={groups['guests']}").text)
        )
    )
    assert max(int(r["max_concurrent"]) for r in csv_rows) == 1


def test_the_usage_api_says_a_groups_figures_are_computed_from_its_rows(client: Client) -> None:
    schema = client.get("/docs/openapi.json").json()
    usage = schema["paths"]["/api/v1/accounts/{account}/usage"]["get"]
    (group,) = [p for p in usage["parameters"] if p["name"] == "group"]
    assert "not from the kept days" in group["description"]
