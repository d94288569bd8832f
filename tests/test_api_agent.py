"""The agent side of the HTTP API, driven over HTTP as an Agent Application would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
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
    second_browser = open_session(client, world.app_key, {"username": "alice", "password": PASSWORD})
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
    step = call(client, "POST", f"{sid}/interactions/{iid}/steps", first["token"], {"step": "Verify"})
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
