"""A server killed with SIGKILL mid-load and restarted on the same database loses nothing it
acknowledged, counts no seat twice, and ends the sessions that timed out while it was down
at the instant they timed out (last activity + timeout): the usage shows no phantom peak.

Agents are real HTTP clients, in threads, on two accounts of one server process:
- "brief", whose session timeout is a couple of seconds (see `_create_accounts`): every
  session open at the kill times out while the server is down, and the restarted server's
  periodic sweep must record each as ended at its own last activity + timeout;
- "steady", with the default 30-minute timeout: its heartbeats are far from expiry, so
  they are written in batches (services/heartbeats.py) and a kill may lose the batch not
  yet written, but nothing acknowledged longer ago than one batch interval (and writes).

After the restart, old tokens still work for the sessions still open, the seats of the
timed-out ones are free (and only those), and the usage API agrees with the rows.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import Row, func, select, text, update

from seatkeeper.domain import pool
from seatkeeper.domain.model import Role
from seatkeeper.services import accounts, flows, heartbeats
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.users import add_user
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import accounts as accounts_table
from seatkeeper.storage.tables import agent_sessions, denials, interactions, users
from tests.concurrency import max_concurrent
from tests.conftest import bearer
from tests.servers import server_process, wait_until_up
from tests.waiting import PATIENCE, RACE_DEADLINE, wait_until

BRIEF, STEADY = "brief", "steady"
LICENSES = 5
TIMEOUTS = {BRIEF: timedelta(seconds=2), STEADY: pool.DEFAULT_TIMEOUT}
USERNAMES = ("ann", "ben", "cat", "dov")  # in each account, each used by two agents at once
GUESTS = 3  # agents per account that stay Guests: they doze (brief) or idle (steady)
PASSWORD = "crash-password"
STEPS = tuple(f"Step {n}" for n in range(1, 51))  # the one Flow's steps, as many as a Flow has
# The load runs until the agents have done this much before the kill: calls answered, and
# both pools full (a refusal in each). And for at least LOAD_SECONDS, so that brief
# sessions time out while the server runs and heartbeats are old enough to be durable.
CALLS = 500
LOAD_SECONDS = 4.0
BATCH_SECONDS = 1.0  # the server's heartbeat batch interval (its default, set explicitly)
# The oldest heartbeat a kill may lose: one answered just after a batch was taken waits
# for that batch's write, the interval, and the next batch's write, which the kill may
# cut. A write takes ~0.01-0.1 s here, up to 0.5 s seen on 2 overloaded CPUs.
BATCH_WRITE_SECONDS = 0.5
HEARTBEAT_LOSS = timedelta(seconds=BATCH_SECONDS + 2 * BATCH_WRITE_SECONDS)
SWEEP_SECONDS = 1.0  # long enough that the first usage read after the restart comes first
SERVER_SETTINGS = {
    "SEATKEEPER_SWEEP_SECONDS": str(SWEEP_SECONDS),
    "SEATKEEPER_HEARTBEAT_BATCH_SECONDS": str(BATCH_SECONDS),
}
HTTP_TIMEOUT = PATIENCE  # no call takes this long unless something hangs


@dataclass
class SessionAck:
    """What the server acknowledged about one session."""

    account: str
    agent_id: str | None
    started_at: datetime
    token: str
    written: datetime  # the latest activity of a call written before its answer
    beats: list[datetime] = field(default_factory=list)  # activity of answered heartbeats
    joins: list[datetime] = field(default_factory=list)  # activity of answered opens and joins
    logged_out: datetime | None = None  # an answered logout was sent at this instant


@dataclass
class InteractionAck:
    session_id: UUID
    opened_at: datetime
    acked_step: str | None = None  # the last step answered
    sent_step: str | None = None  # the last step sent, answered or not
    closed: bool = False


class Ledger:
    """Every answer the agents got, shared by their threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sessions: dict[UUID, SessionAck] = {}
        self.interactions: dict[UUID, InteractionAck] = {}
        self.denied: Counter[str] = Counter()
        self.answered = 0
        self.in_flight: Counter[str] = Counter()  # calls sent and not answered, by kind
        self.lost = 0  # calls the kill left without an answer
        self.killed = False
        self.problems: list[str] = []

    def call(
        self, http: httpx.Client, kind: str, method: str, path: str, token: str, body: Any = None
    ) -> httpx.Response:
        with self.lock:
            self.in_flight[kind] += 1
        try:
            answer = http.request(method, path, json=body, headers=bearer(token))
        finally:
            with self.lock:
                self.in_flight[kind] -= 1
        with self.lock:
            self.answered += 1
        return answer

    def opened(self, account: str, answer: dict[str, Any]) -> tuple[UUID, str]:
        sid, token = UUID(answer["session_id"]), answer["token"]
        activity = _instant(answer["expires_at"]) - TIMEOUTS[account]
        with self.lock:
            known = self.sessions.get(sid)
            if known is None:
                known = self.sessions[sid] = SessionAck(
                    account, answer["agent_id"], _instant(answer["started_at"]), token, activity
                )
            else:  # another browser of the agent joined it
                known.written = max(known.written, activity)
            known.joins.append(activity)
        return sid, token

    def wrote(self, sid: UUID, at: datetime) -> None:
        with self.lock:
            self.sessions[sid].written = max(self.sessions[sid].written, at)

    def problem(self, what: str) -> None:
        with self.lock:
            self.problems.append(what)

    def connection_failed(self, exc: httpx.TransportError) -> None:
        with self.lock:
            if self.killed:
                self.lost += 1
            else:
                self.problems.append(f"a call failed before the kill: {exc!r}")


