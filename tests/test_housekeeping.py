"""The periodic tasks: each at its own setting, and run one after the other at one interval."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper import housekeeping
from seatkeeper.clock import FrozenClock
from seatkeeper.config import Settings
from seatkeeper.domain.model import EndReason, SettingsChange
from seatkeeper.housekeeping import Task
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage import sessions as stored_sessions
from seatkeeper.storage.db import Database
from tests.conftest import START, World, insert_guests
from tests.web.api.test_alerts import alert_list, guest

SETTINGS = ("SWEEP", "ALERT", "LINE", "WARM", "WEBHOOK", "RETENTION", "STATISTICS")


def intervals(settings: Settings) -> dict[str, float]:
    return {task.name: task.seconds for task in housekeeping.tasks(settings)}


def test_each_task_has_its_own_setting_and_the_sweep_keeps_its_meaning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(f"SEATKEEPER_{name}_SECONDS", raising=False)
    # Usage days go with the sweep unless told otherwise; alerts every second (an alert
    # clears within a second of use falling as sessions time out), or with a faster sweep.
    assert intervals(Settings()) == {
        "sweep": 30,
        "capacity alerts": 1,
        "line": 1,
        "usage days": 30,
        "report days": 30,
        "webhooks": 1,
        "retention": 3600,
        "statistics": 3600,
    }
    monkeypatch.setenv("SEATKEEPER_SWEEP_SECONDS", "0.5")
    assert intervals(Settings())["capacity alerts"] == 0.5
    monkeypatch.setenv("SEATKEEPER_SWEEP_SECONDS", "5")
    assert intervals(Settings()) == {
        "sweep": 5,
        "capacity alerts": 1,
        "line": 1,
        "usage days": 5,
        "report days": 5,
        "webhooks": 1,
        "retention": 3600,
        "statistics": 3600,
    }
    # The sweep off leaves the line, the webhooks, the retention and the statistics on.
    monkeypatch.setenv("SEATKEEPER_SWEEP_SECONDS", "0")
    assert intervals(Settings()) == {
        "line": 1,
        "webhooks": 1,
        "retention": 3600,
        "statistics": 3600,
    }
    monkeypatch.setenv("SEATKEEPER_RETENTION_SECONDS", "600")
    assert intervals(Settings())["retention"] == 600
    monkeypatch.setenv("SEATKEEPER_RETENTION_SECONDS", "0")
    monkeypatch.setenv("SEATKEEPER_ALERT_SECONDS", "10")
    monkeypatch.setenv("SEATKEEPER_WARM_SECONDS", "600")
    monkeypatch.setenv("SEATKEEPER_WEBHOOK_SECONDS", "0")
    monkeypatch.setenv("SEATKEEPER_STATISTICS_SECONDS", "0")
    monkeypatch.setenv("SEATKEEPER_LINE_SECONDS", "0")
    assert intervals(Settings()) == {
        "capacity alerts": 10,
        "usage days": 600,
        "report days": 600,
    }


def test_tasks_at_one_interval_run_in_order_and_a_failure_stops_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def recorded(name: str) -> Task:
        def run(_db: Database, _now: datetime) -> int:
            ran.append(name)
            if name == "broken":
                raise RuntimeError("the database is down")
            return 0

        return Task(name, 0.01, run, f"{name} failed")

    planned = [recorded("first"), recorded("broken"), recorded("last")]
    db = Database(f"sqlite:///{tmp_path / 'unused.db'}")

    async def three_rounds() -> None:
        async with housekeeping.running(db, FrozenClock(START), planned):
            while ran.count("last") < 3:
                await asyncio.sleep(0.01)

    try:
        asyncio.run(asyncio.wait_for(three_rounds(), 10))
    finally:
        db.dispose()
    assert ran[:9] == ["first", "broken", "last"] * 3
    assert "broken failed" in caplog.text


def test_the_sweeps_round_ends_timed_out_sessions_and_clears_their_alerts(
    client: TestClient[Litestar],
    world: World,
    db: Database,
    clock: FrozenClock,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for _ in range(3):
        guest(client, world)  # 3 of 3: the 90% and 100% alerts are raised
    assert len([a for a in alert_list(client, world) if a["active"]]) == 2
    clock.advance(world.acme.session_timeout + timedelta(minutes=1))

    every = housekeeping.tasks(settings.model_copy(update={"sweep_seconds": 30}))
    with caplog.at_level(logging.INFO, logger="seatkeeper.housekeeping"):
        for task in every:
            if task.seconds == 30:
                asyncio.run(housekeeping.run_once(task, db, clock))
    assert "Recorded 3 timed-out sessions" in caplog.text
    assert [a for a in alert_list(client, world) if a["active"]] == []


def test_the_statistics_task_tells_sqlites_planner_what_the_tables_hold(
    client: TestClient[Litestar], world: World, db: Database, settings: Settings
) -> None:
    """SQLite plans by the statistics ANALYZE leaves, and a table it has none for looks
    small; PostgreSQL's autovacuum keeps its own, so the task leaves it alone."""
    for _ in range(3):
        guest(client, world)
    (task,) = [t for t in housekeeping.tasks(settings) if t.name == "statistics"]
    known = task.run(db, START)
    if not db.is_sqlite:
        assert known == 0
        return
    with db.read() as conn:
        indexes = set(
            conn.exec_driver_sql(
                "SELECT idx FROM sqlite_stat1 WHERE tbl = 'agent_sessions'"
            ).scalars()
        )
    assert known > 1
    assert "ix_agent_sessions_open_start" in indexes  # the grid's sort by start


def test_the_retention_task_deletes_rows_past_an_accounts_retention(
    world: World, db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Registered with its own setting, it runs as the other tasks do, and says so."""
    insert_guests(db, world.acme.id, START - timedelta(days=50), 3)  # each lasts a day
    with db.write() as conn:
        ended = [s.id for s in stored_sessions.open_sessions(conn, world.acme.id)]
        stored_sessions.end_sessions(
            conn, ended, at=START - timedelta(days=49), reason=EndReason.LOGOUT
        )
    change_settings(db, OPERATOR, "acme", SettingsChange(retention_days=31), now=START)
    (task,) = [t for t in housekeeping.tasks(settings) if t.name == "retention"]
    assert task.seconds == 3600
    with caplog.at_level(logging.INFO, logger="seatkeeper.housekeeping"):
        asyncio.run(housekeeping.run_once(task, db, FrozenClock(START)))
    assert "Deleted 3 rows past their accounts' retention; their days are kept" in caplog.text
    with db.read() as conn:
        assert stored_sessions.sessions_by_id(conn, world.acme.id, ended) == {}


def test_a_run_that_did_one_thing_is_logged_in_the_singular(
    db: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    for count, said in ((1, "Kept the usage days of 1 account"), (2, "of 2 accounts")):

        def run(_db: Database, _now: datetime, n: int = count) -> int:
            return n

        task = Task("usage days", 1, run, "failed", ("Kept the usage days of %s", "account"))
        with caplog.at_level(logging.INFO, logger="seatkeeper.housekeeping"):
            asyncio.run(housekeeping.run_once(task, db, clock))
        assert caplog.messages[-1].endswith(said), caplog.messages
    assert "1 accounts" not in caplog.text
