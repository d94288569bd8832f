"""Retention: rows older than an account keeps them are deleted, a batch at a time, once
their days are kept for good; every report over any period answers as it did."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from seatkeeper.cli import main
from seatkeeper.clock import FrozenClock
from seatkeeper.domain import periods, usage
from seatkeeper.domain.errors import LicenseLimitReached
from seatkeeper.domain.model import Account, EndReason, Role, SettingsChange
from seatkeeper.domain.periods import Period
from seatkeeper.services import accounts, agents, history, retention
from seatkeeper.services import reports as reports_service
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.settings import change_settings
from seatkeeper.services.users import add_user
from seatkeeper.storage import sessions as stored_sessions
from seatkeeper.storage import usage as stored_usage
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions, usage_days
from tests import concurrency
from tests.services.retention_history import (
    audited_sessions,
    open_session,
    refusal_at,
    snapshot,
    write_history,
)

NOW = datetime(2026, 5, 15, 10, tzinfo=UTC)  # noon in Paris
# 31 days kept: rows of the days before 14 April (Paris) go; 29 March (23 hours) with them.
HORIZON = datetime(2026, 4, 13, 22, tzinfo=UTC)
FIRST, LAST = date(2026, 1, 6), date(2026, 5, 14)


@dataclass
class Kept:
    acme: Account  # keeps 31 days
    globex: Account  # keeps 400 (the default): nothing of it goes
    open_ids: list[Any]  # acme's sessions still open, however old


def make_account(db: Database, slug: str, zone: str) -> tuple[Account, list[int]]:
    accounts.create_account(
        db,
        OPERATOR,
        slug=slug,
        name=slug.title(),
        licenses=4,
        time_zone=zone,
        session_timeout=timedelta(minutes=30),
        now=datetime(2026, 1, 5, tzinfo=UTC),
    )
    users = []
    for n in range(5):
        user = add_user(
            db, Passwords(fast=True), OPERATOR, slug, username=f"agent{n}",
            password="agent-password", role=Role.AGENT, now=datetime(2026, 1, 5, tzinfo=UTC),
        )  # fmt: skip
        users.append(user.user.id)
    return accounts.get_account(db, slug), users


@pytest.fixture
def kept(db: Database) -> Kept:
    acme, acme_users = make_account(db, "acme", "Europe/Paris")
    globex, globex_users = make_account(db, "globex", "America/New_York")
    write_history(db, acme, acme_users, first=FIRST, last=LAST, now=NOW, seed=1)
    write_history(db, globex, globex_users, first=FIRST, last=LAST, now=NOW, seed=2, per_day=4)
    open_ids = [
        # Past its expiry long ago, and no sweep has recorded its end: open, never deleted.
        open_session(db, acme, started=datetime(2026, 2, 1, 9, tzinfo=UTC), user=acme_users[0]),
        open_session(db, acme, started=NOW - timedelta(hours=3), active=NOW),
    ]
    refusal_at(db, acme, HORIZON - timedelta(minutes=2))  # in the demand window of 14 April
    refusal_at(db, acme, HORIZON - timedelta(minutes=6))
    change_settings(db, OPERATOR, "acme", SettingsChange(retention_days=31), now=NOW)
    return Kept(accounts.get_account(db, "acme"), globex, open_ids)


def reports(db: Database, slug: str, now: datetime, **options: Any) -> dict[str, Any]:
    """The usage report over periods of every length, some across the horizon, then who
    held licenses and the timeout waste over some of them."""
    account = accounts.get_account(db, slug)
    today = now.astimezone(account.zone).date()
    chosen = {name: periods.named(today, name) for name in ("12m", "90d", "30d")} | {
        "across": Period(date(2026, 3, 1), date(2026, 5, 1)),
        "spring": Period(date(2026, 3, 27), date(2026, 3, 31)),
        "edge": Period(date(2026, 4, 13), date(2026, 4, 15)),
        "old": Period(date(2025, 12, 20), date(2026, 4, 13)),
    }
    with db.read() as conn:
        found: dict[str, Any] = {
            name: history.usage_report(conn, account, now, period=period, **options)[0]
            for name, period in chosen.items()
        }
    for name in ("12m", "across", "spring", "edge"):
        found[f"{name} holders"] = reports_service.holders(
            db, OPERATOR, slug, period=chosen[name], now=now
        ).rows
        waste = reports_service.timeout_waste(db, OPERATOR, slug, period=chosen[name], now=now)
        found[f"{name} waste"] = (waste.waste, waste.hint)
    return found


def final_days(db: Database, account: Account) -> dict[tuple[str, date], dict[str, Any]]:
    u = usage_days.c
    with db.read() as conn:
        rows = conn.execute(select(usage_days).where(u.account_id == account.id, u.final))
        return {(r.time_zone, r.day): dict(r._mapping) for r in rows}


def test_the_task_deletes_what_is_older_than_the_horizon_and_no_figure_changes(
    db: Database, kept: Kept
) -> None:
    assert retention.horizon(kept.acme, NOW) == HORIZON
    before, globex = reports(db, "acme", NOW), snapshot(db, kept.globex)
    was, audited = snapshot(db, kept.acme), audited_sessions(db, kept.acme)
    assert audited and len(was.sessions) > 2 * retention.ROWS  # batches, and audit rows
    with db.write() as conn:  # the reports kept their days: the task keeps them itself
        stored_usage.forget_usage(conn, kept.acme.id)

    deleted = retention.prune(db, NOW)

    now = snapshot(db, kept.acme)
    stay = {
        sid for sid, ended in was.sessions.items()
        if ended is None or ended >= HORIZON or sid in audited
    }  # fmt: skip
    assert set(now.sessions) == stay
    assert set(kept.open_ids) <= stay
    assert len(was.sessions) - len(stay) > retention.ROWS
    gone = {sid for sid, ended in was.sessions.items() if ended is not None and ended < HORIZON}
    assert set(now.interactions) == {i for i, sid in was.interactions.items() if sid not in gone}
    assert set(now.tokens) == {t for t, sid in was.tokens.items() if sid not in gone}
    window = HORIZON - usage.DEMAND_WINDOW
    assert set(now.refusals) == {d for d, at in was.refusals.items() if at >= window}
    assert now.audit == was.audit  # the audit trail, every row of it
    assert snapshot(db, kept.globex) == globex  # another account's rows, all of them
    assert deleted == (
        len(was.sessions) - len(now.sessions)
        + len(was.interactions) - len(now.interactions)
        + len(was.refusals) - len(now.refusals)
    )  # fmt: skip
    assert reports(db, "acme", NOW) == before
    finals = final_days(db, kept.acme)
    assert ("Europe/Paris", date(2026, 4, 13)) in finals
    assert ("Europe/Paris", date(2026, 3, 29)) in finals  # a day of 23 hours
    assert ("Europe/Paris", date(2026, 4, 14)) not in finals  # its rows are kept
    assert not [day for _, day in finals if day >= date(2026, 4, 14)]

    assert retention.prune(db, NOW) == 0  # a second run finds nothing more
    assert snapshot(db, kept.acme) == now


def test_kept_days_are_never_dropped_or_computed_again(db: Database, kept: Kept) -> None:
    before = reports(db, "acme", NOW)
    retention.prune(db, NOW)
    finals = final_days(db, kept.acme)
    with db.write() as conn:  # what a write in the past does to the kept days
        stored_usage.forget_usage(conn, kept.acme.id, since=None)
    assert final_days(db, kept.acme) == finals
    assert reports(db, "acme", NOW) == before
    assert reports(db, "acme", NOW, use_kept=False) == before
    history.rebuild(db, kept.acme, NOW)  # `seatkeeper history rebuild`
    assert final_days(db, kept.acme) == finals
    assert reports(db, "acme", NOW) == before
    # Another license total changes what non-final days count as time at the cap, not
    # what final days kept.
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=2), now=NOW)
    assert final_days(db, kept.acme) == finals


def test_a_run_stops_when_its_batches_are_spent_and_the_next_goes_on(
    db: Database, kept: Kept
) -> None:
    before = reports(db, "acme", NOW)
    budget = retention.Budget(batches=2, rows=100, seconds=None)
    first = retention.prune_account(db, kept.acme, NOW, budget=budget)
    assert (first.sessions, first.refusals, first.finished) == (200, 0, False)
    assert budget.spent
    assert reports(db, "acme", NOW) == before  # a run cut short changes no figure
    runs = 1
    while runs < 100:  # each run goes on where the last stopped
        done = retention.prune_account(
            db, kept.acme, NOW, budget=retention.Budget(batches=2, rows=100, seconds=None)
        )
        runs += 1
        assert done.sessions <= 200 and done.interactions + done.refusals <= 1000
        if done.finished:
            break
    assert runs > 3
    assert retention.prune(db, NOW) == 0
    assert reports(db, "acme", NOW) == before


def test_the_task_stops_at_a_day_it_could_not_keep(db: Database, kept: Kept) -> None:
    """A day not kept whole (here: its keeping failed) is a day whose rows stay."""
    calls: list[Period] = []

    def keep_until_march(
        database: Database, account: Account, period: Period, now: datetime
    ) -> int:
        calls.append(period)
        if period.first >= date(2026, 3, 1):
            return 0
        return original(database, account, period, now)

    original = history.keep_period
    was = snapshot(db, kept.acme)
    before = reports(db, "acme", NOW)
    with db.write() as conn:  # the reports kept their days: none is kept now
        stored_usage.forget_usage(conn, kept.acme.id)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(history, "keep_period", keep_until_march)
        retention.prune(db, NOW)
    kept_through = max(p.last for p in calls if p.first < date(2026, 3, 1))
    assert date(2026, 3, 1) <= kept_through < date(2026, 4, 13)
    last_final = max(day for _, day in final_days(db, kept.acme))
    assert last_final == kept_through
    edge = usage.day_start(last_final + timedelta(days=1), kept.acme.zone)
    now = snapshot(db, kept.acme)
    assert all(ended is None or ended >= edge for sid, ended in now.sessions.items()
               if sid not in audited_sessions(db, kept.acme))  # fmt: skip
    assert {s for s, e in was.sessions.items() if e is not None and e >= edge} <= set(now.sessions)
    assert reports(db, "acme", NOW) == before
    retention.prune(db, NOW)  # keeping works again: the rest goes
    assert reports(db, "acme", NOW) == before
    assert max(day for _, day in final_days(db, kept.acme)) == date(2026, 4, 13)


def test_history_prune_deletes_at_once_and_says_what(
    db_url: str, db: Database, kept: Kept, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("seatkeeper.cli.history.clock", FrozenClock(NOW))
    was = snapshot(db, kept.acme)

    def prune(*slugs: str) -> str:
        done = CliRunner().invoke(main, ["--database-url", db_url, "history", "prune", *slugs])
        assert done.exit_code == 0, done.output
        return done.output

    said = prune("acme")
    now = snapshot(db, kept.acme)
    sessions = len(was.sessions) - len(now.sessions)
    interactions = len(was.interactions) - len(now.interactions)
    refusals = len(was.refusals) - len(now.refusals)
    assert sessions > retention.ROWS and interactions > 1000  # 1,000 and more: a comma
    assert said == (
        f"Deleted {sessions:,} sessions, {interactions:,} Interactions and {refusals:,} "
        "refusals older than 31 days from acme; their days are kept.\n"
    )
    assert prune() == (  # every account
        "Nothing in acme is older than 31 days.\nNothing in globex is older than 400 days.\n"
    )
    refused = CliRunner().invoke(main, ["--database-url", db_url, "history", "prune", "nowhere"])
    assert refused.exit_code == 1 and "nowhere" in refused.output


def test_a_session_open_since_before_the_horizon_holds_back_the_rows_of_its_days(
    db: Database, kept: Kept
) -> None:
    """Its figures (how long it will have lasted) are not known until it ends: the days
    from its start cannot be kept for good, so their rows wait."""
    started = datetime(2026, 3, 20, 8, tzinfo=UTC)
    alive = open_session(db, kept.acme, started=started, active=NOW - timedelta(minutes=5))
    before = reports(db, "acme", NOW)
    retention.prune(db, NOW)
    assert max(day for _, day in final_days(db, kept.acme)) == date(2026, 3, 19)
    edge = usage.day_start(date(2026, 3, 20), kept.acme.zone)
    left = snapshot(db, kept.acme).sessions
    assert alive in left and left[alive] is None
    audited = audited_sessions(db, kept.acme)
    assert not [s for s, e in left.items() if e is not None and e < edge and s not in audited]
    assert len([s for s, e in left.items() if e is not None and edge <= e < HORIZON]) > 100
    assert reports(db, "acme", NOW) == before

    with db.write() as conn:  # it ends: the next run deletes the rest
        stored_sessions.end_session(conn, alive, at=NOW, reason=EndReason.LOGOUT)
    before = reports(db, "acme", NOW)
    retention.prune(db, NOW)
    assert max(day for _, day in final_days(db, kept.acme)) == date(2026, 4, 13)
    left = snapshot(db, kept.acme).sessions
    assert not [s for s, e in left.items() if e is not None and e < HORIZON and s not in audited]
    assert reports(db, "acme", NOW) == before


def test_after_a_change_of_zone_the_final_days_stay_as_they_were_kept(
    db: Database, kept: Kept
) -> None:
    retention.prune(db, NOW)
    paris = final_days(db, kept.acme)
    change_settings(db, OPERATOR, "acme", SettingsChange(time_zone="America/New_York"), now=NOW)
    later = NOW + timedelta(days=10)  # 25 May, 06:00 in New York
    before = reports(db, "acme", later)
    # A date whose rows are gone shows the day Paris kept for it.
    march = Period(date(2026, 3, 1), date(2026, 3, 31))
    with db.read() as conn:
        shown, _ = history.usage_report(conn, accounts.get_account(db, "acme"), later, period=march)
    kept_peaks = {day: row["max_concurrent"] for (_, day), row in paris.items()}
    assert [d.max_concurrent for d in shown.days] == [kept_peaks[day] for day in march.days]

    retention.prune(db, later)  # the horizon is 24 April in New York now
    finals = final_days(db, kept.acme)
    assert {k: v for k, v in finals.items() if k[0] == "Europe/Paris"} == paris
    # The new zone's days from the first that begins after Paris's last one ended.
    new_york = sorted(day for zone, day in finals if zone == "America/New_York")
    assert new_york[0] == date(2026, 4, 14) and new_york[-1] == date(2026, 4, 23)
    assert len(new_york) == 10
    assert reports(db, "acme", later) == before
    assert retention.prune(db, later) == 0


class _Running:
    """A clock that runs ten times as fast as time, from NOW."""

    def __init__(self) -> None:
        self._began = time.monotonic()

    def now(self) -> datetime:
        return NOW + timedelta(seconds=(time.monotonic() - self._began) * 10)


def test_the_task_racing_sessions_that_open_and_end_deletes_none_of_them(
    db: Database, kept: Kept
) -> None:
    """Agents take and free every license while the task deletes in small batches, each
    its own transaction: it deletes none of their sessions and the cap holds."""
    clock, stop, lock = _Running(), threading.Event(), threading.Lock()
    key = accounts.create_application_key(db, OPERATOR, account_slug="acme", name="k", now=NOW)
    race: dict[Any, bool] = {}  # the agents' sessions: still open?
    seen: list[int] = []  # sessions open, as the agents counted after each open
    failures: list[BaseException] = []

    def agent(seed: int) -> None:
        rng, passwords = random.Random(seed), Passwords(fast=True)
        while not stop.is_set():
            try:
                opened = agents.open_session(
                    db, passwords, application_key=key, credentials=None, clock=clock
                )
            except LicenseLimitReached:
                continue
            except BaseException as exc:  # pragma: no cover - told below
                failures.append(exc)
                return
            with lock:
                race[opened.session.id] = True
            with db.read() as conn:
                seen.append(stored_sessions.count_open_sessions(conn, kept.acme.id, clock.now()))
            time.sleep(rng.random() / 50)
            if rng.random() < 0.8:
                sid = str(opened.session.id)
                agents.logout(db, token=opened.token, session_id=sid, clock=clock)
                with lock:
                    race[opened.session.id] = False

    done: list[retention.Pruned] = []

    def task() -> None:
        budget = retention.Budget(batches=None, rows=20, seconds=None)
        done.append(retention.prune_account(db, kept.acme, NOW, budget=budget))

    threads = [threading.Thread(target=agent, args=(n,)) for n in range(4)]
    threads.append(threading.Thread(target=task))
    concurrency.race(
        threads,
        stop,
        done=lambda: bool(done) and len(race) >= 40,
        work=lambda: f"{len(race)} sessions opened, task done: {bool(done)}",
    )
    assert not failures
    assert done and done[0].finished and done[0].sessions > 20 * 10  # many small batches
    left = snapshot(db, kept.acme).sessions
    assert set(race) <= set(left)  # none of theirs deleted
    assert [sid for sid, is_open in race.items() if is_open and left[sid] is not None] == []
    assert max(seen) <= kept.acme.licenses
    with db.read() as conn:
        ours = conn.execute(
            select(agent_sessions.c.started_at, agent_sessions.c.ended_at).where(
                agent_sessions.c.id.in_(list(race))
            )
        ).all()
    assert concurrency.max_concurrent(ours) <= kept.acme.licenses
