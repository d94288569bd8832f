"""The admin side of the HTTP API: roles and accounts, the grid, terminations, usage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage.db import Database
from tests.conftest import PASSWORD, World, bearer, offer
from tests.web.api.test_agent import call, error_of, login, open_session

Client = TestClient[Litestar]
ROUTES = [
    ("GET", "active-sessions", None),
    ("GET", "usage", None),
    ("GET", "waits", None),
    ("POST", "active-sessions/terminate", {"session_ids": [str(uuid4())]}),
]


def admin_call(
    client: Client, token: str, route: tuple[str, str, Any], account: str = "acme"
) -> Any:
    method, path, body = route
    return client.request(
        method, f"/api/v1/accounts/{account}/{path}", json=body, headers=bearer(token)
    )


@pytest.mark.parametrize("route", ROUTES, ids=[r[1] for r in ROUTES])
@pytest.mark.parametrize(
    ("who", "account", "expected"),
    [
        ("admin_token", "acme", (200, None)),
        ("admin_token", "globex", (404, "account_not_found")),
        ("admin_token", "no-such-account", (404, "account_not_found")),
        ("globex_admin_token", "acme", (404, "account_not_found")),
        ("super_token", "acme", (200, None)),
        ("super_token", "globex", (200, None)),
        ("super_token", "no-such-account", (404, "account_not_found")),
        ("agent_token", "acme", (403, "not_allowed")),
        ("designer_token", "acme", (403, "not_allowed")),
        ("agent_token", "globex", (403, "not_allowed")),
    ],
)
def test_every_admin_route_checks_role_and_account(
    client: Client,
    world: World,
    route: tuple[str, str, Any],
    who: str,
    account: str,
    expected: tuple[int, str | None],
) -> None:
    response = admin_call(client, getattr(world, who), route, account)
    if expected[1] is None:
        assert response.status_code == expected[0], response.text
    else:
        assert error_of(response) == expected


@pytest.mark.parametrize("route", ROUTES, ids=[r[1] for r in ROUTES])
def test_admin_routes_need_a_valid_token(
    client: Client, world: World, route: tuple[str, str, Any]
) -> None:
    method, path, body = route
    missing = client.request(method, f"/api/v1/accounts/acme/{path}", json=body)
    assert error_of(missing) == (401, "missing_credentials")
    assert error_of(admin_call(client, "sk_user_forged", route)) == (401, "invalid_token")
    assert error_of(admin_call(client, world.app_key, route)) == (401, "invalid_token")


def test_a_refused_termination_changes_nothing(client: Client, world: World) -> None:
    alice = login(client, world, "alice")
    route = ("POST", "active-sessions/terminate", {"session_ids": [alice["session_id"]]})
    for token, status in (
        (world.globex_admin_token, 404),
        (world.agent_token, 403),
        (world.designer_token, 403),
    ):
        assert admin_call(client, token, route).status_code == status
    assert (
        call(client, "POST", f"{alice['session_id']}/heartbeat", alice["token"]).status_code == 200
    )


def grid(client: Client, world: World, query: str = "") -> Any:
    response = client.get(
        f"/api/v1/accounts/acme/active-sessions{query}", headers=bearer(world.admin_token)
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_an_empty_grid(client: Client, world: World) -> None:
    body = grid(client, world)
    assert body["sessions"] == []
    assert body["count"] == 0
    assert body["time_zone"] == "Europe/Paris"


@pytest.fixture
def busy(client: Client, world: World, db: Database, clock: FrozenClock) -> dict[str, str]:
    """Three sessions opened a minute apart: bob (3 interactions), Guest (none), alice (1)."""
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=10), now=clock.now())
    offer(db, "A", "B", "C")
    ids = {}
    for who, flows in (("bob", ["A", "A", "B"]), (None, []), ("alice", ["C"])):
        s = login(client, world, who) if who else open_session(client, world.app_key).json()
        ids[who or "Guest"] = s["session_id"]
        for flow in flows:
            call(client, "POST", f"{s['session_id']}/interactions", s["token"], {"flow": flow})
        clock.advance(timedelta(minutes=1))
    return ids


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["bob", None, "alice"]),
        ("?sort=session_start&order=desc", ["alice", None, "bob"]),
        ("?sort=agent_id", ["alice", "bob", None]),  # a Guest sorts as "Guest"
        ("?sort=agent_id&order=desc", [None, "bob", "alice"]),
        ("?sort=open_interactions_count", [None, "alice", "bob"]),
        ("?sort=open_interactions_count&order=desc", ["bob", "alice", None]),
    ],
)
def test_the_grid_sorts_by_each_sortable_column(
    client: Client, world: World, busy: dict[str, str], query: str, expected: list[str | None]
) -> None:
    assert [r["agent_id"] for r in grid(client, world, query)["sessions"]] == expected


def test_grid_rows_show_flows_once_and_count_every_instance(
    client: Client, world: World, busy: dict[str, str]
) -> None:
    rows = {r["agent_id"]: r for r in grid(client, world)["sessions"]}
    assert rows["bob"]["open_interactions"] == ["A", "B"]
    assert rows["bob"]["open_interactions_count"] == 3
    assert rows[None]["open_interactions"] == []
    # Session Start is given in the account's zone: 14:00 in Paris is 13:00 UTC.
    assert rows["bob"]["session_start"] == "2026-03-10T14:00:00+01:00"
    assert datetime.fromisoformat(rows["alice"]["session_start"]).utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?sort=open_interactions", "cannot be sorted by Open Interactions"),
        ("?sort=username", "Unknown sort column"),
        ("?sort=agent_id&order=up", "Unknown order"),
    ],
)
def test_unknown_sorts_are_refused(client: Client, world: World, query: str, message: str) -> None:
    response = client.get(
        f"/api/v1/accounts/acme/active-sessions{query}", headers=bearer(world.admin_token)
    )
    assert error_of(response) == (400, "invalid_sort")
    assert message in response.json()["error"]["message"]


def test_termination_reports_what_was_already_gone(
    client: Client, world: World, busy: dict[str, str]
) -> None:
    bob, guest, alice = busy["bob"], busy["Guest"], busy["alice"]
    stranger = str(uuid4())
    route = ("POST", "active-sessions/terminate", {"session_ids": [bob, guest, bob]})
    first = admin_call(client, world.admin_token, route).json()
    assert first["terminated"] == 2
    assert first["terminated_ids"] == [bob, guest]
    route = ("POST", "active-sessions/terminate", {"session_ids": [bob, alice, stranger]})
    second = admin_call(client, world.admin_token, route).json()
    assert second == {
        "terminated": 1,
        "terminated_ids": [alice],
        "already_ended": [bob],
        "not_found": [stranger],
        "message": "1 session terminated. 1 had already ended. 1 not found in this account.",
    }
    assert grid(client, world)["sessions"] == []


@pytest.mark.parametrize(
    "body",
    [{}, {"session_ids": []}, {"session_ids": ["not-a-uuid"]}, {"session_ids": "x"}, {"ids": []}],
)
def test_bad_termination_requests_are_refused(
    client: Client, world: World, busy: dict[str, str], body: dict[str, Any]
) -> None:
    response = admin_call(client, world.admin_token, ("POST", "active-sessions/terminate", body))
    assert error_of(response) == (400, "invalid_request")
    assert len(grid(client, world)["sessions"]) == 3


def test_a_foreign_session_id_is_not_found_and_not_terminated(client: Client, world: World) -> None:
    gina = open_session(
        client, world.globex_app_key, {"username": "gina", "password": PASSWORD}
    ).json()
    route = ("POST", "active-sessions/terminate", {"session_ids": [gina["session_id"]]})
    answer = admin_call(client, world.admin_token, route).json()
    assert answer["not_found"] == [gina["session_id"]]
    assert call(client, "POST", f"{gina['session_id']}/heartbeat", gina["token"]).status_code == 200


def test_usage_figures(client: Client, world: World, clock: FrozenClock) -> None:
    # Yesterday: alice and bob overlap for an hour (peak 2). Today: alice alone (peak 1).
    clock.advance(timedelta(days=-1))
    alice = login(client, world, "alice")
    bob = login(client, world, "bob")
    clock.advance(timedelta(hours=1))
    call(client, "DELETE", alice["session_id"], alice["token"])
    call(client, "DELETE", bob["session_id"], bob["token"])
    clock.advance(timedelta(days=1, hours=-1))
    login(client, world, "alice")
    usage = client.get("/api/v1/accounts/acme/usage", headers=bearer(world.admin_token)).json()
    assert usage["current"] == 1
    assert usage["total"] == 3
    assert usage["daily_max"] == 2
    assert usage["daily_average"] == round(3 / 30, 2)  # acme is 60 days old: all 30 days count
    assert len(usage["days"]) == 30
    assert usage["days"][-1] == {
        "date": "2026-03-10",
        "max_concurrent": 1,
        "denials": 0,
        "account_existed": True,
        "minutes_at_cap": 0,
        "peak_demand": 1,
        "overdraft_peak": 0,
        "overdraft_minutes": 0,
        "waited": 0,
        "longest_wait_seconds": None,
        "longest_seating_seconds": None,
    }
    assert usage["days"][-2]["max_concurrent"] == 2
    assert usage["as_of"] == "2026-03-10T14:00:00+01:00"
    assert usage["licenses_needed"] == 2
    assert usage["advice"] == (
        "No open was refused in the past 30 days; at most 2 of the 3 licenses were in use at once."
    )


def test_ten_thousand_ids_are_accepted_and_one_more_refused(
    client: Client, world: World, busy: dict[str, str]
) -> None:
    ids = [busy["bob"], *(str(uuid4()) for _ in range(9_999))]
    route = ("POST", "active-sessions/terminate", {"session_ids": ids})
    answer = admin_call(client, world.admin_token, route).json()
    assert (answer["terminated"], len(answer["not_found"])) == (1, 9_999)
    too_many = ("POST", "active-sessions/terminate", {"session_ids": [*ids, str(uuid4())]})
    assert error_of(admin_call(client, world.admin_token, too_many)) == (400, "invalid_request")


@pytest.mark.parametrize("account", ["ACME", "ac me", "-acme", "a" * 64])
def test_malformed_account_names_are_not_found(client: Client, world: World, account: str) -> None:
    response = client.get(f"/api/v1/accounts/{account}/usage", headers=bearer(world.super_token))
    assert error_of(response) == (404, "account_not_found")


def test_an_account_name_with_a_nul_is_refused(client: Client, world: World) -> None:
    response = client.get("/api/v1/accounts/acme%00/usage", headers=bearer(world.super_token))
    assert error_of(response) == (400, "invalid_request")


def test_an_expired_session_ends_at_its_expiry_in_usage_even_unswept(
    client: Client, world: World, clock: FrozenClock
) -> None:
    login(client, world, "alice")  # 14:00 Paris, expires 14:30
    clock.advance(timedelta(minutes=20))
    login(client, world, "bob")  # 14:20, expires 14:50
    clock.advance(timedelta(minutes=40))  # 15:00: both expired, nothing swept them
    usage = client.get("/api/v1/accounts/acme/usage", headers=bearer(world.admin_token)).json()
    assert usage["current"] == 0
    assert usage["days"][-1]["max_concurrent"] == 2
    clock.advance(timedelta(days=1))
    login(client, world, "carol")  # 15:00 the next day: alice ended at 14:30 yesterday
    usage = client.get("/api/v1/accounts/acme/usage", headers=bearer(world.admin_token)).json()
    assert [d["max_concurrent"] for d in usage["days"][-2:]] == [2, 1]
    assert usage["current"] == 1


def test_usage_days_follow_the_account_zone_across_dst(
    client: Client, world: World, clock: FrozenClock
) -> None:
    # Paris moves to summer time on 29 March 2026: that day has 23 hours.
    clock.set(datetime(2026, 3, 29, 21, 45, tzinfo=UTC))  # 23:45 in Paris
    alice = login(client, world, "alice")
    clock.advance(timedelta(minutes=10))
    call(client, "DELETE", alice["session_id"], alice["token"])
    clock.set(datetime(2026, 3, 29, 22, 30, tzinfo=UTC))  # 00:30 on the 30th in Paris
    login(client, world, "bob")
    login(client, world, "carol")
    usage = client.get("/api/v1/accounts/acme/usage", headers=bearer(world.admin_token)).json()
    assert usage["days"][-1]["date"] == "2026-03-30"
    assert [d["max_concurrent"] for d in usage["days"][-2:]] == [1, 2]
    assert usage["as_of"] == "2026-03-30T00:30:00+02:00"


def test_the_grid_comes_a_page_at_a_time(
    client: Client, world: World, busy: dict[str, str]
) -> None:
    first = grid(client, world, "?sort=agent_id&per_page=2")
    assert [r["agent_id"] for r in first["sessions"]] == ["alice", "bob"]
    assert (first["count"], first["page"], first["per_page"], first["pages"]) == (3, 1, 2, 2)
    second = grid(client, world, "?sort=agent_id&per_page=2&page=2")
    assert [r["agent_id"] for r in second["sessions"]] == [None]
    beyond = grid(client, world, "?sort=agent_id&per_page=2&page=9")
    assert (beyond["sessions"], beyond["count"]) == ([], 3)
    assert grid(client, world)["per_page"] == 50


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("BO", ["bob"]),  # any case
        ("b", ["bob"]),  # bob's name, and his open Flow "B"
        ("C", ["alice"]),  # alice's open Flow "C"
        ("guest", [None]),  # a Guest is found as "Guest"
        ("%", []),  # a wildcard is a plain character here
        ("_", []),
        ("  ", ["alice", "bob", None]),  # blank: no search
    ],
)
def test_the_grid_searches_agent_ids_and_open_flows(
    client: Client, world: World, busy: dict[str, str], q: str, expected: list[str | None]
) -> None:
    found = grid(client, world, "?" + urlencode({"sort": "agent_id", "q": q}))
    assert [r["agent_id"] for r in found["sessions"]] == expected
    assert found["count"] == len(expected)


@pytest.mark.parametrize(
    "query", ["?page=0", "?per_page=0", "?per_page=501", "?page=x", "?q=" + "x" * 201, "?q=a%00b"]
)
def test_bad_pages_and_searches_are_refused(client: Client, world: World, query: str) -> None:
    response = client.get(
        f"/api/v1/accounts/acme/active-sessions{query}", headers=bearer(world.admin_token)
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("active-sessions", "?order=asc&order=desc"),
        ("active-sessions", "?q=a&sort=agent_id&q=b"),
        ("ended-sessions", "?page=1&page=2"),
        ("active-sessions/export", "?format=csv&format=json"),
        ("usage/export", "?format=json&format="),
    ],
)
def test_a_query_parameter_given_twice_is_refused(
    client: Client, world: World, path: str, query: str
) -> None:
    # Found by the API fuzzing: the last value was taken silently.
    answer = client.get(f"/api/v1/accounts/acme/{path}{query}", headers=bearer(world.admin_token))
    assert error_of(answer) == (400, "invalid_request")
    assert "more than once" in answer.json()["error"]["message"]
