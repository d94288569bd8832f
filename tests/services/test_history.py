"""The kept usage days give exactly what the session rows give, however time moves."""

from __future__ import annotations

import contextlib
import inspect
import logging
import random
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from seatkeeper.clock import FrozenClock
from seatkeeper.domain import periods, usage
from seatkeeper.domain.errors import LicenseLimitReached, SessionEnded
from seatkeeper.domain.model import Account, SettingsChange
from seatkeeper.domain.periods import Period
from seatkeeper.services import access, accounts, admin, agents, history
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.settings import change_settings
from seatkeeper.storage import usage as stored_usage
from seatkeeper.storage.db import Database
from tests.conftest import World, new_admin
from tests.waiting import PATIENCE, wait_until


def direct(db: Database, account: Account, now: datetime) -> usage.UsageReport:
    """The figures straight from the session rows, with nothing kept."""
    tz = ZoneInfo(account.time_zone)
    since, until = usage.window_bounds(now, tz)
    with db.read() as conn:
        return usage.report_from_intervals(
            stored_usage.session_intervals(conn, account.id, since=since, now=now),
            stored_usage.denials_in(
                conn, account.id, since=since - usage.DEMAND_WINDOW, until=until
            ),
            now=now,
            tz=tz,
            licenses=account.licenses,
            account_created_at=account.created_at,
        )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_days_match_the_session_rows(
    db: Database, passwords: Passwords, clock: FrozenClock, seed: int
) -> None:
    rng = random.Random(seed)
    # Around Paris's spring change, for days of 23 hours too.
    clock.set(datetime(2026, 3, 20, 6, tzinfo=UTC))
    account = accounts.create_account(
        db,
        OPERATOR,
        slug="hist",
        name="History",
        licenses=4,
        time_zone="Europe/Paris",
        session_timeout=timedelta(minutes=45),
        now=clock.now() - timedelta(days=40),
    )
    boss = new_admin(db, "hist", clock.now())
    key = accounts.create_application_key(
        db, OPERATOR, account_slug="hist", name="k", now=clock.now()
    )
    held: list[agents.OpenedSession] = []
    compared = 0
    for _ in range(160):
        clock.advance(timedelta(minutes=rng.choice([1, 5, 20, 50, 180, 600])))
        action = rng.random()
        try:
            if action < 0.5:
                held.append(
                    agents.open_session(
                        db, passwords, application_key=key, credentials=None, clock=clock
                    )
                )
            elif action < 0.75 and held:
                s = held.pop(rng.randrange(len(held)))
                agents.logout(db, token=s.token, session_id=str(s.session.id), clock=clock)
            elif action < 0.85 and held:
                s = held.pop(rng.randrange(len(held)))
                admin.terminate_sessions(db, boss, "hist", [s.session.id], clock=clock)
            elif held:
                s = rng.choice(held)
                agents.heartbeat(db, token=s.token, session_id=str(s.session.id), clock=clock)
        except (LicenseLimitReached, SessionEnded):
            pass
        if rng.random() < 0.4:
            kept = admin.account_usage(db, boss, "hist", now=clock.now()).report
            assert kept == direct(db, account, clock.now()), clock.now()
            compared += 1
    assert compared > 40
    with db.read() as conn:
        assert stored_usage.usage_days(
            conn,
            account.id,
            "Europe/Paris",
            usage.window_days(clock.now(), ZoneInfo("Europe/Paris"))[0],
        )  # days were kept, and used


def test_a_clock_going_back_drops_the_days_it_changes(
    db: Database, passwords: Passwords, clock: FrozenClock, world: World
) -> None:
    account = accounts.get_account(db, "acme")
    boss = access.authenticate_token(db, world.admin_token)
    key = world.app_key
    clock.advance(timedelta(days=2))
    admin.account_usage(db, boss, "acme", now=clock.now())  # keeps the days so far
    clock.advance(timedelta(days=-1, hours=-3))  # a test (or a restored backup) goes back
    agents.open_session(db, passwords, application_key=key, credentials=None, clock=clock)
    clock.advance(timedelta(days=1, hours=3))
    assert admin.account_usage(db, boss, "acme", now=clock.now()).report == direct(
        db, account, clock.now()
    )


