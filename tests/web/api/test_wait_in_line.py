"""Waiting in line for a license over the API: a 202 ticket, followed until the session.

acme has 3 licenses; Guests open with the application key, agents with their passwords.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.errors import WaitNotFound
from seatkeeper.domain.model import WaitOutcome
from seatkeeper.services import expiry, line
from seatkeeper.storage.db import Database
from seatkeeper.web.api import waits as waits_api
from tests.conftest import World, bearer
from tests.waiting import PATIENCE, wait_until

PASSWORD = "correct horse battery"


def open_(client: TestClient[Litestar], world: World, **body: Any) -> httpx.Response:
    return client.post("/api/v1/sessions", json=body, headers=bearer(world.app_key))


def fill(client: TestClient[Litestar], world: World) -> list[dict[str, Any]]:
    """Every license held, by Guests: their sessions."""
    held = [open_(client, world) for _ in range(3)]
    assert [r.status_code for r in held] == [201, 201, 201]
    return [r.json() for r in held]


def log_out(client: TestClient[Litestar], session: dict[str, Any]) -> None:
    gone = client.delete(
        f"/api/v1/sessions/{session['session_id']}", headers=bearer(session["token"])
    )
    assert gone.status_code == 204, gone.text


def follow(
    client: TestClient[Litestar], ticket: dict[str, Any], timeout: float = 0
) -> httpx.Response:
    return client.get(
        f"/api/v1/waits/{ticket['wait_id']}",
        params={"timeout": timeout},
        headers=bearer(ticket["ticket"]),
    )


def test_a_full_pool_gives_a_place_in_line_and_the_session_once_a_license_frees(
    client: TestClient[Litestar], world: World
) -> None:
    held = fill(client, world)
    first = open_(client, world, wait=True)
    assert first.status_code == 202, first.text
    assert first.headers["location"] == f"/api/v1/waits/{first.json()['wait_id']}"
    ticket = first.json()
    assert ticket["ticket"].startswith("sk_wait_")
    assert (ticket["position"], ticket["ahead"]) == (1, 0)
    second = open_(client, world, username="bob", password=PASSWORD, wait=True).json()
    assert (second["position"], second["ahead"]) == (2, 1)

    # Someone who does not wait is refused: the licenses are promised to the line.
    assert open_(client, world).status_code == 409
    assert follow(client, ticket).json()["position"] == 1

    log_out(client, held[0])
    seated = follow(client, ticket)
    assert seated.status_code == 201, seated.text
    session = seated.json()
    beat = client.post(
        f"/api/v1/sessions/{session['session_id']}/heartbeat", headers=bearer(session["token"])
    )
    assert beat.status_code == 200
    assert follow(client, second).json()["position"] == 1
    # The token was shown once: the ticket cannot take the session again.
    again = follow(client, ticket)
    assert again.status_code == 410
    assert again.json()["error"]["code"] == "wait_collected"
    assert open_(client, world).status_code == 409  # bob still waits, and the pool is full


def test_an_estimate_comes_from_recent_departures(
    client: TestClient[Litestar], world: World, clock: FrozenClock
) -> None:
    held = fill(client, world)
    assert open_(client, world, wait=True).json()["estimate_seconds"] is None  # none lately
    for session in held[:2]:
        log_out(client, session)  # seats the one waiting, and frees one more
    fill_up = open_(client, world)
    assert fill_up.status_code == 201
    ticket = open_(client, world, wait=True).json()
    # Two departures in the last 15 minutes: one every 450 s, and this place is second.
    assert (ticket["position"], ticket["estimate_seconds"]) == (1, 450)


def test_a_waiter_can_leave_and_those_behind_move_up(
    client: TestClient[Litestar], world: World
) -> None:
    held = fill(client, world)
    first = open_(client, world, wait=True).json()
    second = open_(client, world, wait=True).json()
    left = client.delete(f"/api/v1/waits/{first['wait_id']}", headers=bearer(first["ticket"]))
    assert left.status_code == 204
    assert follow(client, first).json()["error"]["code"] == "wait_left"
    assert follow(client, second).json()["position"] == 1
    log_out(client, held[0])
    assert follow(client, second).status_code == 201


def test_a_ticket_not_followed_leaves_the_line_and_gets_no_license(
    client: TestClient[Litestar], world: World, clock: FrozenClock
) -> None:
    held = fill(client, world)
    stale = open_(client, world, wait=True).json()
    clock.advance(timedelta(seconds=45))
    kept = open_(client, world, wait=True).json()
    assert kept["position"] == 2
    clock.advance(timedelta(seconds=20))  # 65 s since the first was followed
    assert follow(client, kept).json()["position"] == 1
    log_out(client, held[0])
    assert follow(client, kept).status_code == 201
    gone = follow(client, stale)
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "wait_timed_out"


def test_each_follow_keeps_the_place_a_full_ticket_timeout(
    client: TestClient[Litestar], world: World, clock: FrozenClock
) -> None:
    fill(client, world)
    ticket = open_(client, world, wait=True).json()
    for _ in range(3):  # followed every 50 s: kept for good
        clock.advance(timedelta(seconds=50))
        assert follow(client, ticket).status_code == 200
    clock.advance(timedelta(seconds=59))
    assert follow(client, ticket).json()["position"] == 1
    clock.advance(timedelta(seconds=66))  # the timeout, and the few seconds' slack
    assert follow(client, ticket).json()["error"]["code"] == "wait_timed_out"


def test_an_agent_asking_again_keeps_their_place_with_a_new_ticket(
    client: TestClient[Litestar], world: World
) -> None:
    fill(client, world)
    first = open_(client, world, wait=True).json()
    bob = open_(client, world, username="bob", password=PASSWORD, wait=True).json()
    open_(client, world, wait=True)
    again = open_(client, world, username="bob", password=PASSWORD, wait=True).json()
    assert again["wait_id"] == bob["wait_id"]
    assert (again["position"], follow(client, first).json()["position"]) == (2, 1)
    old = follow(client, bob)
    assert old.status_code == 401  # the other browser's ticket is the one that follows


def test_a_termination_seats_the_first_in_line(client: TestClient[Litestar], world: World) -> None:
    held = fill(client, world)
    ticket = open_(client, world, wait=True).json()
    ended = client.post(
        "/api/v1/accounts/acme/active-sessions/terminate",
        json={"session_ids": [held[1]["session_id"]]},
        headers=bearer(world.admin_token),
    )
    assert ended.status_code == 200, ended.text
    assert follow(client, ticket).status_code == 201


def test_a_timeout_seats_the_first_in_line_and_a_seat_not_taken_times_out(
    client: TestClient[Litestar], world: World, db: Database, clock: FrozenClock
) -> None:
    fill(client, world)  # their sessions time out after 30 minutes
    clock.advance(timedelta(minutes=29, seconds=30))
    ticket = open_(client, world, wait=True).json()
    clock.advance(timedelta(seconds=31))
    expiry.sweep_expired(db, now=clock.now())
    # Seated in the sweep; until the ticket takes it, the session lasts as the ticket would.
    active = client.get("/api/v1/accounts/acme/active-sessions", headers=bearer(world.admin_token))
    assert len(active.json()["sessions"]) == 1
    clock.advance(timedelta(seconds=61))
    expiry.sweep_expired(db, now=clock.now())
    active = client.get("/api/v1/accounts/acme/active-sessions", headers=bearer(world.admin_token))
    assert active.json()["sessions"] == []
    gone = follow(client, ticket)
    assert gone.status_code == 410


def test_a_long_poll_answers_the_session_the_moment_a_license_frees(
    client: TestClient[Litestar], world: World
) -> None:
    held = fill(client, world)
    ticket = open_(client, world, wait=True).json()
    answers: list[httpx.Response] = []
    waiter = threading.Thread(target=lambda: answers.append(follow(client, ticket, 30)))
    waiter.start()
    log_out(client, held[2])
    waiter.join(60)
    assert [a.status_code for a in answers] == [201]


def test_a_long_poll_answers_when_the_place_moves_up(
    client: TestClient[Litestar], world: World
) -> None:
    fill(client, world)
    first = open_(client, world, wait=True).json()
    second = open_(client, world, wait=True).json()
    answers: list[httpx.Response] = []
    waiter = threading.Thread(target=lambda: answers.append(follow(client, second, 30)))
    waiter.start()
    left = client.delete(f"/api/v1/waits/{first['wait_id']}", headers=bearer(first["ticket"]))
    assert left.status_code == 204
    waiter.join(60)
    assert [(a.status_code, a.json()["position"]) for a in answers] == [(200, 1)]


def test_a_long_poll_with_nothing_moving_answers_the_place_at_its_timeout(
    client: TestClient[Litestar], world: World
) -> None:
    fill(client, world)
    ticket = open_(client, world, wait=True).json()
    answer = follow(client, ticket, 0.5)
    assert (answer.status_code, answer.json()["position"]) == (200, 1)


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v1/waits/abc", {}, 404),
        ("/api/v1/waits/1", {"timeout": "31"}, 400),
        ("/api/v1/waits/1", {"timeout": "-1"}, 400),
        ("/api/v1/waits/1", {"timeout": "<script>"}, 400),
        ("/api/v1/waits/1", {"timeout": "1", "": "null"}, 400),
        ("/api/v1/waits/1", {"wait": "1"}, 400),
    ],
)
def test_bad_follows_are_refused(
    client: TestClient[Litestar], world: World, path: str, params: dict[str, str], code: int
) -> None:
    fill(client, world)
    ticket = open_(client, world, wait=True).json()
    answer = client.get(path, params=params, headers=bearer(ticket["ticket"]))
    assert answer.status_code == code, answer.text
    assert follow(client, ticket).json()["position"] == 1  # nothing changed


def test_a_ticket_follows_only_its_own_place(client: TestClient[Litestar], world: World) -> None:
    fill(client, world)
    mine = open_(client, world, wait=True).json()
    other = open_(client, world, wait=True).json()
    assert follow(client, {**mine, "ticket": "sk_wait_forged"}).status_code == 401
    assert follow(client, {**other, "ticket": mine["ticket"]}).status_code == 404
    left = client.delete(f"/api/v1/waits/{other['wait_id']}", headers=bearer(mine["ticket"]))
    assert left.status_code == 404
    assert follow(client, other).json()["position"] == 2


@pytest.mark.parametrize("wait", ["yes", None, {"a": 1}, [True], "<b>true</b>"])
def test_wait_must_be_true_or_false(
    client: TestClient[Litestar], world: World, wait: object
) -> None:
    fill(client, world)
    refused = open_(client, world, wait=wait)
    assert refused.status_code == 400, refused.text
    assert open_(client, world, wait=True).json()["position"] == 1  # nobody was put in line


def test_a_move_up_within_a_long_polls_quiet_time_is_told_at_its_end_with_the_new_place(
    client: TestClient[Litestar], world: World, app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(waits_api, "MOVE_GAP", 60.0)  # longer than the poll
    fill(client, world)
    first = open_(client, world, wait=True).json()
    second = open_(client, world, wait=True).json()
    answers: list[httpx.Response] = []
    waiter = threading.Thread(target=lambda: answers.append(follow(client, second, 1)))
    waiter.start()
    wait_until(lambda: app.state.hub._watchers.get(world.acme.id), "the long poll to watch")
    left = client.delete(f"/api/v1/waits/{first['wait_id']}", headers=bearer(first["ticket"]))
    assert left.status_code == 204
    waiter.join(PATIENCE)
    # Told at the poll's end, not at once; and where the place is now, not where it was.
    assert [(a.status_code, a.json()["position"]) for a in answers] == [(200, 1)]


def test_places_woken_together_are_looked_at_together(
    client: TestClient[Litestar], world: World, db: Database, clock: FrozenClock
) -> None:
    fill(client, world)
    tickets = [open_(client, world, wait=True).json() for _ in range(4)]
    left = client.delete(
        f"/api/v1/waits/{tickets[1]['wait_id']}", headers=bearer(tickets[1]["ticket"])
    )
    assert left.status_code == 204
    ids = [t["wait_id"] for t in tickets]
    pace = line.Departures()
    looks = line.states(db, clock, pace, ids)
    assert looks == [(None, 0, 0), (WaitOutcome.LEFT, 0, 0), (None, 1, 0), (None, 2, 0)]

    clock.advance(timedelta(seconds=45))
    assert follow(client, tickets[3]).json()["position"] == 3
    clock.advance(timedelta(seconds=20))  # the others not followed for 65 s: none ahead
    answers = line.states(db, clock, pace, [ids[3], ids[1], 10_000, ids[0]])
    assert answers[:2] == [(None, 0, 0), (WaitOutcome.LEFT, 0, 0)]
    assert isinstance(answers[2], WaitNotFound)
    assert answers[3] == (None, 0, 0)  # not followed in time, not ended yet: no one ahead
