"""Seat groups hold when server processes race on one database (SQLite file or PostgreSQL):
members, other agents and Guests opening and logging out at once never pass the licenses and
the overdraft, never take a reservation they are not a member of, never pass a maximum."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from seatkeeper.clock import SystemClock
from seatkeeper.domain.model import Role, SettingsChange
from seatkeeper.services import accounts
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.settings import change_settings
from seatkeeper.services.users import add_user
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions, denials, users
from tests.concurrency import race
from tests.conftest import bearer
from tests.servers import running_servers
from tests.services.test_seating import add_group
from tests.waiting import PATIENCE

LICENSES, OVERDRAFT = 8, 2
RESERVED, GUESTS_MAXIMUM = 3, 2
PROCESSES = 4
CLIENTS = 24
MEMBERS = [f"member{n}" for n in range(5)]
OTHERS = [f"other{n}" for n in range(6)]
PASSWORD = "race-password"
# The race runs until the pool has churned, and each kind of refusal has been answered.
OPENS, FULL, AT_MAXIMUM = 60, 10, 5
EXPECTED = {"200", "201", "409 license_limit_reached", "409 group_limit_reached", "503 logins_busy"}


def test_racing_members_others_and_guests_keep_every_group_rule(
    db_url: str, tmp_path: Path
) -> None:
    db = Database(db_url)
    now = SystemClock().now()
    account = accounts.create_account(
        db, OPERATOR, slug="race", name="Race", licenses=LICENSES, time_zone="UTC", now=now
    )
    change_settings(db, OPERATOR, "race", SettingsChange(overdraft=OVERDRAFT), now=now)
    passwords = Passwords(fast=True)
    for name in MEMBERS + OTHERS:
        add_user(
            db, passwords, OPERATOR, "race",
            username=name, password=PASSWORD, role=Role.AGENT, now=now,
        )  # fmt: skip
    billing = add_group(db, account.id, "Billing", reserved=RESERVED, members=MEMBERS)
    guests = add_group(db, account.id, "Guests", guests=True, maximum=GUESTS_MAXIMUM)
    key = accounts.create_application_key(db, OPERATOR, account_slug="race", name="race", now=now)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    problems: list[str] = []

    def client(n: int, base_urls: list[str]) -> None:
        try:
            open_and_leave(random.Random(n), base_urls)
        except BaseException as exc:  # said by the assertions, not lost in a thread
            with lock:
                problems.append(f"client {n}: {exc!r}")

    def open_and_leave(rng: random.Random, base_urls: list[str]) -> None:
        with httpx.Client(timeout=PATIENCE) as http:
            while not stop.is_set():
                who = rng.choice([*MEMBERS, *OTHERS, None, None, None, None])
                body = {} if who is None else {"username": who, "password": PASSWORD}
                r = http.post(
                    f"{rng.choice(base_urls)}/api/v1/sessions", json=body, headers=bearer(key)
                )
                said = str(r.status_code)
                if r.status_code >= 400:
                    said += " " + r.json()["error"]["code"]
                with lock:
                    outcomes[said] += 1
                if r.status_code == 503:  # every password check is taken: as told
                    time.sleep(float(r.headers["retry-after"]) * rng.random())
                if r.status_code != 201:  # a join (200) is left to the session's opener
                    continue
                time.sleep(rng.random() * 0.01)
                opened = r.json()
                bye = http.delete(
                    f"{rng.choice(base_urls)}/api/v1/sessions/{opened['session_id']}",
                    headers=bearer(opened["token"]),
                )
                if bye.status_code != 204:
                    with lock:
                        problems.append(f"logout answered {bye.status_code}: {bye.text}")

    def done() -> bool:
        with lock:
            return bool(problems or set(outcomes) - EXPECTED) or (
                outcomes["201"] >= OPENS
                and outcomes["409 license_limit_reached"] >= FULL
                and outcomes["409 group_limit_reached"] >= AT_MAXIMUM
            )

    with running_servers(db_url, PROCESSES, tmp_path) as base_urls:
        threads = [threading.Thread(target=client, args=(n, base_urls)) for n in range(CLIENTS)]
        race(threads, stop, done=done, work=lambda: dict(outcomes))

    assert problems == []
    assert set(outcomes) <= EXPECTED, outcomes
    with db.read() as conn:
        rows = conn.execute(
            select(agent_sessions, users.c.username).outerjoin(
                users, users.c.id == agent_sessions.c.user_id
            )
        ).all()
        refused = len(conn.execute(select(denials.c.id)).all())
    db.dispose()
    assert len(rows) == outcomes["201"]
    assert refused == outcomes["409 license_limit_reached"] + outcomes["409 group_limit_reached"]
    assert all(r.ended_at is not None for r in rows)
    for r in rows:  # each session counts under the group the rules give its agent
        if r.username in MEMBERS:
            assert r.group_id == billing
        else:
            assert not r.reserved and r.group_id == (None if r.username else guests)
    check_history(rows, billing)


def check_history(rows: Sequence[Any], billing: int) -> None:
    """At every open, what was open then keeps every rule: claims and logouts are timed
    under the lock that orders them."""
    for started in {r.started_at for r in rows}:
        now_open = [
            r
            for r in rows
            if r.started_at <= started and (r.ended_at is None or r.ended_at > started)
        ]
        held = Counter(
            "guest" if r.username is None else "reserved" if r.reserved else "free"
            for r in now_open
        )
        assert len(now_open) <= LICENSES + OVERDRAFT, held
        assert held["reserved"] <= RESERVED, held
        assert held["free"] + held["guest"] <= LICENSES + OVERDRAFT - RESERVED, held
        assert held["guest"] <= GUESTS_MAXIMUM, held
        assert all(r.username in MEMBERS and r.group_id == billing for r in now_open if r.reserved)
