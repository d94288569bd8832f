"""Capacity alerts clear as use falls back: in the transaction of the logout, termination or
timeout that takes it below their margin, or within a second as sessions time out unnoticed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event

from seatkeeper.clock import FrozenClock
from seatkeeper.domain import alerts as rules
from seatkeeper.domain.alerts import Alert
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services import admin, alerts, expiry, seats
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.services.users import change_user
from seatkeeper.storage import alerts as stored
from seatkeeper.storage import sessions
from seatkeeper.storage.db import Database
from tests.conftest import World, new_admin
from tests.services.test_seats import agent, guest, release


def active(db: Database, world: World) -> dict[int, Alert]:
    with db.read() as conn:
        return stored.active(conn, world.acme.id)


def all_alerts(db: Database, world: World, now: datetime) -> list[Alert]:
    with db.read() as conn:
        return stored.since(conn, world.acme.id, now - timedelta(days=1))


def opened(db: Database, world: World, clock: FrozenClock, count: int) -> list[seats.Opened]:
    answers = seats.decide(db, clock, [guest(world) for _ in range(count)])
    assert all(isinstance(a, seats.Opened) for a in answers)
    return [a for a in answers if isinstance(a, seats.Opened)]


def levels_50_and_100(db: Database, world: World, clock: FrozenClock) -> None:
    """Acme's 3 licenses: 50% is raised at 2 sessions and cleared at 1; 100% at 3 and 2."""
    change = SettingsChange(alert_levels=(50, 100))
    change_settings(db, OPERATOR, "acme", change, now=clock.now())


def test_a_crossing_is_needed_to_clear_and_only_use_falling_over_a_point_crosses() -> None:
    assert rules.may_clear([50, 100], 3, before=3, after=2)  # 100%'s point is 2
    assert rules.may_clear([50, 100], 3, before=2, after=1)  # 50%'s is 1
    assert rules.may_clear([100], 20, before=25, after=5)  # over it by far
    assert not rules.may_clear([100], 20, before=19, after=10)  # already at or below it
    assert not rules.may_clear([100], 20, before=20, after=20)  # nothing fell
    assert not rules.may_clear([], 20, before=20, after=0)  # no levels


def test_each_logout_that_takes_use_below_a_margin_clears_its_alert_at_once(
    db: Database, world: World, clock: FrozenClock
) -> None:
    levels_50_and_100(db, world, clock)
    first, second, third = opened(db, world, clock, 3)
    assert sorted(active(db, world)) == [50, 100]
    clock.advance(timedelta(seconds=1))
    seats.decide(db, clock, [release(third)])  # 2 of 3: 100% clears, 50% stays
    assert sorted(active(db, world)) == [50]
    clock.advance(timedelta(seconds=1))
    seats.decide(db, clock, [release(second)])  # 1 of 3: 50% clears
    assert active(db, world) == {}
    cleared = {
        a.level: (a.cleared_at, a.cleared_in_use) for a in all_alerts(db, world, clock.now())
    }
    assert cleared == {
        100: (clock.now() - timedelta(seconds=1), 2),
        50: (clock.now(), 1),
    }
    assert alerts.evaluate(db, clock.now()) == 0  # nothing left for the periodic task
    seats.decide(db, clock, [release(first)])


def test_a_batch_that_reaches_a_level_and_falls_back_raises_and_clears_it(
    db: Database, world: World, clock: FrozenClock
) -> None:
    first, _ = opened(db, world, clock, 2)
    clock.advance(timedelta(seconds=1))
    seats.decide(db, clock, [guest(world), release(first)])  # 3 of 3, then 2
    assert active(db, world) == {}
    found = sorted(
        (a.level, a.raised_in_use, a.cleared_in_use) for a in all_alerts(db, world, clock.now())
    )
    assert found == [(90, 3, 2), (100, 3, 2)]


def test_a_claim_that_ends_sessions_timed_out_unnoticed_clears_their_alerts(
    db: Database, world: World, clock: FrozenClock
) -> None:
    opened(db, world, clock, 3)
    assert sorted(active(db, world)) == [90, 100]
    clock.advance(world.acme.session_timeout + timedelta(minutes=1))
    opened(db, world, clock, 1)  # the 3 are ended as timed out in this claim's transaction
    assert active(db, world) == {}


def test_a_termination_that_takes_use_below_the_margin_clears_the_alerts_at_once(
    db: Database, world: World, clock: FrozenClock
) -> None:
    levels_50_and_100(db, world, clock)
    held = opened(db, world, clock, 3)
    boss = new_admin(db, "acme", clock.now())
    clock.advance(timedelta(seconds=1))
    admin.terminate_sessions(db, boss, "acme", [held[0].session.id], clock=clock)
    assert sorted(active(db, world)) == [50]
    admin.terminate_sessions(db, boss, "acme", [s.session.id for s in held[1:]], clock=clock)
    assert active(db, world) == {}
    assert {a.cleared_in_use for a in all_alerts(db, world, clock.now())} == {2, 0}


def test_disabling_an_agent_whose_session_ends_clears_the_alerts_at_once(
    db: Database, world: World, clock: FrozenClock
) -> None:
    seats.decide(db, clock, [agent(db, world, "bob"), guest(world), guest(world)])
    assert sorted(active(db, world)) == [90, 100]
    change_user(db, OPERATOR, "acme", "bob", enabled=False, now=clock.now())
    assert active(db, world) == {}


def test_the_sweep_clears_the_alerts_of_the_sessions_it_times_out(
    db: Database, world: World, clock: FrozenClock
) -> None:
    opened(db, world, clock, 3)
    clock.advance(world.acme.session_timeout + timedelta(minutes=1))
    assert expiry.sweep_expired(db, now=clock.now()) == 3
    assert active(db, world) == {}
    assert {a.cleared_in_use for a in all_alerts(db, world, clock.now())} == {0}


def test_the_periodic_evaluation_ends_the_timed_out_sessions_with_the_alerts_it_clears(
    db: Database, world: World, clock: FrozenClock
) -> None:
    opened(db, world, clock, 3)
    assert alerts.evaluate(db, clock.now()) == 0  # still at 3 of 3
    clock.advance(world.acme.session_timeout + timedelta(minutes=1))
    assert alerts.evaluate(db, clock.now()) == 1
    assert active(db, world) == {}
    with db.read() as conn:
        assert sessions.open_sessions(conn, world.acme.id) == []
        assert sessions.accounts_with_overdue_sessions(conn, clock.now()) == []
    assert alerts.evaluate(db, clock.now()) == 0


@contextmanager
def alert_reads(db: Database) -> Iterator[list[str]]:
    """The statements that touch the alerts table while the block runs."""
    seen: list[str] = []

    def noted(*args: Any) -> None:
        statement: str = args[2]
        if "capacity_alerts" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", noted)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", noted)


def test_claims_and_logouts_that_cross_no_level_read_no_alerts(
    db: Database, world: World, clock: FrozenClock
) -> None:
    """Acme has 3 licenses and levels 90 and 100: both reached at 3, cleared at 2."""
    with alert_reads(db) as seen:
        first, second = opened(db, world, clock, 2)
        seats.decide(db, clock, [release(first)])  # 2 to 1: below the points already
        assert alerts.evaluate(db, clock.now()) == 0  # no alert active: one small read
    assert len(seen) == 1
    with alert_reads(db) as seen:
        opened(db, world, clock, 2)  # 3 of 3: raised
        seats.decide(db, clock, [release(second)])  # 3 to 2: cleared
    assert seen and active(db, world) == {}
