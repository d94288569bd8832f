"""Agent calls, timeout sweeps and terminations racing on real connections.

A sped-up clock makes the one-minute timeout pass every few tenths of a second,
so heartbeats, expiries, new claims (which sweep) and terminations collide.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import select

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.errors import LicenseLimitReached, SessionEnded, TooManyInteractions
from seatkeeper.domain.model import GridView, Role
from seatkeeper.services import accounts, admin, agents, expiry, flows
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.users import add_user
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions, interactions
from tests.concurrency import max_concurrent, race
from tests.conftest import new_admin
from tests.waiting import PATIENCE

CAP = 12
TIMEOUT = timedelta(minutes=1)
SPEED = 300.0  # clock seconds per real second: the timeout passes in 0.2 s
# The race runs until it has done this much: calls answered, sessions opened (the pool
# filled and emptied over and over), and sessions ended both by the sweep and by an admin.
CALLS = 300
SESSIONS = 3 * CAP


class SpedUpClock:
    def __init__(self) -> None:
        self._start = datetime(2026, 3, 10, 9, tzinfo=UTC)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * SPEED)


def test_calls_sweeps_and_terminations_never_corrupt_a_session(db: Database) -> None:
    clock = SpedUpClock()
    accounts.create_account(
        db,
        OPERATOR,
        slug="race",
        name="Race",
        licenses=CAP,
        time_zone="UTC",
        session_timeout=TIMEOUT,
        now=clock.now() - timedelta(days=1),
    )
    boss = new_admin(db, "race", clock.now())
    flows.add_flow(db, OPERATOR, "race", name="Flow", steps=["Step"], now=clock.now())
    key = accounts.create_application_key(
        db, OPERATOR, account_slug="race", name="k", now=clock.now()
    )
    passwords = Passwords(fast=True)
    stop = threading.Event()
    lock = threading.Lock()
    answered: list[tuple[str, datetime]] = []  # (session id, instant a call succeeded)
    opened_interactions: list[str] = []
    opened_sessions: list[str] = []
    terminated: list[int] = []
    failures: list[BaseException] = []

    def agent(seed: int) -> None:
        rng = random.Random(seed)
        session = None
        while not stop.is_set():
            try:
                if session is None:
                    session = agents.open_session(
                        db, passwords, application_key=key, credentials=None, clock=clock
                    )
                    with lock:
                        opened_sessions.append(str(session.session.id))
                sid = str(session.session.id)
                if rng.random() < 0.5:
                    expires = agents.heartbeat(db, token=session.token, session_id=sid, clock=clock)
                    with lock:
                        answered.append((sid, expires - TIMEOUT))
                else:
                    item = agents.open_interaction(
                        db, token=session.token, session_id=sid, flow="Flow", clock=clock
                    )
                    with lock:
                        answered.append((sid, item.opened_at))
                        opened_interactions.append(str(item.id))
                # Idle now and then past the timeout, so the sweep has work.
                time.sleep(rng.choice([0.0, 0.01, 0.05, 0.4]))
            except SessionEnded:
                session = None
            except TooManyInteractions:  # refused, nothing recorded: a new session, then
                session = None
            except LicenseLimitReached:
                # Back off as a real client does. Claimers retrying every few
                # milliseconds would hold the account's lock so much of the time that
                # the sweeper (which skips a locked account, by design) and its race
                # with everything else would hardly ever run on PostgreSQL.
                time.sleep(0.1)
            except BaseException as exc:
                failures.append(exc)
                return

    def terminator() -> None:
        rng = random.Random(99)
        while not stop.is_set():
            try:
                rows = admin.active_sessions(
                    db, boss, "race", view=GridView(per_page=500), now=clock.now()
                ).rows
                victims = [r.session_id for r in rows if rng.random() < 0.2]
                if victims:
                    done = admin.terminate_sessions(db, boss, "race", victims, clock=clock)
                    terminated.append(len(done.terminated))
                time.sleep(0.02)
            except BaseException as exc:
                failures.append(exc)
                return

    def sweeper() -> None:
        # As every instance does: record timed-out sessions, racing everything else.
        while not stop.is_set():
            try:
                swept.append(expiry.sweep_expired(db, now=clock.now()))
                time.sleep(0.01)
            except BaseException as exc:
                failures.append(exc)
                return

    def work() -> dict[str, int]:
        return {
            "calls": len(answered),
            "sessions": len(opened_sessions),
            "swept": sum(swept),
            "terminated": sum(terminated),
        }

    def done() -> bool:
        """The work is done, or a racer failed (the assertions say how)."""
        now = work()
        enough = now["calls"] >= CALLS and now["sessions"] >= SESSIONS
        return bool(failures) or (enough and now["swept"] > 0 and now["terminated"] > 0)

    swept: list[int] = []
    threads = [threading.Thread(target=agent, args=(n,)) for n in range(16)]
    threads += [threading.Thread(target=f) for f in (terminator, sweeper, sweeper, sweeper)]
    race(threads, stop, done=done, work=work)

    assert failures == []
    assert sum(swept) > 0  # the sweeps had work to do
    assert sum(terminated) > 0  # and so did the admin
    with db.read() as conn:
        sessions = {r.id: r for r in conn.execute(select(agent_sessions))}
        open_items = conn.execute(
            select(interactions.c.id, interactions.c.session_id).where(
                interactions.c.closed_at.is_(None)
            )
        ).all()
    assert len(answered) >= CALLS and len(sessions) >= SESSIONS  # the race really happened
    reasons = {s.end_reason for s in sessions.values()}
    assert {"timeout", "terminated"} <= reasons, reasons
    for s in sessions.values():
        assert (s.ended_at is None) == (s.end_reason is None)
        if s.end_reason == "timeout":
            # A timed-out session ended exactly at its last activity plus the timeout.
            assert s.ended_at == s.last_activity_at + TIMEOUT == s.expires_at, s
    # No call that succeeded happened in a session recorded as already over.
    for sid, at in answered:
        ended_at = sessions[UUID(sid)].ended_at
        assert ended_at is None or ended_at >= at, (sid, at, ended_at)
    # No interaction is left open in an ended session.
    assert [i for i in open_items if sessions[i.session_id].ended_at is not None] == []
    # And the cap held throughout the recorded history.
    assert max_concurrent((s.started_at, s.ended_at) for s in sessions.values()) <= CAP


def test_a_join_never_moves_a_sessions_activity_back(db: Database) -> None:
    """A second browser joining a session, while a heartbeat of the first browser commits a
    later instant, must not write its own earlier instant over it (found by the
    crash-and-restart test: the session then expired before the time the agent was told)."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite writes one transaction at a time: the two cannot interleave")
    t0 = datetime(2026, 3, 10, 9, tzinfo=UTC)
    passwords = Passwords(fast=True)
    accounts.create_account(db, OPERATOR, slug="a", name="A", licenses=5, time_zone="UTC", now=t0)
    add_user(
db, passwords, OPERATOR, "a", username="ann", password="ann-joins-twice",
        role=Role.AGENT, now=t0,
    )  # fmt: skip
    key = accounts.create_application_key(db, OPERATOR, account_slug="a", name="k", now=t0)
    ann = ("ann", "ann-joins-twice")
    first = agents.open_session(
        db, passwords, application_key=key, credentials=ann, clock=FrozenClock(t0)
    )
    sid = str(first.session.id)
    t_join, t_beat = t0 + timedelta(seconds=10), t0 + timedelta(seconds=10, milliseconds=50)
    told: list[datetime] = []

    class JoinClock:
        """The join reads its instant under the account's lock; just then, a heartbeat of
        the same session (the first browser) is answered, with a later instant."""

        calls = 0

        def now(self) -> datetime:
            self.calls += 1
            if self.calls == 2:
                beat = threading.Thread(
                    target=lambda: told.append(
                        agents.heartbeat(
                            db, token=first.token, session_id=sid, clock=FrozenClock(t_beat)
                        )
                    )
                )
                beat.start()
                beat.join(PATIENCE)
                assert told, "the heartbeat did not get through while the join was under way"
            return t_join

    joined = agents.open_session(
        db, passwords, application_key=key, credentials=ann, clock=JoinClock()
    )
    assert joined.joined
    with db.read() as conn:
        row = conn.execute(
            select(agent_sessions).where(agent_sessions.c.id == first.session.id)
        ).one()
    assert row.last_activity_at == t_beat
    assert row.expires_at == told[0]