def test_a_new_license_total_computes_time_at_the_cap_again(
    db: Database, passwords: Passwords, clock: FrozenClock, world: World
) -> None:
    boss = access.authenticate_token(db, world.admin_token)
    key = world.app_key
    for _ in range(3):  # acme's three licenses, in use till they time out (30 minutes)
        agents.open_session(db, passwords, application_key=key, credentials=None, clock=clock)
    clock.advance(timedelta(minutes=10))
    with pytest.raises(LicenseLimitReached):
        agents.open_session(db, passwords, application_key=key, credentials=None, clock=clock)
    clock.advance(timedelta(days=1))
    first = admin.account_usage(db, boss, "acme", now=clock.now()).report  # keeps the days
    yesterday = first.days[-2]
    assert (yesterday.minutes_at_cap, yesterday.peak_demand, first.licenses_needed) == (30, 4, 4)

    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=4), now=clock.now())
    account = accounts.get_account(db, "acme")
    again = admin.account_usage(db, boss, "acme", now=clock.now()).report
    assert again == direct(db, account, clock.now())
    assert (again.days[-2].minutes_at_cap, again.days[-2].peak_demand) == (0, 4)


def test_warming_keeps_the_days_of_accounts_that_have_none(
    db: Database, passwords: Passwords, clock: FrozenClock, world: World
) -> None:
    agents.open_session(db, passwords, application_key=world.app_key, credentials=None, clock=clock)
    clock.advance(timedelta(days=2))
    accounts_now = {a.slug for a in accounts.all_accounts(db)}
    assert history.warm(db, clock.now()) == len(accounts_now)  # acme, globex, ops
    assert history.warm(db, clock.now()) == 0  # nothing left behind
    for account in accounts.all_accounts(db):
        tz = ZoneInfo(account.time_zone)
        with db.read() as conn:
            kept = stored_usage.usage_days(
                conn, account.id, account.time_zone, usage.window_days(clock.now(), tz)[0]
            )
        assert len(kept) >= 29, account.slug  # every settled day, and today so far
    boss = access.authenticate_token(db, world.admin_token)
    account = accounts.get_account(db, "acme")
    assert admin.account_usage(db, boss, "acme", now=clock.now()).report == direct(
        db, account, clock.now()
    )
    clock.advance(timedelta(days=2))
    assert history.warm(db, clock.now()) == len(accounts_now)  # behind again, after a while


def in_function(thread: threading.Thread, function: Callable[..., object]) -> bool:
    """Whether `thread` is running `function` now (anywhere in its stack)."""
    code = inspect.unwrap(function).__code__
    frame = sys._current_frames().get(thread.ident or 0)
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


