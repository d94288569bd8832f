"""Live updates: the change feed on both backends, the event stream, and the sweep."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import EndReason
from seatkeeper.services import agents, expiry
from seatkeeper.services.feed import follow
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage import changes, sessions
from seatkeeper.storage.db import Database
from seatkeeper.web.live import Hub
from tests.conftest import PASSWORD, World, bearer
from tests.servers import served
from tests.waiting import PATIENCE

RESYNC = -1  # what `feed` reports when the feed asks everything to be refreshed


@pytest.fixture
def feed(db: Database, clock: FrozenClock, world: World) -> Iterator[queue.Queue[int]]:
    """The account ids the change feed reports, as another instance would see them, from
    once the world is set up (making its users is a change too)."""
    seen: queue.Queue[int] = queue.Queue()
    stop, ready = threading.Event(), threading.Event()
    follower = threading.Thread(
        target=follow,
        args=(db, seen.put, stop),
        kwargs={"now": clock.now, "ready": ready, "on_resync": lambda: seen.put(RESYNC)},
        daemon=True,
    )
    follower.start()
    assert ready.wait(PATIENCE)
    yield seen
    stop.set()
    follower.join(PATIENCE)


def next_change(seen: queue.Queue[int]) -> int:
    return seen.get(timeout=PATIENCE)


def reported(seen: queue.Queue[int], expected: set[int]) -> set[int]:
    """The accounts the feed reports until it has reported each of `expected` (however
    long that takes) and then been quiet for a second: the caller compares them.

    (Changes close together may be reported once: it only says that an account changed.)
    """
    found: set[int] = set()
    while not expected <= found:
        found.add(next_change(seen))
    while True:
        try:
            found.add(seen.get(timeout=1))
        except queue.Empty:
            return found


def test_the_feed_reports_each_change_to_an_account(
    feed: queue.Queue[int], db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    assert feed.empty()
    opened = agents.open_session(
        db, passwords, application_key=world.app_key, credentials=None, clock=clock
    )
    assert next_change(feed) == world.acme.id
    token, sid = opened.token, str(opened.session.id)
    agents.heartbeat(db, token=token, session_id=sid, clock=clock)  # not a change of the grid:
    agents.open_session(
        db, passwords, application_key=world.globex_app_key, credentials=None, clock=clock
    )
    assert next_change(feed) == world.globex.id  # the next change is the next one reported
    item = agents.open_interaction(db, token=token, session_id=sid, flow="New Order", clock=clock)
    assert next_change(feed) == world.acme.id
    agents.close_interaction(
        db, token=token, session_id=sid, interaction_id=str(item.id), clock=clock
    )
    assert next_change(feed) == world.acme.id
    agents.logout(db, token=token, session_id=sid, clock=clock)
    assert next_change(feed) == world.acme.id
    # Nothing else happened: again, the next change is the next one reported. (Waiting a
    # while for nothing to come would prove nothing on a busy machine.)
    agents.open_session(
        db, passwords, application_key=world.globex_app_key, credentials=None, clock=clock
    )
    assert next_change(feed) == world.globex.id


def test_the_hub_nudges_only_the_account_watchers() -> None:
    async def scenario() -> tuple[bool, bool]:
        hub = Hub()
        hub.attach(asyncio.get_running_loop())
        with hub.watch(1) as one, hub.watch(2) as two:
            hub.publish(1)
            hub.publish(1)  # folded into one nudge
            await asyncio.sleep(0)  # the nudges, queued before this task's next step, run
            return one.qsize() == 1, two.empty()

    # Its own loop, in its own thread: the browser tests' loop may be running in this one.
    result: list[tuple[bool, bool]] = []
    runner = threading.Thread(target=lambda: result.append(asyncio.run(scenario())))
    runner.start()
    runner.join(PATIENCE)
    assert result == [(True, True)]


def test_the_sweep_ends_timed_out_sessions_once_even_when_every_instance_sweeps(
    feed: queue.Queue[int], db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    quiet = [
        agents.open_session(db, passwords, application_key=key, credentials=None, clock=clock)
        for key in (world.app_key, world.app_key, world.globex_app_key)
    ]
    clock.advance(timedelta(minutes=10))
    busy = agents.open_session(
        db, passwords, application_key=world.app_key, credentials=None, clock=clock
    )
    both = {world.acme.id, world.globex.id}
    assert reported(feed, both) == both
    clock.advance(timedelta(minutes=25))  # 35 minutes for the quiet ones, 25 for the busy one
    results: list[int] = []
    sweepers = [
        threading.Thread(target=lambda: results.append(expiry.sweep_expired(db, now=clock.now())))
        for _ in range(4)
    ]
    for t in sweepers:
        t.start()
    for t in sweepers:
        t.join(PATIENCE)
    assert sum(results) == 3  # each quiet session once, whoever swept it
    with db.read() as conn:
        found = sessions.sessions_by_id(conn, world.acme.id, [q.session.id for q in quiet[:2]])
        live = sessions.sessions_by_id(conn, world.acme.id, [busy.session.id])
    for opened in quiet[:2]:
        ended = found[opened.session.id]
        assert (ended.end_reason, ended.ended_at) == (EndReason.TIMEOUT, opened.session.expires_at)
    assert live[busy.session.id].ended_at is None
    assert reported(feed, both) == both  # both hear of their sessions' end


def log_in(browser: httpx.Client, account: str, username: str) -> None:
    """Log in with the login form, as a browser does (the cookie stays in `browser`)."""
    form = browser.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    answer = browser.post(
        "/login",
        data={
            "account": account,
            "username": username,
            "password": PASSWORD,
            "csrf_token": token.group(1),
        },
    )
    assert answer.status_code == 303, answer.text  # on to the page


def follow_events(browser: httpx.Client, heard: Callable[[str], object]) -> None:
    """Follow acme's Active Agents event stream until it ends, telling `heard` each event."""
    with browser.stream("GET", "/accounts/acme/active-agents/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                heard(line.removeprefix("event: "))


@pytest.fixture
def server(app: Litestar) -> Iterator[str]:
    with served(app) as url:
        yield url


def test_the_event_stream_says_changed_when_the_account_changes(server: str, world: World) -> None:
    with httpx.Client(base_url=server, timeout=PATIENCE) as browser:
        log_in(browser, "acme", "admin")
        events: queue.Queue[str] = queue.Queue()

        def listen() -> None:
            with browser.stream("GET", "/accounts/acme/active-agents/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                heard = 0
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        events.put(line.removeprefix("event: "))
                        heard += 1
                        if heard == 2:
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert events.get(timeout=PATIENCE) == "ready"
        opened = httpx.post(
            f"{server}/api/v1/sessions", json={}, headers=bearer(world.app_key), timeout=PATIENCE
        )
        assert opened.status_code == 201
        assert events.get(timeout=PATIENCE) == "changed"
        listener.join(PATIENCE)


def test_the_event_stream_needs_an_admin_of_the_account(server: str, world: World) -> None:
    anonymous = httpx.get(
        f"{server}/accounts/acme/active-agents/events", follow_redirects=False, timeout=PATIENCE
    )
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")
    with httpx.Client(base_url=server, timeout=PATIENCE) as browser:
        log_in(browser, "globex", "gadmin")
        foreign: Any = browser.get("/accounts/acme/active-agents/events")
        assert foreign.status_code == 404


def test_the_feed_comes_back_after_losing_its_connection(
    feed: queue.Queue[int], db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's feed has no connection to lose")
    with db.write() as conn:
        cut = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": changes.LISTENER},
        ).scalar_one()
    assert cut == 1
    # Whatever changed while it was away was not reported: it asks for a full refresh...
    assert feed.get(timeout=PATIENCE) == RESYNC
    agents.open_session(db, passwords, application_key=world.app_key, credentials=None, clock=clock)
    assert next_change(feed) == world.acme.id  # ...and follows again


def test_the_event_stream_ends_with_the_login_even_on_a_busy_account(
    server: str, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    page_module = sys.modules["seatkeeper.web.pages.active_agents"]
    monkeypatch.setattr(page_module, "RECHECK_SECONDS", 0.5)
    ended = threading.Event()
    events: queue.Queue[str] = queue.Queue()
    with httpx.Client(base_url=server, timeout=PATIENCE) as browser:
        log_in(browser, "acme", "admin")

        def listen() -> None:
            follow_events(browser, events.put)
            ended.set()

        threading.Thread(target=listen, daemon=True).start()
        assert events.get(timeout=PATIENCE) == "ready"
        page = browser.get("/accounts/acme/active-agents").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf
        assert browser.post("/logout", data={"csrf_token": csrf.group(1)}).status_code == 303
        deadline = time.monotonic() + PATIENCE
        with httpx.Client(base_url=server, timeout=PATIENCE) as agent:
            while not ended.is_set() and time.monotonic() < deadline:
                # Changes keep coming, every 0.2 s: the stream must not live on them.
                agent.post("/api/v1/sessions", json={}, headers=bearer(world.app_key))
                ended.wait(0.2)
                agent.post(
                    "/api/v1/accounts/acme/active-sessions/terminate",
                    json={"session_ids": [str(uuid4())]},
                    headers=bearer(world.admin_token),
                )
        assert ended.is_set()


def test_a_churning_account_pushes_at_most_one_change_a_second(server: str, world: World) -> None:
    """Interactions open and close many times a second; each viewer hears of it about once a
    second, not once a change (every push makes the page fetch the grid)."""
    events: queue.Queue[tuple[str, float]] = queue.Queue()
    with httpx.Client(base_url=server, timeout=PATIENCE) as browser:
        log_in(browser, "acme", "admin")

        def listen() -> None:
            with contextlib.suppress(httpx.HTTPError):  # closed with the browser, at the end
                follow_events(browser, lambda event: events.put((event, time.monotonic())))

        threading.Thread(target=listen, daemon=True).start()
        assert events.get(timeout=PATIENCE)[0] == "ready"
        changes, began = 0, time.monotonic()
        with httpx.Client(base_url=server, timeout=PATIENCE) as agent:
            opened = agent.post("/api/v1/sessions", json={}, headers=bearer(world.app_key))
            assert opened.status_code == 201, opened.text
            body = opened.json()
            token = {"Authorization": f"Bearer {body['token']}"}
            path = f"/api/v1/sessions/{body['session_id']}/interactions"
            while time.monotonic() - began < 3.5 or changes < 40:  # a slow machine: longer
                flow = agent.post(path, json={"flow": "Refund"}, headers=token)
                assert flow.status_code == 201, flow.text
                closed = agent.delete(f"{path}/{flow.json()['interaction_id']}", headers=token)
                assert closed.status_code == 204
                changes += 2
        lasted = time.monotonic() - began
        heard: list[float] = []
        while True:
            try:
                heard.append(events.get(timeout=1.5)[1])
            except queue.Empty:
                break
    assert changes > 2 * len(heard)  # many changes, fewer pushes
    assert 2 <= len(heard) <= lasted + 2
    # One a second, at most. The times are the listener's: on a busy machine one push can
    # reach it late and the next on time, so a single gap may look short; the mean gap
    # cannot, since a late push shortens one gap only by lengthening the one before it.
    assert (heard[-1] - heard[0]) / (len(heard) - 1) >= 0.9, heard
