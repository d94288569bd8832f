"""Every way a license frees seats the first in line who may hold it, in that transaction
(or within the line's housekeeping second, for a timeout nobody noticed); and a place in
line ends with its agent.

acme has 3 licenses and a 30-minute session timeout.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services import line
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import waits
from tests.conftest import PASSWORD, World, bearer
from tests.services.test_seating import add_group

ADMIN = "/api/v1/accounts/acme"


def open_(client: TestClient[Litestar], world: World, **body: Any) -> httpx.Response:
    return client.post("/api/v1/sessions", json=body, headers=bearer(world.app_key))


def as_agent(username: str) -> dict[str, Any]:
    return {"username": username, "password": PASSWORD}


def fill(client: TestClient[Litestar], world: World, *agents: str) -> list[dict[str, Any]]:
    """The licenses held: by these agents, then by Guests."""
    held = [open_(client, world, **as_agent(a)) for a in agents]
    held += [open_(client, world) for _ in range(3 - len(agents))]
    assert [r.status_code for r in held] == [201, 201, 201]
    return [r.json() for r in held]


def follow(client: TestClient[Litestar], ticket: dict[str, Any]) -> httpx.Response:
    return client.get(f"/api/v1/waits/{ticket['wait_id']}", headers=bearer(ticket["ticket"]))


def outcomes(db: Database) -> list[tuple[int, str | None]]:
    with db.read() as conn:
        return [(r.id, r.outcome) for r in conn.execute(select(waits.c.id, waits.c.outcome))]


def admin(client: TestClient[Litestar], world: World, method: str, path: str, body: Any) -> None:
    answer = client.request(method, ADMIN + path, json=body, headers=bearer(world.admin_token))
    assert answer.status_code < 300, answer.text


def test_raising_the_licenses_seats_the_line_in_order(
    client: TestClient[Litestar], world: World, db: Database, clock: FrozenClock
) -> None:
    fill(client, world)
    first, second, third = (open_(client, world, wait=True).json() for _ in range(3))
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=5), now=clock.now())
    assert [follow(client, t).status_code for t in (first, second)] == [201, 201]
    assert follow(client, third).json()["position"] == 1


def test_disabling_an_agent_seats_the_first_in_line_and_ends_their_own_place(
    client: TestClient[Litestar], world: World, db: Database
) -> None:
    fill(client, world, "alice")
    bob = open_(client, world, **as_agent("bob"), wait=True).json()
    guest = open_(client, world, wait=True).json()
    admin(client, world, "PATCH", "/users/alice", {"disabled": True})
    assert follow(client, bob).status_code == 201
    admin(client, world, "PATCH", "/users/bob", {"disabled": True})  # ends bob's session
    assert follow(client, guest).status_code == 201
    carol = open_(client, world, **as_agent("carol"), wait=True).json()
    admin(client, world, "PATCH", "/users/carol", {"disabled": True})
    gone = follow(client, carol)
    assert (gone.status_code, gone.json()["error"]["code"]) == (410, "wait_left")


def test_a_timeout_nobody_noticed_is_seated_by_the_lines_housekeeping(
    client: TestClient[Litestar], world: World, db: Database, clock: FrozenClock
) -> None:
    fill(client, world)
    clock.advance(timedelta(minutes=29, seconds=30))
    ticket = open_(client, world, wait=True).json()
    clock.advance(timedelta(seconds=31))  # the Guests' sessions have timed out
    assert line.keep(db, clock.now()) == 1
    assert follow(client, ticket).status_code == 201


def test_a_place_not_followed_leaves_with_the_lines_housekeeping(
    client: TestClient[Litestar], world: World, db: Database, clock: FrozenClock
) -> None:
    fill(client, world)
    ticket = open_(client, world, wait=True).json()
    clock.advance(timedelta(seconds=61))
    assert line.keep(db, clock.now()) == 0
    assert outcomes(db) == [(ticket["wait_id"], "timed_out")]
    assert line.keep(db, clock.now()) == 0  # nobody waits: nothing more is read or written


def test_leaving_a_place_seated_meanwhile_gives_the_license_to_the_next(
    client: TestClient[Litestar], world: World
) -> None:
    held = fill(client, world)
    first = open_(client, world, wait=True).json()
    second = open_(client, world, wait=True).json()
    client.delete(f"/api/v1/sessions/{held[0]['session_id']}", headers=bearer(held[0]["token"]))
    # first was seated, but leaves before its ticket takes the session: second gets it.
    left = client.delete(f"/api/v1/waits/{first['wait_id']}", headers=bearer(first["ticket"]))
    assert left.status_code == 204
    assert follow(client, second).status_code == 201
    assert open_(client, world).status_code == 409


def test_a_guest_over_the_guests_maximum_keeps_their_place_and_holds_nobody_back(
    client: TestClient[Litestar], world: World, db: Database
) -> None:
    guests = add_group(db, world.acme.id, "Guests", guests=True, maximum=1)
    held = fill(client, world, "alice", "bob")  # and one Guest
    waiting_guest = open_(client, world, wait=True).json()
    carol = open_(client, world, **as_agent("carol"), wait=True).json()
    client.delete(f"/api/v1/sessions/{held[0]['session_id']}", headers=bearer(held[0]["token"]))
    # The Guest may not hold a second Guest license: carol, behind, takes alice's.
    assert follow(client, carol).status_code == 201
    assert follow(client, waiting_guest).json()["position"] == 1
    admin(client, world, "PATCH", f"/groups/{guests}", {"maximum": 2})
    assert follow(client, waiting_guest).json()["position"] == 1  # no license is free
    client.delete(f"/api/v1/sessions/{held[2]['session_id']}", headers=bearer(held[2]["token"]))
    assert follow(client, waiting_guest).status_code == 201


def test_raising_a_groups_maximum_seats_its_waiting_member(
    client: TestClient[Litestar], world: World, db: Database, clock: FrozenClock
) -> None:
    billing = add_group(db, world.acme.id, "Billing", maximum=1, members=["alice", "bob"])
    fill(client, world, "alice")
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=4), now=clock.now())
    bob = open_(client, world, **as_agent("bob"), wait=True)
    assert bob.status_code == 202  # a license is free, but Billing holds its maximum
    admin(client, world, "PATCH", f"/groups/{billing}", {"maximum": 2})
    assert follow(client, bob.json()).status_code == 201
