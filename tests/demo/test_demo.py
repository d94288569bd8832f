"""The demo: its account, its backfilled history, and its simulated agents on a real server."""

from __future__ import annotations

import dataclasses
import socket
from datetime import datetime, timedelta

import click
import pytest
from sqlalchemy import func, select

from seatkeeper.clock import SystemClock
from seatkeeper.config import Settings
from seatkeeper.demo import runner
from seatkeeper.demo import simulation as simulated
from seatkeeper.demo.account import (
    AGENT_PASSWORD,
    DEMO_LICENSES,
    DEMO_SLUG,
    Backfilled,
    DemoAccount,
    backfill_history,
    provision,
)
from seatkeeper.demo.history import DEMO_AGENTS, SIMULATED_AGENTS
from seatkeeper.demo.runner import crowd, run_demo
from seatkeeper.demo.simulation import Simulation
from seatkeeper.domain.errors import InvalidToken
from seatkeeper.domain.model import EndReason, GridView, User
from seatkeeper.services import access, admin
from seatkeeper.services.secrets import Passwords, token_hash
from seatkeeper.storage import audit, keys, sessions
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions, denials, interactions
from seatkeeper.web.app import create_app
from tests.servers import served
from tests.waiting import PATIENCE, wait_until


def admin_user(db: Database, demo: DemoAccount) -> User:
    return access.authenticate_token(db, demo.admin_token)


def row_counts(db: Database) -> tuple[int, int, int]:
    with db.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (agent_sessions, interactions, denials)
        )


def test_backfill_gives_30_days_of_usage_within_the_licenses(
    db: Database, demo: DemoAccount, now: datetime
) -> None:
    filled = backfill_history(db, demo.account, now=now, seed=3)
    assert filled.days == 30 and filled.sessions > 300 and filled.denials > 0
    with db.read() as conn:
        (written,) = audit.events(conn, demo.account.id, ["demo_history_written"])
    assert written["actor"] == "seatkeeper demo"
    assert written["details"] == {
        "days": 30,
        "sessions": filled.sessions,
        "interactions": filled.interactions,
        "denials": filled.denials,
    }

    report = admin.account_usage(db, admin_user(db, demo), DEMO_SLUG, now=now).report
    assert report.total == DEMO_LICENSES
    assert report.current == 0  # all history ended before now
    assert report.daily_max == DEMO_LICENSES  # reached on the over-demand days, never passed
    assert len(report.days) == 30 and all(d.account_existed for d in report.days)
    assert all(d.max_concurrent > 0 for d in report.days)
    assert 10 < report.daily_average < DEMO_LICENSES
    over_days = [d for d in report.days if d.denials]
    assert 2 <= len(over_days) <= 4
    assert all(d.max_concurrent == DEMO_LICENSES for d in over_days)


def test_a_second_backfill_adds_nothing(db: Database, demo: DemoAccount, now: datetime) -> None:
    backfill_history(db, demo.account, now=now, seed=3)
    before = row_counts(db)
    assert backfill_history(db, demo.account, now=now, seed=4) == Backfilled(0, 0, 0, 0)
    assert row_counts(db) == before


def test_a_later_backfill_fills_only_the_new_days(
    db: Database, demo: DemoAccount, now: datetime
) -> None:
    backfill_history(db, demo.account, now=now - timedelta(days=5), seed=3)
    later = backfill_history(db, demo.account, now=now, seed=4)
    assert later.days == 5
    report = admin.account_usage(db, admin_user(db, demo), DEMO_SLUG, now=now).report
    assert report.daily_max <= DEMO_LICENSES


def test_backfill_leaves_a_live_session_alone(
    db: Database, demo: DemoAccount, now: datetime
) -> None:
    started = now - timedelta(hours=3)
    with db.write() as conn:
        live = sessions.insert_session(
            conn,
            account_id=demo.account.id,
            user_id=None,
            now=started,
            expires_at=now + timedelta(minutes=20),
        )
    backfill_history(db, demo.account, now=now, seed=3)
    with db.read() as conn:
        overlapping = conn.execute(
            select(func.count())
            .select_from(agent_sessions)
            .where(agent_sessions.c.id != live.id, agent_sessions.c.ended_at > started)
        ).scalar_one()
    assert overlapping == 0


