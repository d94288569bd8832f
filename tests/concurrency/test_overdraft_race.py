"""Filling an account's pool from empty with server processes racing: exactly the licenses
and the overdraft open, and exactly the overdraft's sessions marked, the last to open."""

from __future__ import annotations

import random
import threading
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import select

from seatkeeper.clock import SystemClock
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services import accounts
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions
from tests.concurrency import race
from tests.conftest import bearer
from tests.servers import running_servers
from tests.waiting import PATIENCE

LICENSES = 10
OVERDRAFT = 4
PROCESSES = 4
CLIENTS = 32
# The pool is full once every client has been refused a few times after it filled.
REFUSALS = 3 * CLIENTS
FULL = "All 10 licenses and the overdraft of 4 are in use."


def test_a_pool_filled_by_racing_processes_holds_licenses_and_overdraft_exactly(
    db_url: str, tmp_path: Path
) -> None:
    db = Database(db_url)
    now = SystemClock().now()
    accounts.create_account(
        db, OPERATOR, slug="race", name="Race", licenses=LICENSES, time_zone="UTC", now=now
    )
    change_settings(db, OPERATOR, "race", SettingsChange(overdraft=OVERDRAFT), now=now)
    key = accounts.create_application_key(db, OPERATOR, account_slug="race", name="race", now=now)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    problems: list[str] = []

    def client(n: int, base_urls: list[str]) -> None:
        rng = random.Random(n)
        try:
            with httpx.Client(timeout=PATIENCE) as http:
                while not stop.is_set():
                    base = rng.choice(base_urls)
                    r = http.post(f"{base}/api/v1/sessions", json={}, headers=bearer(key))
                    said = "" if r.status_code == 201 else r.json()["error"]["message"]
                    with lock:
                        outcomes[f"{r.status_code} {said[: len(FULL)]}".strip()] += 1
        except BaseException as exc:  # said by the assertions, not lost in a thread
            with lock:
                problems.append(f"client {n}: {exc!r}")

    def done() -> bool:
        with lock:
            return bool(problems) or outcomes[f"409 {FULL}"] >= REFUSALS

    with running_servers(db_url, PROCESSES, tmp_path) as base_urls:
        threads = [threading.Thread(target=client, args=(n, base_urls)) for n in range(CLIENTS)]
        race(threads, stop, done=done, work=lambda: dict(outcomes))

    assert problems == []
    assert set(outcomes) == {"201", f"409 {FULL}"}, outcomes
    assert outcomes["201"] == LICENSES + OVERDRAFT, outcomes
    s = agent_sessions.c
    with db.read() as conn:
        rows = conn.execute(select(s.started_at, s.overdraft).where(s.ended_at.is_(None))).all()
    db.dispose()
    assert len(rows) == LICENSES + OVERDRAFT
    marked = [r.started_at for r in rows if r.overdraft]
    licensed = [r.started_at for r in rows if not r.overdraft]
    assert len(marked) == OVERDRAFT
    # Claims are timed under the lock that orders them: the marked ones opened last.
    assert max(licensed) <= min(marked)
