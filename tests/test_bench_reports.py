"""The reports benchmark's own parts, small: the kept days it seeds are days the usage
report reads, and the month its growth figures come from writes the tables a working
day writes, with kept days that add up. (`python -m bench --quick --only reports` runs
the whole against seatkeeper.)"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from bench import growth, kept, month, seed
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.periods import Period
from seatkeeper.services import history
from seatkeeper.storage import accounts as stored_accounts
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import metadata, usage_day_holders, usage_day_timeouts
from seatkeeper.storage.usage import usage_days
from tests.conftest import PASSWORD, World, bearer

Client = TestClient[Litestar]
ZONE = ZoneInfo("America/New_York")
# Rows a working day adds that are not the month's growth: the change feed is pruned
# within minutes, an application key's last use is one row per key, and a capacity alert
# is raised as use crosses a level (here, as the pool fills), not by each session.
NOT_GROWTH = {"account_changes", "api_key_uses", "capacity_alerts"}


def test_the_kept_days_seeded_are_what_the_usage_report_reads(db_url: str) -> None:
    first, last = date(2025, 10, 20), date(2025, 11, 10)  # over New York's fall back
    created = seed._midnight(first, ZONE) - timedelta(days=1)
    busy = seed.provision(
        db_url, "busy", licenses=100, time_zone="America/New_York", created_at=created
    )
    named = seed.agents(db_url, busy, 8)
    holders_before = growth.table_sizes(db_url)[0][usage_day_holders.name]
    made = kept.kept_days(
        db_url,
        busy,
        first=first,
        last=last,
        time_zone="America/New_York",
        per_day=1_000,
        licenses=100,
        agents=sorted(named),
    )
    days = (last - first).days + 1
    db = Database(db_url)
    try:
        with db.read() as conn:
            account = stored_accounts.account_by_slug(conn, "busy")
            assert account is not None
            stored = usage_days(conn, busy.id, "America/New_York", first)
            report, fresh = history.usage_report(
                conn, account, datetime.now(UTC), period=Period(first, last)
            )
            timeouts = Counter(
                conn.execute(
                    select(usage_day_timeouts.c.day).where(
                        usage_day_timeouts.c.account_id == busy.id
                    )
                ).scalars()
            )
            guests = conn.execute(
                select(func.count()).where(
                    usage_day_holders.c.account_id == busy.id, usage_day_holders.c.holder_id == 0
                )
            ).scalar_one()
    finally:
        db.dispose()
    assert sorted(stored) == [first + timedelta(days=n) for n in range(days)]
    assert all(row.final and row.licenses == 100 for row in stored.values())
    assert stored[last].open_at_through == 0  # what the session rows after it start from
    fall_back = stored[date(2025, 11, 2)]
    assert fall_back.through - seed._midnight(date(2025, 11, 2), ZONE) == timedelta(hours=25)
    assert fresh == []  # every day of the period answered from the kept rows
    assert [d.max_concurrent for d in report.days] == [
        stored[d].max_concurrent for d in sorted(stored)
    ]
    assert timeouts == {day: len(kept.CANDIDATES) for day in stored}
    assert guests == days
    assert made.rows > days * (1 + len(kept.CANDIDATES) + 1)  # and the agents' rows
    assert growth.table_sizes(db_url)[0][usage_day_holders.name] > holders_before


def test_a_month_adds_up_to_its_kept_days() -> None:
    account = seed.Account("t", 1, 1, "", "")
    agents = {10: "agent-00001", 11: "agent-00002", 12: "agent-00003"}
    first = date(2026, 10, 20)  # its 30 days hold New York's fall back, 1 Nov
    made = month.make_month(account, agents, first=first, tz=ZONE)
    days, holders, timeouts = (
        rows for _, rows in month.kept_rows(account, made, first=first, tz=ZONE, licenses=4)
    )
    assert len(days) == month.DAYS  # weekends too
    started = Counter(r["started_at"].astimezone(ZONE).date() for r in made.rows["agent_sessions"])
    for day in days:
        mine = [h for h in holders if h["day"] == day["day"]]
        assert sum(h["sessions"] for h in mine) == started[day["day"]]
        if day["day"].weekday() < 5:
            assert {h["holder_id"] for h in mine} == {0, *agents}
        candidates = {t["minutes"]: t for t in timeouts if t["day"] == day["day"]}
        assert sorted(candidates) == list(kept.CANDIDATES)
        assert candidates[30]["freed_micros"] == 0  # the account's own timeout changes nothing
        assert candidates[30]["peak"] == day["max_concurrent"]
        assert candidates[5]["peak"] <= day["max_concurrent"]
        waited = sum(h["idle_micros"] for h in mine)  # every timed-out session waited 30 minutes
        assert candidates[5]["freed_micros"] == waited * 25 // 30
    fall_back = next(d for d in days if d["day"] == date(2026, 11, 1))
    assert fall_back["through"] - seed._midnight(date(2026, 11, 1), ZONE) == timedelta(hours=25)
    assert any(h["idle_micros"] for h in holders)
    assert len(made.rows["audit_events"]) == sum(
        r["end_reason"] == "terminated" for r in made.rows["agent_sessions"]
    )


def test_peaks_count_touching_sessions_once() -> None:
    assert month._peak([(0, 10), (10, 20)]) == 1
    assert month._peak([(0, 10), (5, 20), (9, 11)]) == 3
    assert month._peak([]) == 0


def test_the_month_writes_the_tables_a_working_day_writes(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    """A day of an Agent Application over HTTP: what it adds, table by table, is what the
    growth month inserts."""
    before = _counts(db)

    def start(body: dict[str, str]) -> dict[str, str]:
        answer = client.post("/api/v1/sessions", json=body, headers=bearer(world.app_key))
        assert answer.status_code in (200, 201, 409), answer.text
        result: dict[str, str] = answer.json()
        return result

    alice = start({"username": "alice", "password": PASSWORD})
    start({"username": "alice", "password": PASSWORD})  # a second browser: a second token
    guest = start({})
    start({"username": "bob", "password": PASSWORD})
    assert "error" in start({"username": "carol", "password": PASSWORD})  # 3 licenses: refused
    sid, token = alice["session_id"], bearer(alice["token"])
    clock.advance(timedelta(minutes=5))
    opened = client.post(
        f"/api/v1/sessions/{sid}/interactions", json={"flow": "Password Reset"}, headers=token
    )
    iid = opened.json()["interaction_id"]
    client.post(
        f"/api/v1/sessions/{sid}/interactions/{iid}/steps", json={"step": "Verify"}, headers=token
    )
    client.delete(f"/api/v1/sessions/{sid}/interactions/{iid}", headers=token)
    client.delete(f"/api/v1/sessions/{sid}", headers=token)
    ended = client.post(
        "/api/v1/accounts/acme/active-sessions/terminate",
        json={"session_ids": [guest["session_id"]]},
        headers=bearer(world.admin_token),
    )
    assert ended.status_code == 200
    grown = {name for name, n in _counts(db).items() if n > before[name]}
    assert grown - NOT_GROWTH == {t.name for t in month.TABLES}


def _counts(db: Database) -> dict[str, int]:
    with db.read() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


def test_retention_stops_the_raw_rows_adding_up_but_not_what_it_keeps() -> None:
    sizes = {"agent_sessions": 100.0, "interactions": 300.0, "audit_events": 10.0}
    found = growth.Growth({}, sizes | {"usage_day_holders": 20.0}, 0, 0, audited=0.1)
    assert found.project(1) == (430.0, 430.0)
    kept_months = 400 / (365.25 / 12)  # 13.1: the default retention
    without, with_retention = found.project(24)
    assert without == 24 * 430.0
    # Raw rows for 13.1 months; every month's audit rows, the sessions they name and kept days.
    assert with_retention == pytest.approx(kept_months * (400.0 - 10.0) + 24 * (10.0 + 10.0 + 20.0))
