"""The overdraft: sessions beyond the licenses, each marked, granted by a Super Admin only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from seatkeeper.clock import FrozenClock
from seatkeeper.domain import alerts as rules
from seatkeeper.domain.errors import InvalidFields, LicenseLimitReached, NotAllowed
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services import accounts, seats
from seatkeeper.services.access import OPERATOR, authenticate_token
from seatkeeper.services.settings import change_settings
from seatkeeper.storage import alerts as stored_alerts
from seatkeeper.storage import audit
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions
from tests.conftest import World, new_admin
from tests.services.test_seats import guest, release


def grant(db: Database, clock: FrozenClock, overdraft: int) -> None:
    change_settings(db, OPERATOR, "acme", SettingsChange(overdraft=overdraft), now=clock.now())


def marks(db: Database, world: World) -> dict[object, bool]:
    """Each open session of acme, and whether it is marked as overdraft."""
    s = agent_sessions.c
    with db.read() as conn:
        rows = conn.execute(
            select(s.id, s.overdraft).where(s.account_id == world.acme.id, s.ended_at.is_(None))
        )
        return {row.id: row.overdraft for row in rows}


def test_claims_open_up_to_licenses_and_overdraft_and_those_beyond_the_licenses_are_marked(
    db: Database, world: World, clock: FrozenClock
) -> None:
    grant(db, clock, 2)  # acme has 3 licenses
    answers = seats.decide(db, clock, [guest(world) for _ in range(6)])
    opened = [a for a in answers if isinstance(a, seats.Opened)]
    assert [a.session.overdraft for a in opened] == [False, False, False, True, True]
    assert answers[5] == seats.Refused(3, 2)
    assert marks(db, world) == {a.session.id: a.session.overdraft for a in opened}
    assert LicenseLimitReached(3, 2).message.startswith(
        "All 3 licenses and the overdraft of 2 are in use. Try again"
    )


def test_the_mark_is_set_at_open_and_never_changes(
    db: Database, world: World, clock: FrozenClock
) -> None:
    grant(db, clock, 2)
    first = seats.decide(db, clock, [guest(world) for _ in range(5)])
    clock.advance(timedelta(seconds=1))
    # Two licensed sessions leave: 3 open, two of them marked; the next is still beyond.
    again = seats.decide(db, clock, [release(first[0]), release(first[1]), guest(world)])
    assert isinstance(again[2], seats.Opened) and again[2].session.overdraft
    clock.advance(timedelta(seconds=1))
    last = seats.decide(db, clock, [release(first[2]), release(again[2]), guest(world)])
    assert isinstance(last[2], seats.Opened) and not last[2].session.overdraft  # 2 were open
    kept = marks(db, world)
    assert [kept[a.session.id] for a in first[3:] if isinstance(a, seats.Opened)] == [True, True]


def test_no_overdraft_refuses_at_the_licenses_as_before(
    db: Database, world: World, clock: FrozenClock
) -> None:
    answers = seats.decide(db, clock, [guest(world) for _ in range(4)])
    assert answers[3] == seats.Refused(3, 0)
    assert not any(marks(db, world).values())


def test_a_super_admin_and_the_operator_grant_an_overdraft_and_each_change_is_audited(
    db: Database, world: World, clock: FrozenClock
) -> None:
    root = authenticate_token(db, world.super_token)
    change_settings(db, root, "acme", SettingsChange(overdraft=5), now=clock.now())
    assert accounts.get_account(db, "acme").overdraft == 5
    grant(db, clock, 0)
    assert accounts.get_account(db, "acme").overdraft == 0
    with db.read() as conn:
        rows = audit.events(conn, world.acme.id, ["setting_changed"])
    assert [(r["actor"], r["details"]) for r in rows] == [
        ("seatkeeper (operator command)", {"setting": "overdraft", "from": 5, "to": 0}),
        ("root", {"setting": "overdraft", "from": 0, "to": 5}),
    ]


def test_an_account_admin_may_not_grant_an_overdraft_and_nothing_changes(
    db: Database, world: World, clock: FrozenClock
) -> None:
    boss = new_admin(db, "acme", clock.now())
    with pytest.raises(NotAllowed, match="Only a Super Admin changes the overdraft"):
        change_settings(db, boss, "acme", SettingsChange(overdraft=1), now=clock.now())
    assert accounts.get_account(db, "acme") == world.acme
    with db.read() as conn:
        assert audit.events(conn, world.acme.id, ["setting_changed"]) == []


@pytest.mark.parametrize("value", [-1, 100_001, 10**12])
def test_an_overdraft_out_of_range_is_refused_and_nothing_changes(
    db: Database, world: World, clock: FrozenClock, value: int
) -> None:
    with pytest.raises(InvalidFields) as refused:
        grant(db, clock, value)
    assert refused.value.fields == {
        "overdraft": f"The overdraft must be between 0 and 100,000; got {value:,}."
    }
    assert accounts.get_account(db, "acme") == world.acme


def test_use_beyond_the_licenses_raises_and_keeps_the_full_alert(
    db: Database, world: World, clock: FrozenClock
) -> None:
    grant(db, clock, 3)
    opened = seats.decide(db, clock, [guest(world) for _ in range(6)])  # 6 of 3 licenses
    with db.read() as conn:
        assert set(stored_alerts.active(conn, world.acme.id)) == {90, 100}
    clock.advance(timedelta(seconds=1))
    seats.decide(db, clock, [release(a) for a in opened[:4]])  # down to 2: 100% clears at 2
    with db.read() as conn:
        assert set(stored_alerts.active(conn, world.acme.id)) == set()


def test_alert_levels_hold_beyond_the_licenses_and_with_none() -> None:
    assert rules.changes([90, 100], [], 27, 25) == ([90, 100], [])
    assert rules.changes([90, 100], [90, 100], 27, 25) == ([], [])
    assert rules.changes([100], [], 2, 0) == ([100], [])  # no licenses, an overdraft in use
    assert rules.changes([100], [100], 0, 0) == ([], [100])
