"""Use beyond the licenses in the kept usage days: kept, read back and recounted exactly as
the session rows give it, on both backends."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import SettingsChange
from seatkeeper.domain.trueup import months
from seatkeeper.services import access, accounts, admin, agents
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.settings import change_settings
from seatkeeper.storage import usage as stored_usage
from seatkeeper.storage.db import Database
from tests.conftest import World
from tests.services.test_history import direct


def over_the_licenses(
    db: Database, passwords: Passwords, clock: FrozenClock, world: World
) -> tuple[access.Actor, list[agents.OpenedSession]]:
    """acme's three licenses in use, then its total lowered to one: two sessions beyond it
    until they time out, 30 minutes later."""
    held = [
        agents.open_session(
            db, passwords, application_key=world.app_key, credentials=None, clock=clock
        )
        for _ in range(3)
    ]
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=1), now=clock.now())
    return access.authenticate_token(db, world.admin_token), held


def test_kept_days_keep_the_overdraft_and_give_what_the_rows_give(
    db: Database, passwords: Passwords, clock: FrozenClock, world: World
) -> None:
    boss, _ = over_the_licenses(db, passwords, clock, world)
    clock.advance(timedelta(days=1))
    first = admin.account_usage(db, boss, "acme", now=clock.now()).report  # keeps the days
    day = next(d for d in first.days if d.max_concurrent)
    assert (day.overdraft_peak, day.overdraft_minutes, day.minutes_at_cap) == (2, 60, 30)
    account = accounts.get_account(db, "acme")
    with db.read() as conn:
        kept = stored_usage.usage_days(conn, account.id, account.time_zone, day.day)
    assert kept[day.day].overdraft == timedelta(minutes=60)
    again = admin.account_usage(db, boss, "acme", now=clock.now()).report  # from the kept
    assert again == first == direct(db, account, clock.now())
    (month,) = [m for m in months(again.days) if m.first <= day.day <= m.last]
    assert (month.overdraft_peak, month.overdraft_minutes) == (2, 60)


def test_a_new_license_total_counts_the_overdraft_again(
    db: Database, passwords: Passwords, clock: FrozenClock, world: World
) -> None:
    boss, _ = over_the_licenses(db, passwords, clock, world)
    clock.advance(timedelta(days=1))
    admin.account_usage(db, boss, "acme", now=clock.now())  # keeps the days against 1
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=2), now=clock.now())
    account = accounts.get_account(db, "acme")
    report = admin.account_usage(db, boss, "acme", now=clock.now()).report
    assert report == direct(db, account, clock.now())
    day = next(d for d in report.days if d.max_concurrent)
    assert (day.overdraft_peak, day.overdraft_minutes) == (1, 30)


def test_a_day_kept_without_its_overdraft_is_counted_again(
    db: Database, passwords: Passwords, clock: FrozenClock, world: World
) -> None:
    boss, _ = over_the_licenses(db, passwords, clock, world)
    clock.advance(timedelta(days=1))
    first = admin.account_usage(db, boss, "acme", now=clock.now()).report
    day = next(d.day for d in first.days if d.max_concurrent)
    account = accounts.get_account(db, "acme")
    with db.write() as conn:  # as an instance of an earlier version keeps a day
        kept = stored_usage.usage_days(conn, account.id, account.time_zone, day)
        blank = [replace(d, overdraft=None) for d in kept.values()]
        stored_usage.store_usage_days(conn, account.id, account.time_zone, blank)
    report = admin.account_usage(db, boss, "acme", now=clock.now()).report
    assert report == first == direct(db, account, clock.now())
    with db.read() as conn:
        kept = stored_usage.usage_days(conn, account.id, account.time_zone, day)
    assert kept[day].overdraft == timedelta(minutes=60)  # counted again, and kept