class Agent:
    """One browser of the Agent Application: opens a session, then works in it at random."""

    def __init__(
        self,
        ledger: Ledger,
        stop: threading.Event,
        account: str,
        key: str,
        *,
        seed: int,
        username: str | None,
    ) -> None:
        self.ledger, self.stop, self.account, self.key = ledger, stop, account, key
        self.rng = random.Random(seed)
        self.name = f"{account}-{seed}"
        self.username = username  # None: a Guest
        # A Guest only heartbeats (steady), as an application left open does, or stops
        # calling past the timeout now and then (brief).
        self.idle = username is None and account == STEADY
        self.dozes = username is None and account == BRIEF
        self.calls = 0  # calls made in the current session
        self.session: tuple[UUID, str] | None = None
        self.items: list[UUID] = []  # interactions this agent opened and has not closed
        self.steps = 0

    def run(self, base_url: str) -> None:
        with httpx.Client(base_url=base_url, timeout=HTTP_TIMEOUT) as http:
            while not self.stop.is_set():
                try:
                    self.act(http)
                except httpx.TransportError as exc:
                    self.ledger.connection_failed(exc)
                    return  # the server is gone
                except Exception as exc:
                    self.ledger.problem(f"{self.name}: {exc!r}")
                    return

    def act(self, http: httpx.Client) -> None:
        if self.session is None:
            self.open(http)
            return
        sid, token = self.session
        if self.idle:
            # Its session's activity comes from heartbeats alone: on the steady account,
            # from batched ones, which is where a kill may lose something.
            self.heartbeat(http, sid, token)
            self.stop.wait(0.02)
            return
        roll = self.rng.random()
        if roll < 0.45:
            self.heartbeat(http, sid, token)
        elif roll < 0.6 or not self.items:
            self.open_item(http, sid, token)
        elif roll < 0.8:
            self.step(http, sid, token, self.rng.choice(self.items))
        elif roll < 0.95:
            self.close_item(http, sid, token, self.rng.choice(self.items))
        else:
            self.logout(http, sid, token)
        self.calls += 1
        if self.dozes and self.calls % 2 == 0:
            # Long enough for the session to time out while the server runs: claims and
            # the sweep race to record it, and this agent's next call is answered 410.
            self.stop.wait(TIMEOUTS[self.account].total_seconds() + 0.2)
        else:
            self.stop.wait(self.rng.choice([0.0, 0.005, 0.02]))

    def open(self, http: httpx.Client) -> None:
        body = {"username": self.username, "password": PASSWORD} if self.username else {}
        answer = self.ledger.call(http, "open", "POST", "/api/v1/sessions", self.key, body)
        if answer.status_code in (200, 201):
            self.session = self.ledger.opened(self.account, answer.json())
            self.items, self.calls = [], 0
        elif answer.status_code == 409 and _code(answer) == "license_limit_reached":
            with self.ledger.lock:
                self.ledger.denied[self.account] += 1
            self.stop.wait(0.05)  # back off, as a real client does
        else:
            self.ledger.problem(f"{self.name}: open answered {answer.status_code} {answer.text}")

    def heartbeat(self, http: httpx.Client, sid: UUID, token: str) -> None:
        answer = self.ledger.call(http, "heartbeat", "POST", f"{_at(sid)}/heartbeat", token)
        if self.expect(answer, 200):
            at = _instant(answer.json()["expires_at"]) - TIMEOUTS[self.account]
            with self.ledger.lock:
                self.ledger.sessions[sid].beats.append(at)

    def step(self, http: httpx.Client, sid: UUID, token: str, iid: UUID) -> None:
        self.steps += 1
        name = STEPS[self.steps % len(STEPS)]  # each step a different one from the last
        self.ledger.interactions[iid].sent_step = name
        sent = _now()
        path = f"{_at(sid)}/interactions/{iid}/steps"
        answer = self.ledger.call(http, "step", "POST", path, token, {"step": name})
        if self.expect(answer, 200):
            self.ledger.interactions[iid].acked_step = name
            self.ledger.wrote(sid, sent)

    def open_item(self, http: httpx.Client, sid: UUID, token: str) -> None:
        path, body = f"{_at(sid)}/interactions", {"flow": "Refund"}
        answer = self.ledger.call(http, "interaction", "POST", path, token, body)
        if answer.status_code == 409 and _code(answer) == "too_many_interactions":
            # The session holds the most the account allows (its other browsers' too): a
            # designed refusal, with nothing recorded; this agent closes one of its own.
            if self.items:
                self.close_item(http, sid, token, self.rng.choice(self.items))
            return
        if self.expect(answer, 201):
            iid, opened_at = UUID(answer.json()["interaction_id"]), answer.json()["opened_at"]
            with self.ledger.lock:
                self.ledger.interactions[iid] = InteractionAck(sid, _instant(opened_at))
            self.ledger.wrote(sid, _instant(opened_at))
            self.items.append(iid)

    def close_item(self, http: httpx.Client, sid: UUID, token: str, iid: UUID) -> None:
        sent = _now()
        answer = self.ledger.call(http, "close", "DELETE", f"{_at(sid)}/interactions/{iid}", token)
        if self.expect(answer, 204):
            self.ledger.interactions[iid].closed = True
            self.ledger.wrote(sid, sent)
            self.items.remove(iid)

    def logout(self, http: httpx.Client, sid: UUID, token: str) -> None:
        sent = _now()
        answer = self.ledger.call(http, "logout", "DELETE", _at(sid), token)
        if self.expect(answer, 204):
            self.ledger.sessions[sid].logged_out = sent
            self.session = None

    def expect(self, answer: httpx.Response, status: int) -> bool:
        """True when the call succeeded; a session that ended (410) is let go."""
        if answer.status_code == status:
            return True
        if answer.status_code == 410 and _code(answer) in {"session_expired", "session_logged_out"}:
            self.session = None  # another browser logged it out, or it timed out
            return False
        self.ledger.problem(f"{self.name}: answered {answer.status_code} {answer.text}")
        self.session = None
        return False


