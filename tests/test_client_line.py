"""The Python client waiting in line for a license: against a real server (acme, 3 licenses),
and against a server answering what the API does not say (a scripted transport)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import select

from seatkeeper.client import (
    Client,
    LicenseLimitReached,
    LineTimeout,
    Place,
    Session,
    WaitEnded,
    WaitTimedOut,
)
from seatkeeper.clock import FrozenClock
from seatkeeper.services import line
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import waits
from tests.conftest import PASSWORD, World
from tests.servers import served
from tests.waiting import PATIENCE, wait_until


@pytest.fixture
def base_url(app: Litestar) -> Iterator[str]:
    with served(app) as url:
        yield url


class Waiter:
    """One agent application waiting in line from a thread: the positions it was told, and
    the session (or the error) it ended with."""

    def __init__(self, client: Client, **options: Any) -> None:
        self.positions: list[int] = []
        self.places: list[Place] = []
        self.outcome: Session | BaseException | None = None
        self.client = client
        self.thread = threading.Thread(target=self._wait, kwargs=options)
        self.thread.start()

    def _wait(self, **options: Any) -> None:
        try:
            self.outcome = self.client.open_session(wait=True, on_position=self._told, **options)
        except BaseException as exc:  # said by the test's assertions
            self.outcome = exc

    def _told(self, place: Place) -> None:
        self.places.append(place)
        self.positions.append(place.position)

    def result(self) -> Session | BaseException | None:
        self.thread.join(PATIENCE)
        assert not self.thread.is_alive(), "the waiter did not stop"
        return self.outcome


def test_waiters_are_seated_in_turn_as_sessions_log_out(base_url: str, world: World) -> None:
    with Client(base_url, world.app_key, timeout=PATIENCE) as client:
        held = [client.open_session() for _ in range(3)]
        first = Waiter(client)
        wait_until(lambda: first.positions == [1], "the first waiter's place")
        second = Waiter(client)
        wait_until(lambda: second.positions == [2], "the second waiter's place")
        assert first.places[0].ahead == 0 and second.places[0].ahead == 1

        held[0].logout()
        seated = first.result()
        assert isinstance(seated, Session), seated
        assert (seated.agent_id, seated.joined) == (None, False)
        assert seated.heartbeat() == seated.expires_at  # its token carries the session
        wait_until(lambda: second.positions == [2, 1], "the second waiter to move up")
        assert second.outcome is None  # still waiting: every license is held

        held[1].logout()
        assert isinstance(second.result(), Session)
        assert first.positions == [1]  # told once: the place never moved


def test_an_agent_waits_as_themselves(base_url: str, world: World) -> None:
    with Client(base_url, world.app_key, timeout=PATIENCE) as client:
        held = [client.open_session() for _ in range(3)]
        carol = Waiter(client, username="carol", password=PASSWORD)
        wait_until(lambda: carol.positions == [1], "carol's place")
        held[2].logout()
        seated = carol.result()
        assert isinstance(seated, Session) and seated.agent_id == "carol"


def test_a_timeout_gives_the_place_up_to_the_next_in_line(
    base_url: str, world: World, db: Database
) -> None:
    with Client(base_url, world.app_key, timeout=PATIENCE) as client:
        held = [client.open_session() for _ in range(3)]
        with pytest.raises(LineTimeout) as gave_up:
            client.open_session(wait=True, timeout=0.2)
        # A full pool, as code handling LicenseLimitReached expects.
        assert isinstance(gave_up.value, LicenseLimitReached)
        assert (gave_up.value.status, gave_up.value.code) == (409, "line_timeout")
        assert "Still waiting in line" in gave_up.value.message
        with db.read() as conn:
            outcome = conn.execute(
                select(waits.c.outcome).where(waits.c.id == gave_up.value.place.wait_id)
            ).scalar_one()
        assert outcome == "left"

        behind = Waiter(client)
        wait_until(lambda: behind.positions == [1], "the next waiter to be first")
        held[0].logout()
        assert isinstance(behind.result(), Session)

        with pytest.raises(LicenseLimitReached):  # the pool is full again
            client.open_session()


def test_a_place_not_followed_in_time_raises_wait_timed_out(
    base_url: str, world: World, db: Database, clock: FrozenClock
) -> None:
    with Client(base_url, world.app_key, timeout=PATIENCE) as client:
        for _ in range(3):
            client.open_session()
        waiter = Waiter(client)
        wait_until(lambda: waiter.positions == [1], "the waiter's place")

        def let_go() -> bool:
            """Time passes beyond the place's deadline (a long poll counts as following while
            it lasts, so the deadline is a poll and 60 s away), and the line's housekeeping
            lets the place go; its follow hears of it."""
            with db.read() as conn:
                deadline = conn.execute(select(waits.c.expires_at)).scalar_one()
            if clock.now() <= deadline:
                clock.advance(deadline - clock.now() + timedelta(seconds=1))
            line.keep(db, clock.now())
            return not waiter.thread.is_alive()

        wait_until(let_go, "the place not followed in time to be let go")
        ended = waiter.result()
        assert isinstance(ended, WaitTimedOut), ended
        assert isinstance(ended, WaitEnded) and ended.code == "wait_timed_out"


def test_without_wait_a_full_pool_still_refuses(base_url: str, world: World) -> None:
    with Client(base_url, world.app_key, timeout=PATIENCE) as client:
        for _ in range(3):
            client.open_session()
        with pytest.raises(LicenseLimitReached) as full:
            client.open_session()
        assert type(full.value) is LicenseLimitReached
        with pytest.raises(ValueError):
            client.open_session(timeout=5)  # a timeout is for waiting
        with pytest.raises(ValueError):
            client.open_session(wait=True, timeout=-1)
