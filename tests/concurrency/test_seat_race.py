"""The license cap holds when server processes race on one database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from datetime import UTC, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from seatkeeper.clock import SystemClock
from seatkeeper.domain.model import Role, SettingsChange
from seatkeeper.services import accounts
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.settings import change_settings
from seatkeeper.services.users import add_user
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions, denials
from tests.concurrency import max_concurrent, race
from tests.conftest import bearer
from tests.servers import running_servers
from tests.waiting import PATIENCE

CAP = 10
PROCESSES = 4
# The race runs until it has done this much: every license claimed and freed ten times
# over, and claims refused because the pool was full. (An idle machine does it in a few
# seconds; a busy one takes longer, and the race simply runs longer.)
CLAIMS = 10 * CAP
REFUSALS = CAP
AGENTS = [f"agent{n:02}" for n in range(12)]
# A full pool refuses; so, at once, does a server whose password checks are all taken.
EXPECTED = {"200", "201", "409 license_limit_reached", "503 logins_busy"}
PASSWORD = "race-password"


@pytest.mark.parametrize(
    ("clients", "overdraft"), [(24, 0), (64, 0), (24, 3)], ids=["24", "64", "24-overdraft"]
)
def test_four_server_processes_never_open_more_sessions_than_licenses(
    db_url: str, tmp_path: Path, clients: int, overdraft: int
) -> None:
    url = db_url
    db = Database(url)
    now = SystemClock().now()
    accounts.create_account(
        db, OPERATOR, slug="race", name="Race", licenses=CAP, time_zone="UTC", now=now
    )
    if overdraft:
        change = SettingsChange(overdraft=overdraft)
        change_settings(db, OPERATOR, "race", change, now=now)
    passwords = Passwords(fast=True)
    for name in AGENTS:
        add_user(
            db,
            passwords,
            OPERATOR,
            "race",
            username=name,
            password=PASSWORD,
            role=Role.AGENT,
            now=now,
        )
    key = accounts.create_application_key(db, OPERATOR, account_slug="race", name="race", now=now)

    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    samples: list[int] = []  # how many sessions were open, sampled throughout the race
    problems: list[str] = []  # what went wrong in the clients' threads

    def client(n: int, base_urls: list[str]) -> None:
        try:
            claim_and_free(n, base_urls)
        except BaseException as exc:  # said by the assertions, not lost in a thread
            with lock:
                problems.append(f"client {n}: {exc!r}")

    def claim_and_free(n: int, base_urls: list[str]) -> None:
        rng = random.Random(n)
        with httpx.Client(timeout=PATIENCE) as http:
            while not stop.is_set():
                base = rng.choice(base_urls)
                agent = rng.choice(AGENTS) if rng.random() < 0.4 else None
                body = {"username": agent, "password": PASSWORD} if agent else {}
                r = http.post(
                    f"{base}/api/v1/sessions", json=body, headers={"Authorization": f"Bearer {key}"}
                )
                if r.status_code >= 400:  # counted with its code: an unexpected one says which
                    code = r.json()["error"]["code"]
                    with lock:
                        outcomes[f"{r.status_code} {code}"] += 1
                    if r.status_code == 503:  # every password check is taken: as told
                        time.sleep(float(r.headers["retry-after"]) * rng.random())
                    continue
                with lock:
                    outcomes[str(r.status_code)] += 1
                if r.status_code not in (200, 201):
                    continue
                opened = r.json()
                time.sleep(rng.random() * 0.01)
                # Log out from any instance; a joined agent's session may already be gone (410).
                other = rng.choice(base_urls)
                bye = http.delete(
                    f"{other}/api/v1/sessions/{opened['session_id']}",
                    headers={"Authorization": f"Bearer {opened['token']}"},
                )
                if bye.status_code not in (204, 410):
                    with lock:
                        problems.append(f"logout answered {bye.status_code}: {bye.text}")

    def sampler() -> None:
        try:
            while not stop.is_set():
                with db.read() as conn:
                    open_now = conn.execute(
                        select(func.count())
                        .select_from(agent_sessions)
                        .where(agent_sessions.c.ended_at.is_(None))
                    ).scalar_one()
                samples.append(open_now)
                time.sleep(0.002)
        except BaseException as exc:
            with lock:
                problems.append(f"sampler: {exc!r}")

    def done() -> bool:
        """The work is done, or something went wrong (the assertions say what)."""
        with lock:
            unexpected = set(outcomes) - EXPECTED
            churned = outcomes["201"] >= CLAIMS
            contended = outcomes["409 license_limit_reached"] >= REFUSALS
            return bool(problems or unexpected) or (churned and contended)

    with running_servers(url, PROCESSES, tmp_path) as base_urls:
        threads = [threading.Thread(target=client, args=(n, base_urls)) for n in range(clients)]
        seconds = race(
            [*threads, threading.Thread(target=sampler)],
            stop,
            done=done,
            work=lambda: dict(outcomes),
        )
        terminated_elsewhere(db, key, base_urls)

    figures = {
        "backend": db.engine.dialect.name,
        "processes": PROCESSES,
        "clients": clients,
        "licenses": CAP,
        "overdraft": overdraft,
        "seconds": round(seconds, 1),
        "opens_tried": sum(outcomes.values()),
        "opened": outcomes["201"],
        "joined": outcomes["200"],
        "refused": outcomes["409 license_limit_reached"],
        "busy": outcomes["503 logins_busy"],
        "max_seen_open": max(samples, default=0),
    }
    report(figures)
    assert problems == []
    assert max(samples) <= CAP + overdraft, figures
    assert set(outcomes) <= EXPECTED, outcomes
    assert outcomes["201"] >= CLAIMS, outcomes  # the pool really churned
    assert outcomes["409 license_limit_reached"] >= REFUSALS, outcomes  # and was contended
    with db.read() as conn:
        rows = [(r.started_at, r.ended_at) for r in conn.execute(select(agent_sessions))]
        recorded_denials = conn.execute(select(func.count()).select_from(denials)).scalar_one()
        still_open = [r for r in rows if r[1] is None]
    assert len(rows) == outcomes["201"] + 1  # and the one terminated_elsewhere opened
    assert recorded_denials == outcomes["409 license_limit_reached"]
    assert still_open == []
    # The recorded history never shows more than CAP (and the overdraft) at once: claims
    # and releases were timestamped under the same lock that ordered them.
    assert max_concurrent(rows) <= CAP + overdraft
    assert all(start >= now - timedelta(minutes=5) for start, _ in rows)
    assert all(s.tzinfo is UTC for s, _ in rows)
    db.dispose()


def terminated_elsewhere(db: Database, key: str, base_urls: list[str]) -> None:
    """A session opened on one instance and terminated through another is over on a third."""
    now = SystemClock().now()
    add_user(
        db,
        Passwords(fast=True),
        OPERATOR,
        "race",
        username="boss",
        password=PASSWORD,
        role=Role.ACCOUNT_ADMIN,
        now=now,
    )
    admin = accounts.create_user_token(
        db, OPERATOR, account_slug="race", username="boss", name="t", now=now
    )
    first, second, third = base_urls[:3]
    with httpx.Client(timeout=PATIENCE) as http:
        opened = http.post(f"{first}/api/v1/sessions", json={}, headers=bearer(key)).json()
        answer = http.post(
            f"{second}/api/v1/accounts/race/active-sessions/terminate",
            json={"session_ids": [opened["session_id"]]},
            headers=bearer(admin),
        )
        assert answer.json()["terminated"] == 1
        after = http.post(
            f"{third}/api/v1/sessions/{opened['session_id']}/heartbeat",
            headers=bearer(opened["token"]),
        )
    assert after.status_code == 410
    assert after.json()["error"]["message"] == "Your session was terminated by an administrator."


def report(figures: dict[str, object]) -> None:
    """Print the race's figures and keep them in test-artifacts/ for people to read."""
    folder = Path(__file__).parents[2] / "test-artifacts"
    folder.mkdir(exist_ok=True)
    overdraft = f"-overdraft-{figures['overdraft']}" if figures.get("overdraft") else ""
    name = f"race-{figures['backend']}-{figures['clients']}{overdraft}.json"
    (folder / name).write_text(json.dumps(figures, indent=2) + "\n")
    print("race:", json.dumps(figures))
