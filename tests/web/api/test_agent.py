"""The agent side of the HTTP API, driven over HTTP as an Agent Application would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import EndReason, SettingsChange
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage import sessions as stored_sessions
from seatkeeper.storage.db import Database
from tests.conftest import PASSWORD, World, bearer

Client = TestClient[Litestar]


def open_session(client: Client, key: str, body: dict[str, Any] | None = None) -> Any:
    return client.post("/api/v1/sessions", json=body or {}, headers=bearer(key))


def login(client: Client, world: World, username: str) -> dict[str, Any]:
    response = open_session(client, world.app_key, {"username": username, "password": PASSWORD})
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def call(client: Client, method: str, path: str, token: str, json: Any = None) -> Any:
    return client.request(method, f"/api/v1/sessions/{path}", json=json, headers=bearer(token))


def grid(client: Client, world: World, query: str = "") -> dict[str, Any]:
    response = client.get(
        f"/api/v1/accounts/acme/active-sessions{query}", headers=bearer(world.admin_token)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_whole_agent_story(client: Client, world: World, clock: FrozenClock) -> None:
    alice = open_session(client, world.app_key, {"username": "alice", "password": PASSWORD})
    assert alice.status_code == 201
    first = alice.json()
    assert first["agent_id"] == "alice"
    assert first["token"].startswith("sk_sess_")

    guest = open_session(client, world.app_key)
    assert guest.status_code == 201
    assert guest.json()["agent_id"] is None

    clock.advance(timedelta(minutes=1))
    second_browser = open_session(
        client, world.app_key, {"username": "alice", "password": PASSWORD}
    )
    assert second_browser.status_code == 200  # joined, no second license
    joined = second_browser.json()
    assert joined["session_id"] == first["session_id"]
    assert joined["token"] != first["token"]

    sid = first["session_id"]
    opened = [
        call(client, "POST", f"{sid}/interactions", first["token"], {"flow": "Password Reset"}),
        call(client, "POST", f"{sid}/interactions", joined["token"], {"flow": "Password Reset"}),
        call(client, "POST", f"{sid}/interactions", first["token"], {"flow": "Billing Dispute"}),
    ]
    assert [r.status_code for r in opened] == [201, 201, 201]
    iid = opened[0].json()["interaction_id"]
    step = call(
        client, "POST", f"{sid}/interactions/{iid}/steps", first["token"], {"step": "Verify"}
    )
    assert step.status_code == 200
    assert step.json() == {"interaction_id": iid, "flow": "Password Reset", "step": "Verify"}

    rows = {r["agent_id"]: r for r in grid(client, world)["sessions"]}
    assert set(rows) == {"alice", None}
    assert rows["alice"]["open_interactions"] == ["Billing Dispute", "Password Reset"]
    assert rows["alice"]["open_interactions_count"] == 3
    assert rows[None]["open_interactions_count"] == 0

    terminated = client.post(
        "/api/v1/accounts/acme/active-sessions/terminate",
        json={"session_ids": [sid]},
        headers=bearer(world.admin_token),
    )
    assert terminated.status_code == 200
    assert terminated.json()["terminated"] == 1
    assert terminated.json()["message"] == "1 session terminated."

    for token in (first["token"], joined["token"]):
        after = call(client, "POST", f"{sid}/interactions/{iid}/steps", token, {"step": "Next"})
        assert after.status_code == 410
        assert after.json() == {
            "error": {
                "code": "session_terminated",
                "message": "Your session was terminated by an administrator.",
            }
        }
    assert [r["agent_id"] for r in grid(client, world)["sessions"]] == [None]

    # The agent starts over, and gets a new session.
    again = open_session(client, world.app_key, {"username": "alice", "password": PASSWORD})
    assert again.status_code == 201
    assert again.json()["session_id"] != sid


def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_a_full_pool_refuses_with_409_and_records_the_denial(
    client: Client, world: World, db: Database
) -> None:
    for name in ("alice", "bob", "carol"):  # acme has 3 licenses
        assert (
            open_session(
                client, world.app_key, {"username": name, "password": PASSWORD}
            ).status_code
            == 201
        )
    refused = open_session(client, world.app_key, {"username": "dave", "password": PASSWORD})
    assert error_of(refused) == (409, "license_limit_reached")
    assert "All 3 licenses are in use" in refused.json()["error"]["message"]
    assert error_of(open_session(client, world.app_key)) == (409, "license_limit_reached")
    # A logged-in agent who already holds a session still joins it: no license needed.
    assert (
        open_session(client, world.app_key, {"username": "bob", "password": PASSWORD}).status_code
        == 200
    )
    usage = client.get("/api/v1/accounts/acme/usage", headers=bearer(world.admin_token)).json()
    assert usage["days"][-1]["denials"] == 2
    assert usage["current"] == 3


def test_logging_out_frees_the_license_at_once(client: Client, world: World) -> None:
    sessions = [login(client, world, name) for name in ("alice", "bob", "carol")]
    assert open_session(client, world.app_key).status_code == 409
    first = sessions[0]
    assert call(client, "DELETE", first["session_id"], first["token"]).status_code == 204
    assert open_session(client, world.app_key).status_code == 201
    again = call(client, "POST", f"{first['session_id']}/heartbeat", first["token"])
    assert error_of(again) == (410, "session_logged_out")


def test_a_quiet_session_times_out_and_ended_at_its_last_activity_plus_timeout(
    client: Client, world: World, clock: FrozenClock
) -> None:
    alice = login(client, world, "alice")
    sid, token = alice["session_id"], alice["token"]
    clock.advance(timedelta(minutes=20))
    beat = call(client, "POST", f"{sid}/heartbeat", token)
    assert beat.status_code == 200
    last_activity = clock.now()
    assert beat.json()["expires_at"] == (last_activity + timedelta(minutes=30)).isoformat().replace(
        "+00:00", "Z"
    )

    clock.advance(timedelta(minutes=29, seconds=59))
    assert [r["agent_id"] for r in grid(client, world)["sessions"]] == ["alice"]
    clock.advance(timedelta(seconds=1))  # the instant it expires, its seat is free
    assert grid(client, world)["sessions"] == []
    for name in ("bob", "carol", "dave"):
        login(client, world, name)  # three licenses, all free again for others

    clock.advance(timedelta(hours=2))
    expired = call(client, "POST", f"{sid}/interactions", token, {"flow": "Password Reset"})
    assert error_of(expired) == (410, "session_expired")
    assert "timed out" in expired.json()["error"]["message"]


def test_the_timeout_end_is_recorded_in_history(
    client: Client, world: World, clock: FrozenClock, db: Database
) -> None:
    alice = login(client, world, "alice")
    opened_at = clock.now()
    clock.advance(timedelta(hours=3))
    login(client, world, "bob")  # any claim sweeps the account's overdue sessions
    with db.read() as conn:
        found = stored_sessions.sessions_by_id(conn, world.acme.id, [UUID(alice["session_id"])])
    session = found[UUID(alice["session_id"])]
    assert session.end_reason is EndReason.TIMEOUT
    assert session.ended_at == opened_at + timedelta(minutes=30)


def test_guests_can_be_refused(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    change_settings(db, OPERATOR, "acme", SettingsChange(guests_allowed=False), now=clock.now())
    refused = open_session(client, world.app_key)
    assert error_of(refused) == (403, "guests_not_allowed")
    assert login(client, world, "alice")["agent_id"] == "alice"


def test_wrong_credentials_and_keys(client: Client, world: World) -> None:
    wrong_password = open_session(
        client, world.app_key, {"username": "alice", "password": "nope nope"}
    )
    assert error_of(wrong_password) == (401, "invalid_credentials")
    unknown_user = open_session(client, world.app_key, {"username": "zed", "password": PASSWORD})
    assert error_of(unknown_user) == (401, "invalid_credentials")
    # alice exists only in acme: globex's key does not know her.
    other = open_session(client, world.globex_app_key, {"username": "alice", "password": PASSWORD})
    assert error_of(other) == (401, "invalid_credentials")
    assert error_of(open_session(client, "sk_app_forged")) == (401, "invalid_token")
    no_header = client.post("/api/v1/sessions", json={})
    assert error_of(no_header) == (401, "missing_credentials")
    assert no_header.headers["www-authenticate"] == "Bearer"
    # A session token or admin token does not open sessions.
    assert error_of(open_session(client, world.admin_token)) == (401, "invalid_token")
    assert grid(client, world)["sessions"] == []


def test_a_token_opens_only_its_own_session(client: Client, world: World) -> None:
    alice, bob = login(client, world, "alice"), login(client, world, "bob")
    crossed = call(client, "POST", f"{bob['session_id']}/heartbeat", alice["token"])
    assert error_of(crossed) == (404, "session_not_found")
    crossed_logout = call(client, "DELETE", bob["session_id"], alice["token"])
    assert error_of(crossed_logout) == (404, "session_not_found")
    assert error_of(call(client, "POST", "not-a-uuid/heartbeat", alice["token"])) == (
        404,
        "session_not_found",
    )
    assert error_of(call(client, "POST", f"{bob['session_id']}/heartbeat", "sk_sess_forged")) == (
        401,
        "invalid_token",
    )
    assert {r["agent_id"] for r in grid(client, world)["sessions"]} == {"alice", "bob"}


def test_a_heartbeat_answers_json_and_needs_a_bearer_token(client: Client, world: World) -> None:
    alice = login(client, world, "alice")
    path = f"/api/v1/sessions/{alice['session_id']}/heartbeat"
    beat = client.post(path, headers={"Authorization": f"bearer  {alice['token']} "})
    assert beat.status_code == 200
    assert beat.headers["content-type"] == "application/json"
    assert beat.json() == {"session_id": alice["session_id"], "expires_at": alice["expires_at"]}
    for headers in ({}, {"Authorization": f"Basic {alice['token']}"}, {"Authorization": "Bearer "}):
        assert error_of(client.post(path, headers=headers)) == (401, "missing_credentials")


def test_interactions_of_another_session_or_closed_ones_are_refused(
    client: Client, world: World
) -> None:
    alice, bob = login(client, world, "alice"), login(client, world, "bob")
    a_sid, b_sid = alice["session_id"], bob["session_id"]
    iid = call(
        client, "POST", f"{a_sid}/interactions", alice["token"], {"flow": "New Order"}
    ).json()["interaction_id"]
    foreign = call(client, "POST", f"{b_sid}/interactions/{iid}/steps", bob["token"], {"step": "x"})
    assert error_of(foreign) == (404, "interaction_not_found")
    assert error_of(call(client, "DELETE", f"{b_sid}/interactions/{iid}", bob["token"])) == (
        404,
        "interaction_not_found",
    )
    assert error_of(call(client, "DELETE", f"{a_sid}/interactions/nope", alice["token"])) == (
        404,
        "interaction_not_found",
    )
    assert call(client, "DELETE", f"{a_sid}/interactions/{iid}", alice["token"]).status_code == 204
    assert error_of(call(client, "DELETE", f"{a_sid}/interactions/{iid}", alice["token"])) == (
        409,
        "interaction_closed",
    )
    closed_step = call(
        client, "POST", f"{a_sid}/interactions/{iid}/steps", alice["token"], {"step": "x"}
    )
    assert error_of(closed_step) == (409, "interaction_closed")
    assert all(r["open_interactions_count"] == 0 for r in grid(client, world)["sessions"])


def test_bad_bodies_are_refused_and_change_nothing(client: Client, world: World) -> None:
    alice = login(client, world, "alice")
    sid, token = alice["session_id"], alice["token"]
    headers = {**bearer(token), "Content-Type": "application/json"}
    cases = [
        ("POST", f"{sid}/interactions", b'{"flow": "Password'),  # malformed JSON
        ("POST", f"{sid}/interactions", b"{}"),  # missing field
        ("POST", f"{sid}/interactions", b'{"flow": ""}'),  # empty name
        ("POST", f"{sid}/interactions", b'{"flow": "   "}'),  # blank name
        ("POST", f"{sid}/interactions", b'{"flow": "' + b"x" * 201 + b'"}'),  # too long
        ("POST", f"{sid}/interactions", b'{"flow": 7}'),  # wrong type
        ("POST", f"{sid}/interactions", b'{"flow": "A", "priority": 1}'),  # unknown field
        ("POST", f"{sid}/interactions", b"[]"),
    ]
    for method, path, body in cases:
        response = client.request(method, f"/api/v1/sessions/{path}", content=body, headers=headers)
        assert error_of(response) == (400, "invalid_request"), (body, response.text)
        assert response.json()["error"]["message"], body
    assert grid(client, world)["sessions"][0]["open_interactions_count"] == 0

    for body_dict in (
        {"username": "alice"},
        {"password": PASSWORD},
        {"username": "a" * 101, "password": PASSWORD},
        {"user": "alice", "password": PASSWORD},  # a typo must not open a Guest session
    ):
        assert error_of(open_session(client, world.app_key, body_dict)) == (400, "invalid_request")
    assert len(grid(client, world)["sessions"]) == 1


def test_errors_never_leak_a_stack_trace(client: Client) -> None:
    assert error_of(client.get("/api/v1/nothing-here")) == (404, "not_found")
    assert error_of(client.put("/api/v1/sessions")) == (405, "method_not_allowed")
    huge = client.post(
        "/api/v1/sessions",
        content=b"{" + b" " * 600_000 + b"}",
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
    )
    assert error_of(huge) == (413, "request_too_large")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("interactions", {"flow": "Pass\u0000word"}),
        ("interactions", {"flow": "tab\there"}),
        ("interactions", {"flow": "line\nbreak"}),
    ],
)
def test_control_characters_are_refused(
    client: Client, world: World, path: str, body: dict[str, str]
) -> None:
    alice = login(client, world, "alice")
    response = call(client, "POST", f"{alice['session_id']}/{path}", alice["token"], body)
    assert error_of(response) == (400, "invalid_request")
    assert "control characters" in response.json()["error"]["message"]


def test_odd_bytes_get_a_clear_400(client: Client, world: World) -> None:
    headers = {**bearer(world.app_key), "Content-Type": "application/json"}
    for body in (
        b'{"username": "\xff", "password": "x"}',
        b'{"username": "al\x00", "password": "x"}',
    ):
        response = client.post("/api/v1/sessions", content=body, headers=headers)
        assert error_of(response) == (400, "invalid_request"), body
    nul = open_session(client, world.app_key, {"username": "al\u0000ice", "password": PASSWORD})
    assert error_of(nul) == (400, "invalid_request")
    assert grid(client, world)["sessions"] == []


def test_joining_answers_the_renewed_expiry(
    client: Client, world: World, clock: FrozenClock
) -> None:
    first = login(client, world, "alice")
    clock.advance(timedelta(minutes=10))
    joined = login(client, world, "alice")
    assert joined["session_id"] == first["session_id"]
    assert joined["started_at"] == first["started_at"]
    expected = (clock.now() + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    assert joined["expires_at"] == expected
