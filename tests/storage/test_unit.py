"""The unit of work: what storage records on a write is announced to the pages, drops the
kept usage days it makes wrong, and is counted after COMMIT; a rollback does none of it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.events import (
    AccountChanged,
    Event,
    HistoryWritten,
    InteractionOpened,
    OpenDenied,
    SessionEnded,
    SessionOpened,
    history_changed_since,
)
from seatkeeper.domain.model import EndReason
from seatkeeper.domain.usage import Tally, UsageDay
from seatkeeper.storage import changes, sessions, usage
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import account_changes
from seatkeeper.storage.unit import Unit, record
from tests.conftest import World


def kept_days(db: Database, world: World) -> set[date]:
    with db.read() as conn:
        return set(usage.usage_days(conn, world.acme.id, world.acme.time_zone, date.min))


def keep_two_days(db: Database, world: World, clock: FrozenClock) -> None:
    """Keep yesterday, and today up to a minute from now (kept by an instance whose clock
    is ahead): a change now makes the second wrong, not the first."""
    now = clock.now()
    days = [
        UsageDay.of(date(2026, 1, 1), Tally.opening(now - timedelta(days=1), 0), 0, 10),
        UsageDay.of(date(2026, 1, 2), Tally.opening(now + timedelta(minutes=1), 0), 0, 10),
    ]
    with db.write() as conn:
        usage.store_usage_days(conn, world.acme.id, world.acme.time_zone, days)


def feed_rows(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(account_changes)).scalar_one())


@pytest.mark.parametrize("reason", [EndReason.LOGOUT, EndReason.TERMINATED, EndReason.DISABLED])
def test_history_changes_with_opens_refusals_and_ends_but_not_late_timeouts(
    clock: FrozenClock, reason: EndReason
) -> None:
    at = clock.now()
    assert history_changed_since(SessionOpened(1, at)) == at
    assert history_changed_since(OpenDenied(1, at)) == at
    assert history_changed_since(SessionEnded(1, at, reason)) == at
    # usage already ends an unended session at its expiry: recording it changes nothing
    assert history_changed_since(SessionEnded(1, at, EndReason.TIMEOUT)) is None
    assert history_changed_since(InteractionOpened(1, at)) is None
    assert history_changed_since(AccountChanged(1, at)) is None
    earlier = at - timedelta(days=3)
    assert history_changed_since(HistoryWritten(1, at, earlier)) == earlier


def test_a_unit_announces_each_account_once_and_drops_from_the_earliest_change(
    clock: FrozenClock,
) -> None:
    at = clock.now()
    unit = Unit(
        [
            SessionOpened(1, at),
            InteractionOpened(1, at + timedelta(seconds=5)),
            OpenDenied(2, at + timedelta(seconds=1)),
            SessionEnded(2, at - timedelta(seconds=9), EndReason.LOGOUT),
            SessionEnded(3, at, EndReason.TIMEOUT),
        ]
    )
    assert unit.announced() == {1: at + timedelta(seconds=5), 2: at + timedelta(seconds=1), 3: at}
    assert unit.stale_days() == {1: at, 2: at - timedelta(seconds=9)}


def test_storage_refuses_to_record_outside_a_write_transaction(
    db: Database, world: World, clock: FrozenClock
) -> None:
    with db.read() as conn, pytest.raises(RuntimeError, match=r"Database\.write"):
        record(conn, SessionOpened(world.acme.id, clock.now()))


def test_a_write_announces_drops_kept_days_and_counts_after_commit(
    db: Database, world: World, clock: FrozenClock
) -> None:
    counted: list[Sequence[Event]] = []
    db.after_commit = counted.append
    keep_two_days(db, world, clock)
    assert counted == []  # keeping days records nothing
    with db.read() as conn:
        latest = changes.latest_change(conn)
    before = feed_rows(db)
    now = clock.now()
    with db.write() as conn:
        sessions.insert_session(
            conn, account_id=world.acme.id, user_id=None, now=now, expires_at=now + timedelta(1)
        )
        assert counted == []  # not before COMMIT
    assert [type(e) for (e,) in counted] == [SessionOpened]
    assert kept_days(db, world) == {date(2026, 1, 1)}
    if db.is_sqlite:
        assert feed_rows(db) == before + 1
        with db.read() as conn:
            assert changes.changes_since(conn, latest)[0] == {world.acme.id}


def test_a_rolled_back_write_announces_drops_and_counts_nothing(
    db: Database, world: World, clock: FrozenClock
) -> None:
    counted: list[Sequence[Event]] = []
    db.after_commit = counted.append
    keep_two_days(db, world, clock)
    before = feed_rows(db)
    now = clock.now()
    with pytest.raises(RuntimeError), db.write() as conn:
        sessions.insert_session(
            conn, account_id=world.acme.id, user_id=None, now=now, expires_at=now + timedelta(1)
        )
        raise RuntimeError("changed my mind")
    assert counted == []
    assert kept_days(db, world) == {date(2026, 1, 1), date(2026, 1, 2)}
    assert feed_rows(db) == before


def test_a_counter_that_fails_after_commit_neither_undoes_nor_fails_the_write(
    db: Database, world: World, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_events: Sequence[Event]) -> None:
        raise RuntimeError("the metrics are broken")

    db.after_commit = broken
    now = clock.now()
    with db.write() as conn:
        opened = sessions.insert_session(
            conn, account_id=world.acme.id, user_id=None, now=now, expires_at=now + timedelta(1)
        )
    with db.read() as conn:
        assert [s.id for s in sessions.open_sessions(conn, world.acme.id)] == [opened.id]
    assert "could not be counted" in caplog.text