def test_two_transactions_keeping_the_same_days_at_once_both_succeed(
    db: Database, clock: FrozenClock, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    account = accounts.get_account(db, "acme")
    with db.read() as conn:
        _, fresh = history.usage_report(conn, account, clock.now())
    assert fresh
    caplog.set_level(logging.INFO, logger="seatkeeper.history")
    second: list[BaseException | None] = []

    def waiting() -> bool:
        """The second one waits for the first: on PostgreSQL for its rows (a lock of this
        database not granted); on SQLite for the write lock, which this process's writers
        queue for in `Database.write` (the second is in there: the first holds it)."""
        if db.is_sqlite:
            return in_function(racer, Database.write)
        with db.read() as reader:
            ungranted = reader.execute(
                text(
                    "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid)"
                    " WHERE NOT granted AND datname = current_database()"
                )
            ).scalar_one()
        return bool(ungranted)

    with db.write() as conn:  # the first one, still to commit when the second one starts
        stored_usage.store_usage_days(conn, account.id, account.time_zone, fresh)

        def keep_too() -> None:
            try:
                history.keep(db, account, fresh)
                second.append(None)
            except BaseException as exc:
                second.append(exc)

        racer = threading.Thread(target=keep_too)
        racer.start()
        wait_until(lambda: waiting() or not racer.is_alive(), "the second to wait for the first")
    racer.join(PATIENCE)
    assert second == [None]
    # On PostgreSQL the second one did meet the first one's rows (SQLite's writers queue).
    met = "Usage days of account acme were kept by another transaction" in caplog.text
    assert met != db.is_sqlite
    with db.read() as conn:
        kept = stored_usage.usage_days(conn, account.id, account.time_zone, fresh[0].day)
    assert sorted(kept) == sorted(d.day for d in fresh)


def test_a_rebuild_tells_of_every_day_and_gives_the_same_figures(
    db: Database, passwords: Passwords, clock: FrozenClock, world: World
) -> None:
    agents.open_session(db, passwords, application_key=world.app_key, credentials=None, clock=clock)
    account = accounts.get_account(db, "acme")
    ticks: list[None] = []
    history.rebuild(db, account, clock.now(), on_day=lambda: ticks.append(None))
    assert len(ticks) == usage.WINDOW_DAYS
    boss = access.authenticate_token(db, world.admin_token)
    assert admin.account_usage(db, boss, "acme", now=clock.now()).report == direct(
        db, account, clock.now()
    )


def test_a_rebuild_replaces_every_kept_day_wrong_ones_and_other_zones_too(
    db: Database, passwords: Passwords, clock: FrozenClock, world: World
) -> None:
    agents.open_session(db, passwords, application_key=world.app_key, credentials=None, clock=clock)
    account = accounts.get_account(db, "acme")
    clock.advance(timedelta(days=2))
    with db.read() as conn:
        _, fresh = history.usage_report(conn, account, clock.now())
    history.keep(db, account, fresh)
    wrong = replace(fresh[0], max_concurrent=fresh[0].max_concurrent + 7)
    with db.write() as conn:
        stored_usage.store_usage_days(conn, account.id, account.time_zone, [wrong])
        stored_usage.store_usage_days(conn, account.id, "Asia/Tokyo", [wrong])
    history.rebuild(db, account, clock.now())
    with db.read() as conn:
        here = stored_usage.usage_days(conn, account.id, account.time_zone, fresh[0].day)
        tokyo = stored_usage.usage_days(conn, account.id, "Asia/Tokyo", fresh[0].day)
    assert here[fresh[0].day] == fresh[0]
    assert tokyo == {}


def direct_over(db: Database, account: Account, period: Period, now: datetime) -> usage.UsageReport:
    """The figures of `period` straight from the session rows, with nothing kept."""
    tz = ZoneInfo(account.time_zone)
    since = usage.day_start(period.first, tz)
    until = usage.day_start(period.last + timedelta(days=1), tz)
    with db.read() as conn:
        return usage.report_from_intervals(
            stored_usage.session_intervals(conn, account.id, since=since, now=now),
            stored_usage.denials_in(
                conn, account.id, since=since - usage.DEMAND_WINDOW, until=until
            ),
            now=now,
            tz=tz,
            licenses=account.licenses,
            account_created_at=account.created_at,
            calendar=period.days,
        )


def test_any_period_across_both_clock_changes_matches_the_session_rows(
    db: Database, passwords: Passwords, clock: FrozenClock
) -> None:
    rng = random.Random(17)
    clock.set(datetime(2026, 2, 20, 6, tzinfo=UTC))
    account = accounts.create_account(
        db,
        OPERATOR,
        slug="year",
        name="A year",
        licenses=3,
        time_zone="Europe/Paris",
        session_timeout=timedelta(minutes=30),
        now=clock.now(),
    )
    key = accounts.create_application_key(
        db, OPERATOR, account_slug="year", name="k", now=clock.now()
    )
    held: list[agents.OpenedSession] = []
    while clock.now() < datetime(2026, 11, 10, tzinfo=UTC):
        clock.advance(timedelta(minutes=rng.choice([3, 40, 200, 900, 2000])))
        if rng.random() < 0.6:
            with contextlib.suppress(LicenseLimitReached):
                held.append(
                    agents.open_session(
                        db, passwords, application_key=key, credentials=None, clock=clock
                    )
                )
        elif held:
            s = held.pop(rng.randrange(len(held)))
            with contextlib.suppress(SessionEnded):
                agents.logout(db, token=s.token, session_id=str(s.session.id), clock=clock)
    today = clock.now().astimezone(ZoneInfo("Europe/Paris")).date()
    asked = [
        periods.parse(today, first="2026-03-01", last="2026-03-28"),
        periods.parse(today, first="2026-03-29", last="2026-04-02"),  # the day before kept
        periods.named(today, "12m"),  # from before the account, over both changes
        periods.parse(today, first="2026-03-27", last="2026-04-02"),  # a 23-hour day
        periods.parse(today, first="2026-10-20", last="2026-10-31"),  # a 25-hour day
        periods.parse(today, first="2026-03-01", last="2026-10-31"),  # both, by months
        periods.named(today, "90d"),
    ]
    for period in asked * 2:  # the second time from the days kept the first
        with db.read() as conn:
            report, fresh = history.usage_report(conn, account, clock.now(), period=period)
        history.keep(db, account, fresh)
        assert report == direct_over(db, account, period, clock.now()), period
        assert [d.day for d in report.days] == period.days
    assert not fresh  # every day of the last asked was kept already
