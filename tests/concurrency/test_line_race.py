"""The line for a license holds when server processes race on one database (SQLite file or
PostgreSQL): many clients wait in line on every instance while the licenses' holders log out
on the others, and opens that do not wait keep trying. Every waiter is seated once, in the
order it asked, the licenses are never passed, and no open jumps the line."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from seatkeeper.client import Client, Place
from seatkeeper.clock import SystemClock
from seatkeeper.services import accounts
from seatkeeper.services.access import OPERATOR
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions, waits
from tests.concurrency import max_concurrent, race
from tests.conftest import bearer
from tests.servers import running_servers
from tests.waiting import PATIENCE

LICENSES = 3
WAITERS = 12
OPENERS = 2  # clients opening without waiting, all along
# The race runs until every waiter was seated and logged out, and opens that do not wait
# were refused a few times meanwhile.
REFUSALS = 5
Work = Callable[[random.Random, httpx.Client, list[str]], None]  # what one racer does


def test_waiters_on_every_instance_are_seated_once_in_the_order_they_asked(
    db_url: str, tmp_path: Path
) -> None:
    db = Database(db_url)
    now = SystemClock().now()
    accounts.create_account(
        db, OPERATOR, slug="race", name="Race", licenses=LICENSES, time_zone="UTC", now=now
    )
    key = accounts.create_application_key(db, OPERATOR, account_slug="race", name="race", now=now)
    processes = 3 if db_url.startswith("sqlite") else 2
    lock = threading.Lock()
    stop = threading.Event()
    problems: list[str] = []
    asked: dict[int, int] = {}  # a waiter's wait id, by waiter
    seated: dict[int, str] = {}  # the session a ticket took, by wait id
    at_once: list[str] = []  # waiters answered a session at once (the line was empty)
    opens: Counter[str] = Counter()  # opens that did not wait, by answer

    def log_out(http: httpx.Client, base: str, session_id: str, token: str) -> None:
        bye = http.delete(f"{base}/api/v1/sessions/{session_id}", headers=bearer(token))
        if bye.status_code != 204:
            with lock:
                problems.append(f"logout answered {bye.status_code}: {bye.text}")

    def racer(name: str, work: Work) -> Callable[[list[str]], None]:
        def run(base_urls: list[str]) -> None:
            rng = random.Random(name)
            try:
                with httpx.Client(timeout=PATIENCE) as http:
                    work(rng, http, base_urls)
                stop.wait()  # the work is done: idle until the race ends
            except BaseException as exc:  # said by the assertions, not lost in a thread
                with lock:
                    problems.append(f"{name}: {exc!r}")

        return run

    def waiter(n: int) -> Work:
        def work(rng: random.Random, http: httpx.Client, base_urls: list[str]) -> None:
            own = base_urls[n % len(base_urls)]

            def told(place: Place) -> None:
                with lock:
                    asked.setdefault(n, place.wait_id)

            with Client(own, key, timeout=PATIENCE) as client:
                session = client.open_session(wait=True, on_position=told)
            with lock:
                if n in asked:
                    seated[asked[n]] = session.session_id
                else:
                    at_once.append(session.session_id)
            stop.wait(rng.random() * 0.05)  # works a moment, then frees it on another
            other = base_urls[(n + 1) % len(base_urls)]
            log_out(http, other, session.session_id, session.token)

        return work

    def holders(rng: random.Random, http: httpx.Client, base_urls: list[str]) -> None:
        held = []
        for _ in range(LICENSES):
            r = http.post(f"{base_urls[0]}/api/v1/sessions", json={}, headers=bearer(key))
            assert r.status_code == 201, r.text
            held.append(r.json())
        ready.set()
        while not asked and not stop.wait(0.01):  # someone waits before the first leaves
            pass
        for n, session in enumerate(held):
            stop.wait(rng.random() * 0.05)
            base = base_urls[1 + n % (len(base_urls) - 1)]  # not where they opened
            log_out(http, base, session["session_id"], session["token"])

    def opener(rng: random.Random, http: httpx.Client, base_urls: list[str]) -> None:
        while not stop.wait(0.01):
            r = http.post(f"{rng.choice(base_urls)}/api/v1/sessions", json={}, headers=bearer(key))
            said = str(r.status_code)
            if r.status_code >= 400:
                said += " " + r.json()["error"]["code"]
            with lock:
                opens[said] += 1
            if r.status_code == 201:
                opened = r.json()
                log_out(http, rng.choice(base_urls), opened["session_id"], opened["token"])

    def done() -> bool:
        with lock:
            finished = len(seated) + len(at_once) == WAITERS
            return bool(problems) or (finished and opens["409 license_limit_reached"] >= REFUSALS)

    ready = threading.Event()
    with running_servers(db_url, processes, tmp_path) as base_urls:
        first = threading.Thread(target=racer("holders", holders), args=(base_urls,))
        first.start()  # every license held before anyone asks
        ready.wait(PATIENCE)
        threads = [
            *[
                threading.Thread(target=racer(f"waiter {n}", waiter(n)), args=(base_urls,))
                for n in range(WAITERS)
            ],
            *[
                threading.Thread(target=racer(f"opener {n}", opener), args=(base_urls,))
                for n in range(OPENERS)
            ],
        ]
        race(threads, stop, done=done, work=lambda: (len(seated), len(at_once), dict(opens)))
        first.join(PATIENCE)

    assert problems == []
    assert set(opens) <= {"201", "409 license_limit_reached"}, opens
    with db.read() as conn:
        places = conn.execute(select(waits).order_by(waits.c.id)).all()
        sessions = conn.execute(select(agent_sessions)).all()
    db.dispose()
    check_line(places, sessions, seated)
    # The licenses were never passed, at any instant of the history.
    assert max_concurrent((s.started_at, s.ended_at) for s in sessions) <= LICENSES
    assert all(s.ended_at is not None for s in sessions)


def check_line(places: Sequence[Any], sessions: Sequence[Any], seated: dict[int, str]) -> None:
    """From the stored line and sessions: each place seated once, in a session of its own
    (the one its ticket took), first asked first seated, and no other session opened while
    anyone waited."""
    assert [p.outcome for p in places] == ["seated"] * len(places)
    assert {p.id: str(p.session_id) for p in places} == seated
    stored = {str(s.id) for s in sessions}
    assert set(seated.values()) <= stored and len(set(seated.values())) == len(places)
    # Ordered by wait id (the order asked), the places were seated one after the other...
    assert [p.ended_at for p in places] == sorted(p.ended_at for p in places)
    for p in places:  # ...and none while one asked before it still waited
        passed = [q.id for q in places if q.id < p.id and q.ended_at > p.ended_at]
        assert passed == [], (p.id, passed)
    from_line = set(seated.values())
    for s in sessions:
        if str(s.id) in from_line:
            continue
        waiting = [p.id for p in places if p.asked_at < s.started_at < p.ended_at]
        assert waiting == [], f"session {s.id} opened at {s.started_at} while {waiting} waited"
