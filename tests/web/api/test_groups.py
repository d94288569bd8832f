"""Seat groups over the admin API: the answers, the refusals with their codes, and hostile
bodies refused without a change."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import audit_events, seat_group_members, seat_groups
from tests.conftest import World
from tests.web.api.test_account_settings import api, audit_rows
from tests.web.api.test_agent import error_of

Client = TestClient[Litestar]


def groups_state(db: Database) -> Any:
    with db.read() as conn:
        return [
            sorted(map(tuple, conn.execute(select(t))), key=repr)
            for t in (seat_groups, seat_group_members, audit_events)
        ]


def test_groups_are_created_changed_given_members_and_deleted(
    client: Client, world: World, db: Database
) -> None:
    token = world.admin_token
    made = api(client, "POST", "acme/groups", token, {"name": "Billing", "reserved": 2})
    assert made.status_code == 201, made.text
    group_id = made.json()["id"]
    assert made.json() == {
        "id": group_id, "name": "Billing", "guests": False, "reserved": 2, "maximum": None,
        "members": 0,
    }  # fmt: skip
    members = api(
        client, "PUT", f"acme/groups/{group_id}/members", token, {"usernames": ["bob", "Alice"]}
    )
    assert members.json() == {"group": "Billing", "usernames": ["alice", "bob"]}
    changed = api(client, "PATCH", f"acme/groups/{group_id}", token, {"maximum": 2})
    assert (changed.json()["maximum"], changed.json()["members"]) == (2, 2)
    guests = api(client, "PATCH", "acme/groups/guests", token, {"maximum": 1})
    assert (guests.json()["name"], guests.json()["guests"]) == ("Guests", True)
    listed = api(client, "GET", "acme/groups", token).json()
    assert (listed["licenses"], listed["reserved"]) == (3, 2)
    assert [(g["name"], g["maximum"], g["members"]) for g in listed["groups"]] == [
        ("Billing", 2, 2),
        ("Guests", 1, 0),
    ]
    # A null maximum is no maximum; a maximum left out stays.
    assert (
        api(client, "PATCH", f"acme/groups/{group_id}", token, {"maximum": None}).json()["maximum"]
        is None
    )
    assert api(client, "PATCH", "acme/groups/guests", token, {"reserved": 1}).json()["maximum"] == 1
    assert api(client, "DELETE", f"acme/groups/{group_id}", token).status_code == 200
    assert [g["name"] for g in api(client, "GET", "acme/groups", token).json()["groups"]] == [
        "Guests"
    ]
    actions = [r["action"] for r in audit_rows(db, world.acme.id, "group_created", "group_deleted")]
    assert actions == ["group_deleted", "group_created", "group_created"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "groups", {"name": "Big", "reserved": 4}, 409, "reservations_exceed_licenses"),
        ("POST", "groups", {"name": "Guests"}, 400, "invalid_request"),
        ("POST", "groups", {"name": "Bil\x00ling"}, 400, "invalid_request"),
        ("POST", "groups", {"name": "<b>x</b>\x1b[31m"}, 400, "invalid_request"),
        ("POST", "groups", {"name": "x" * 101}, 400, "invalid_request"),
        ("POST", "groups", {"name": "Billing"}, 409, "conflict"),
        ("POST", "groups", {"name": "A", "reserved": -1}, 400, "invalid_request"),
        ("POST", "groups", {"name": "A", "maximum": 10**30}, 400, "invalid_request"),
        ("POST", "groups", {"name": "A", "extra": 1}, 400, "invalid_request"),
        ("POST", "groups", ["not", "an", "object"], 400, "invalid_request"),
        ("PATCH", "groups/{id}", {"reserved": 9}, 409, "reservations_exceed_licenses"),
        ("PATCH", "groups/{id}", {"name": "  "}, 400, "invalid_request"),
        ("PATCH", "groups/999999", {"reserved": 0}, 404, "group_not_found"),
        ("PATCH", "groups/guests", {"reserved": "two"}, 400, "invalid_request"),
        ("DELETE", "groups/999999", None, 404, "group_not_found"),
        ("PUT", "groups/{id}/members", {"usernames": ["gina"]}, 404, "user_not_found"),
        ("PUT", "groups/{id}/members", {"usernames": ["<script>"]}, 404, "user_not_found"),
        ("PUT", "groups/{id}/members", {"usernames": "alice"}, 400, "invalid_request"),
        ("PUT", "groups/999999/members", {"usernames": []}, 404, "group_not_found"),
    ],
)
def test_a_bad_request_is_refused_with_a_clear_code_and_changes_nothing(
    client: Client,
    world: World,
    db: Database,
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str,
) -> None:
    made = api(client, "POST", "acme/groups", world.admin_token, {"name": "Billing", "reserved": 1})
    before = groups_state(db)
    answer = api(
        client,
        method,
        "acme/" + path.replace("{id}", str(made.json()["id"])),
        world.admin_token,
        body,
    )
    assert error_of(answer) == (status, code), answer.text
    assert answer.json()["error"]["message"]
    assert groups_state(db) == before


def test_a_refused_reservation_says_why(client: Client, world: World) -> None:
    answer = api(client, "POST", "acme/groups", world.admin_token, {"name": "Big", "reserved": 30})
    assert answer.json()["error"]["message"] == (
        "Reservations would add up to 30 licenses, more than the account's 3."
    )


def test_a_group_of_another_account_is_not_found(client: Client, world: World) -> None:
    theirs = api(client, "POST", "globex/groups", world.globex_admin_token, {"name": "Theirs"})
    gid = theirs.json()["id"]
    calls: list[tuple[str, str, Any]] = [
        ("PATCH", f"acme/groups/{gid}", {"reserved": 0}),
        ("DELETE", f"acme/groups/{gid}", None),
        ("PUT", f"acme/groups/{gid}/members", {"usernames": []}),
    ]
    for method, path, body in calls:
        answer = api(client, method, path, world.admin_token, body)
        assert error_of(answer) == (404, "group_not_found")