@dataclass(frozen=True)
class Snapshot:
    """The database as it stands: sessions, interactions and who is who."""

    sessions: dict[UUID, Row[Any]]
    interactions: dict[UUID, Row[Any]]
    slug_of: dict[int, str]  # account id → slug
    username_of: dict[int, str]  # user id → username
    denied: Counter[str]


@pytest.mark.slow
def test_a_killed_server_loses_nothing_it_acknowledged_and_ends_overdue_sessions_on_time(
    db_url: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    db = Database(db_url)
    keys, admin_token = _create_accounts(db)
    ledger, stop = Ledger(), threading.Event()
    agents = _agents(ledger, stop, keys)

    with ExitStack() as stack:
        stack.callback(db.dispose)
        stack.callback(stop.set)  # whatever fails, the agents stop
        first_listener = stack.enter_context(_listener())
        first = stack.enter_context(
            server_process(db_url, first_listener, tmp_path / "server-0.log", env=SERVER_SETTINGS)
        )
        url = _url(first_listener)
        wait_until_up(url, first, tmp_path)
        threads = [threading.Thread(target=a.run, args=(url,)) for a in agents]
        load_began = time.monotonic()
        for thread in threads:
            thread.start()

        def loaded() -> bool:
            """The load has done its work, or an agent failed (the assertions say how)."""
            if ledger.problems or not all(t.is_alive() for t in threads):
                return True
            with ledger.lock:
                refused = all(ledger.denied[slug] > 0 for slug in (BRIEF, STEADY))
                calls = ledger.answered
            return refused and calls >= CALLS and time.monotonic() - load_began >= LOAD_SECONDS

        wait_until(loaded, "the agents to do their work before the kill", timeout=RACE_DEADLINE)
        wait_until(
            lambda: ledger.problems or _worth_killing(agents, ledger),
            "calls in flight and sessions open in both accounts, to kill the server amid them",
            interval=0.005,
        )
        load_seconds = time.monotonic() - load_began
        in_flight, killed_at = _kill(first, first_listener, ledger, stop)
        for thread in threads:
            thread.join(HTTP_TIMEOUT + 5)
        assert not any(t.is_alive() for t in threads), "an agent did not stop"
        assert ledger.problems == []
        assert sum(in_flight.values()) > 0 and ledger.lost > 0, "no call was cut by the kill"

        _settle(db)
        at_kill = _snapshot(db)
        _check_acknowledged(ledger, at_kill)
        _check_seats(at_kill, now=killed_at)
        brief_open = _open_sessions(at_kill, BRIEF)
        steady_open = _open_sessions(at_kill, STEADY)
        assert len(brief_open) >= 2 and len(steady_open) >= 2, (brief_open, steady_open)
        assert any(at_kill.sessions[sid].expires_at > killed_at for sid in brief_open)
        loss = _check_activity(ledger, at_kill, killed_at=killed_at)

        # Stay down until every brief session open at the kill has timed out.
        overdue_at = max(at_kill.sessions[sid].expires_at for sid in brief_open)
        time.sleep(max(0.0, (overdue_at - _now()).total_seconds()) + 0.05)
        restarted_at = _now()
        listener = stack.enter_context(_listener())
        second = stack.enter_context(
            server_process(db_url, listener, tmp_path / "server-1.log", env=SERVER_SETTINGS)
        )
        url = _url(listener)
        wait_until_up(url, second, tmp_path)

        # Before anything else reaches it (and most often before its first sweep): the
        # sessions that timed out while it was down hold no license, now or in history.
        unswept = len(_open_sessions(_snapshot(db), BRIEF))
        _check_usage(db, url, admin_token, full=False)

        # No agent calls the restarted server yet, so nothing but its periodic sweep
        # (housekeeping.py) can end them; wait for it rather than for a guessed while.
        _wait_until_swept(db)
        _check_timed_out_while_down(at_kill, _snapshot(db), brief_open, restarted_at)

        _check_after_restart(db, ledger, url, keys, brief_open, steady_open)
        final = _snapshot(db)
        _check_acknowledged(ledger, final)
        _check_seats(final, now=_now())
        _check_usage(db, url, admin_token, full=True)

    _report(
        {
            "backend": db.engine.dialect.name,
            "seconds": round(time.monotonic() - began, 1),
            "load_seconds_before_kill": round(load_seconds, 1),
            "calls_answered": ledger.answered,
            "refused": dict(ledger.denied),
            "in_flight_at_kill": dict(in_flight),
            "calls_cut_by_kill": ledger.lost,
            "sessions_acknowledged": len(ledger.sessions),
            "interactions_acknowledged": len(ledger.interactions),
            "timeouts_recorded_before_kill": sum(
                r.end_reason == "timeout" for r in at_kill.sessions.values()
            ),
            "brief_sessions_timed_out_while_down": len(brief_open),
            "still_unswept_at_first_usage_read": unswept,
            "steady_sessions_open_at_kill": len(steady_open),
            "oldest_heartbeat_lost_seconds_before_kill": loss.total_seconds(),
        }
    )


def _kill(
    server: subprocess.Popen[bytes],
    listener: socket.socket,
    ledger: Ledger,
    stop: threading.Event,
) -> tuple[Counter[str], datetime]:
    """SIGKILL the server mid-load; the calls then in flight, by kind, and the instant."""
    with ledger.lock:
        in_flight = +ledger.in_flight
        ledger.killed = True
    killed_at = _now()
    os.kill(server.pid, signal.SIGKILL)
    stop.set()
    server.wait(PATIENCE)
    # Nobody listens any more: calls made from now on are refused at once instead of
    # waiting in the socket's backlog for a server that will not come.
    listener.close()
    return in_flight, killed_at


def _settle(db: Database) -> None:
    """Wait until the database has let go of the killed server's connections: until then a
    COMMIT it sent just before it died may still be carried out (PostgreSQL; on SQLite,
    writes die with the process), and the state the kill left is the state after that."""
    if db.is_sqlite:
        return
    db.dispose()  # this test's own idle connections would count too
    others = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        wait_until(
            lambda: conn.execute(others).scalar_one() == 0,
            "the database to let go of the killed server's connections",
        )


def _create_accounts(db: Database) -> tuple[dict[str, str], str]:
    """The two accounts with their agents; their application keys and an admin's token."""
    now = _now() - timedelta(days=1)
    passwords = Passwords(fast=True)
    keys = {}
    for slug in (BRIEF, STEADY):
        accounts.create_account(
            db,
            OPERATOR,
            slug=slug,
            name=slug.title(),
            licenses=LICENSES,
            time_zone="UTC",
            session_timeout=max(TIMEOUTS[slug], pool.MIN_TIMEOUT),
            now=now,
        )
        for username in USERNAMES:
            add_user(
                db,
                passwords,
                OPERATOR,
                slug,
                username=username,
                password=PASSWORD,
                role=Role.AGENT,
                now=now,
            )
        keys[slug] = accounts.create_application_key(
            db, OPERATOR, account_slug=slug, name="k", now=now
        )
        flows.add_flow(db, OPERATOR, slug, name="Refund", steps=list(STEPS), now=now)
    # The validated minimum timeout is a minute, and waiting one out would make this test
    # last minutes. The server reads the timeout from this column on every call, so a
    # shorter one set here is honoured exactly as a longer one would be.
    _set_timeout(db, BRIEF, TIMEOUTS[BRIEF])
    # An operator, who may read any account's usage.
    accounts.create_account(
        db, OPERATOR, slug="ops", name="Ops", licenses=0, time_zone="UTC", now=now
    )
    add_user(
        db,
        passwords,
        OPERATOR,
        "ops",
        username="root",
        password=PASSWORD,
        role=Role.SUPER_ADMIN,
        now=now,
    )
    token = accounts.create_user_token(
        db, OPERATOR, account_slug="ops", username="root", name="t", now=now
    )
    return keys, token


def _set_timeout(db: Database, slug: str, timeout: timedelta) -> None:
    """Set the account's session timeout in its row, bypassing the validated minimum."""
    with db.write() as conn:
        conn.execute(
            update(accounts_table)
            .where(accounts_table.c.slug == slug)
            .values(session_timeout_seconds=int(timeout.total_seconds()))
        )


def _agents(ledger: Ledger, stop: threading.Event, keys: dict[str, str]) -> list[Agent]:
    agents = []
    for account, key in keys.items():
        names: list[str | None] = [*USERNAMES, *USERNAMES, *[None] * GUESTS]
        agents += [
            Agent(ledger, stop, account, key, seed=n, username=username)
            for n, username in enumerate(names)
        ]
    return agents


def _snapshot(db: Database) -> Snapshot:
    with db.read() as conn:
        sessions = {r.id: r for r in conn.execute(select(agent_sessions))}
        items = {r.id: r for r in conn.execute(select(interactions))}
        slug_of = {r.id: r.slug for r in conn.execute(select(accounts_table))}
        username_of = {r.id: r.username for r in conn.execute(select(users))}
        denied = conn.execute(
            select(denials.c.account_id, func.count()).group_by(denials.c.account_id)
        )
        counts = Counter({slug_of[account_id]: count for account_id, count in denied})
    return Snapshot(sessions, items, slug_of, username_of, counts)


def _check_acknowledged(ledger: Ledger, db: Snapshot) -> None:
    """Every session and interaction the server acknowledged is recorded as answered."""
    wrong: list[tuple[str, object]] = []
    for sid, ack in ledger.sessions.items():
        row = db.sessions.get(sid)
        if row is None:
            wrong.append(("session missing", sid))
            continue
        user = None if row.user_id is None else db.username_of[row.user_id]
        if (db.slug_of[row.account_id], user, row.started_at) != (
            ack.account,
            ack.agent_id,
            ack.started_at,
        ):
            wrong.append(("session recorded otherwise", (ack, row)))
        if ack.logged_out is not None and not (
            row.end_reason == "logout" and row.ended_at >= ack.logged_out
        ):
            wrong.append(("acknowledged logout not recorded", (ack, row)))
        # No call succeeded in a session already over. (A batched heartbeat is answered
        # from a read without a lock, so a logout racing it may be ordered before it.)
        if row.ended_at is not None and max(_written(ack)) > row.ended_at:
            wrong.append(("a call succeeded after the session ended", (ack, row)))
    for iid, item in ledger.interactions.items():
        found = db.interactions.get(iid)
        if found is None:
            wrong.append(("interaction missing", iid))
            continue
        if (found.session_id, found.opened_at) != (item.session_id, item.opened_at):
            wrong.append(("interaction recorded otherwise", (item, found)))
        if item.closed and found.closed_at is None:
            wrong.append(("acknowledged close not recorded", (item, found)))
        # The step last answered, or one sent after it that the kill left unanswered.
        if found.step not in {item.acked_step, item.sent_step}:
            wrong.append(("acknowledged step not recorded", (item, found)))
    assert wrong == []
    for slug in (BRIEF, STEADY):
        assert db.denied[slug] >= ledger.denied[slug], "an answered refusal is not recorded"


def _check_seats(db: Snapshot, *, now: datetime) -> None:
    """No seat was ever counted twice, and every ended session is ended whole."""
    for account_id, slug in db.slug_of.items():
        rows = [r for r in db.sessions.values() if r.account_id == account_id]
        assert max_concurrent(_held(r, now) for r in rows) <= LICENSES, slug
        for user_id in {r.user_id for r in rows} - {None}:
            mine = [_held(r, now) for r in rows if r.user_id == user_id]
            assert max_concurrent(mine) <= 1, f"{db.username_of[user_id]} held two sessions"
    broken = []
    for r in db.sessions.values():
        if (r.ended_at is None) != (r.end_reason is None):
            broken.append(("ended without a reason", r))
        if r.end_reason == "timeout" and not (
            r.ended_at == r.expires_at == r.last_activity_at + TIMEOUTS[db.slug_of[r.account_id]]
        ):
            broken.append(("timed out at another instant", r))
    for i in db.interactions.values():
        if i.closed_at is None and db.sessions[i.session_id].ended_at is not None:
            broken.append(("interaction open in an ended session", i))
    assert broken == []


def _check_activity(ledger: Ledger, db: Snapshot, *, killed_at: datetime) -> timedelta:
    """The activity recorded for each session still open is what was acknowledged, less
    at most the heartbeats of the batch the kill lost; returns how long before the kill
    the oldest heartbeat lost was answered."""
    wrong, oldest = [], timedelta(0)
    for sid, ack in ledger.sessions.items():
        row = db.sessions[sid]
        if row.ended_at is not None:
            continue
        if _batched(ack.account):
            durable = [ack.written, *(at for at in ack.beats if at <= killed_at - HEARTBEAT_LOSS)]
        else:  # near their expiry, heartbeats are written before they are answered
            durable = _written(ack)
        if row.last_activity_at < max(durable):
            by_join = row.last_activity_at in ack.joins  # written by a join answered earlier
            wrong.append((ack.account, sid, max(durable), row.last_activity_at, by_join))
        lost = [at for at in ack.beats if at > row.last_activity_at]
        oldest = max(oldest, killed_at - min(lost, default=killed_at))
    assert wrong == [], "recorded activity older than acknowledged (account, id, acked, row, join)"
    return oldest


def _check_timed_out_while_down(
    at_kill: Snapshot, swept: Snapshot, brief_open: set[UUID], restarted_at: datetime
) -> None:
    """Each session open at the kill whose timeout passed while the server was down is
    recorded as timed out at its last activity + timeout, that activity untouched."""
    late = []
    for sid in brief_open:
        before, after = at_kill.sessions[sid], swept.sessions[sid]
        if not (
            after.end_reason == "timeout"
            and after.last_activity_at == before.last_activity_at
            and after.ended_at == before.last_activity_at + TIMEOUTS[BRIEF]
            and after.ended_at < restarted_at
        ):
            late.append((sid, before.last_activity_at, after.ended_at, after.end_reason))
    assert late == [], "sessions that timed out while the server was down ended wrongly"


def _check_after_restart(
    db: Database,
    ledger: Ledger,
    url: str,
    keys: dict[str, str],
    brief_open: set[UUID],
    steady_open: set[UUID],
) -> None:
    """Old tokens work on the restarted server for sessions still open and are told the
    others timed out; the seats the timed-out sessions held are free, and only those."""
    with httpx.Client(base_url=url, timeout=HTTP_TIMEOUT) as http:
        for sid, ack in ledger.sessions.items():
            if sid in steady_open | brief_open:
                answer = http.post(f"{_at(sid)}/heartbeat", headers=bearer(ack.token))
                if sid in steady_open:
                    assert answer.status_code == 200, answer.text
                else:
                    assert (answer.status_code, _code(answer)) == (410, "session_expired")
    # The seats are claimed all at once, yet a busy machine may take longer than the brief
    # timeout to answer every claim: a brief session opened by the first would then time
    # out and free its seat for the last. From now on brief sessions get a minute.
    _set_timeout(db, BRIEF, pool.MIN_TIMEOUT)
    for slug, held in ((BRIEF, 0), (STEADY, len(steady_open))):
        free = LICENSES - held
        with ThreadPoolExecutor(free + 1) as executor:
            answers = Counter(
                executor.map(_open_guest, [url] * (free + 1), [keys[slug]] * (free + 1))
            )
        assert answers == Counter({(201, None): free, (409, "license_limit_reached"): 1}), slug


def _open_guest(url: str, key: str) -> tuple[int, str | None]:
    answer = httpx.post(f"{url}/api/v1/sessions", headers=bearer(key), timeout=HTTP_TIMEOUT)
    return answer.status_code, _code(answer)


def _check_usage(db: Database, url: str, admin_token: str, *, full: bool) -> None:
    """Today's peak and Current, as the usage API answers, are what the rows say; `full`:
    and the peak is the license total, as it must be once the pools were filled."""
    for slug in (BRIEF, STEADY):
        answer = httpx.get(f"{url}/api/v1/accounts/{slug}/usage", headers=bearer(admin_token))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        as_of = _instant(body["as_of"])
        today = body["days"][-1]
        assert today["date"] == as_of.date().isoformat()  # the account's zone is UTC
        day_start = datetime.fromisoformat(today["date"]).replace(tzinfo=UTC)
        state = _snapshot(db)
        rows = [
            r
            for r in state.sessions.values()
            if state.slug_of[r.account_id] == slug and r.started_at <= as_of
        ]
        # Sessions still unended but past their expiry held their license until then.
        spans = [_held(r, as_of) for r in rows]
        today_spans = [(max(s, day_start), e) for s, e in spans if e is None or e > day_start]
        current = sum(1 for _, e in spans if e is None or e > as_of)
        assert (today["max_concurrent"], body["current"]) == (
            max_concurrent(today_spans),
            current,
        ), slug
        assert not full or today["max_concurrent"] == LICENSES, slug


def _wait_until_swept(db: Database) -> None:
    wait_until(
        lambda: not _overdue(_snapshot(db)),
        "the restarted server's sweep to end the overdue sessions",
        interval=0.05,
    )


def _worth_killing(agents: list[Agent], ledger: Ledger) -> bool:
    """Whether a kill now would cut calls in flight, amid at least three sessions held in
    each account, one of them brief and busy (a call answered in the last second, so its
    timeout is not about to pass): what the test checks at the kill, with room to spare."""
    recent = _now() - timedelta(seconds=1)
    with ledger.lock:
        if not +ledger.in_flight:
            return False
        held: dict[str, set[UUID]] = {BRIEF: set(), STEADY: set()}
        busy = False
        for agent in agents:
            session = agent.session
            if session is None:
                continue
            held[agent.account].add(session[0])
            ack = ledger.sessions.get(session[0])
            busy |= agent.account == BRIEF and ack is not None and max(_written(ack)) > recent
    return busy and all(len(sids) >= 3 for sids in held.values())


def _overdue(db: Snapshot) -> list[UUID]:
    now = _now()
    return [s for s, r in db.sessions.items() if r.ended_at is None and r.expires_at <= now]


def _open_sessions(db: Snapshot, slug: str) -> set[UUID]:
    return {
        s for s, r in db.sessions.items() if r.ended_at is None and db.slug_of[r.account_id] == slug
    }


def _held(row: Row[Any], now: datetime) -> tuple[datetime, datetime | None]:
    """When the session held its license: one unended but past its expiry held it until
    its expiry (it is recorded so once swept)."""
    end: datetime | None = row.ended_at
    if end is None and row.expires_at <= now:
        end = row.expires_at
    return row.started_at, end


def _batched(account: str) -> bool:
    """Whether the account's heartbeats may be written in batches: only those far from
    their session's expiry are (heartbeats.MARGIN)."""
    return TIMEOUTS[account] > heartbeats.MARGIN


def _written(ack: SessionAck) -> list[datetime]:
    """The session's acknowledged activity that was written before it was answered."""
    return [ack.written] if _batched(ack.account) else [ack.written, *ack.beats]


def _listener() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    return listener


def _url(listener: socket.socket) -> str:
    return f"http://127.0.0.1:{listener.getsockname()[1]}"


def _at(sid: UUID) -> str:
    return f"/api/v1/sessions/{sid}"


def _code(answer: httpx.Response) -> str | None:
    try:
        code: str = answer.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _report(figures: dict[str, object]) -> None:
    """Print the run's figures and keep them in test-artifacts/ for people to read."""
    folder = Path(__file__).parents[2] / "test-artifacts"
    folder.mkdir(exist_ok=True)
    path = folder / f"crash-restart-{figures['backend']}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print("crash-restart:", json.dumps(figures))