def test_provisioning_again_reuses_the_account_and_replaces_its_keys(
    db: Database, passwords: Passwords, demo: DemoAccount, now: datetime
) -> None:
    again = provision(db, passwords, now=now + timedelta(minutes=1))
    assert again.account == demo.account
    assert again.account.created_at <= now - timedelta(days=30)
    assert admin_user(db, again).username == "admin"
    with pytest.raises(InvalidToken):
        admin_user(db, demo)
    assert again.application_key != demo.application_key
    with db.read() as conn:
        later = now + timedelta(minutes=1)
        assert (
            keys.account_by_application_key(conn, token_hash(demo.application_key), later) is None
        )
        assert keys.account_by_application_key(conn, token_hash(again.application_key), later)


def test_the_live_crowd_is_mostly_named_agents() -> None:
    assert crowd(12) == (list(SIMULATED_AGENTS[:9]), 3)
    assert crowd(1) == (list(SIMULATED_AGENTS[:1]), 0)
    assert crowd(0) == ([], 0)
    named, guests = crowd(40)
    assert named == list(SIMULATED_AGENTS) and guests == 28


def test_a_busy_port_is_refused_clearly(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(click.ClickException, match="already in use"):
            run_demo(settings, host="127.0.0.1", port=port, agents=1)


@pytest.mark.slow
def test_simulated_agents_work_and_log_out(
    settings: Settings, db: Database, demo: DemoAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow answer on a busy machine is not an error of the server's.
    monkeypatch.setattr(simulated, "HTTP_TIMEOUT_SECONDS", PATIENCE)
    user = admin_user(db, demo)
    clock = SystemClock()

    def working() -> bool:
        rows = admin.active_sessions(
            db, user, DEMO_SLUG, view=GridView(per_page=500), now=clock.now()
        ).rows
        return any(r.open_interactions for r in rows)

    with served(create_app(settings)) as base_url:
        simulation = Simulation(
            base_url,
            demo.application_key,
            agents=[(name, AGENT_PASSWORD) for name in DEMO_AGENTS[:2]],
            guests=2,
            seed=1,
            speed=50,
        )
        simulation.start()
        try:
            wait_until(working, "an agent working in an Interaction")
            wait_until(lambda: simulation.stats.steps >= 10, "agents to step through Flows")
        finally:
            simulation.stop(timeout=PATIENCE)

    stats = simulation.stats
    assert stats.errors == 0 and stats.sessions >= 4 and stats.interactions >= 2
    with db.read() as conn:
        ended = conn.execute(select(agent_sessions.c.ended_at, agent_sessions.c.end_reason)).all()
        opened = conn.execute(select(func.count()).select_from(interactions)).scalar_one()
    assert len(ended) == stats.sessions
    assert all(reason == EndReason.LOGOUT.value for _at, reason in ended)
    assert opened == stats.interactions


def test_the_demo_names_every_page_a_newcomer_opens(
    demo: DemoAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    runner._announce(
        demo, base_url="http://127.0.0.1:8000", named=SIMULATED_AGENTS[:9], guests=3, pause="p"
    )
    printed = capsys.readouterr().out
    base = f"http://127.0.0.1:8000/accounts/{demo.account.slug}"
    for page in ("active-agents", "usage-report?period=12m", "holders", "recently-ended"):
        assert f"{base}/{page}\n" in printed, page


def test_the_demo_counts_one_license_in_the_singular(
    demo: DemoAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    one = dataclasses.replace(demo, account=dataclasses.replace(demo.account, licenses=1))
    runner._announce(one, base_url="http://127.0.0.1:8000", named=(), guests=0, pause="p")
    printed = capsys.readouterr().out
    assert f"({one.account.name}): 1 license, " in printed
    assert "1 licenses" not in printed
