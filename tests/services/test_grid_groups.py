"""Each session's seat group in the Active Agents grid, the grid filtered by group, and the
usage of one group's sessions, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seatkeeper.clock import FrozenClock
from seatkeeper.domain import periods, usage
from seatkeeper.domain.errors import InvalidInput
from seatkeeper.domain.model import GridView
from seatkeeper.services import access, admin
from seatkeeper.storage import usage as stored_usage
from seatkeeper.storage.db import Database
from tests.conftest import World
from tests.grid_groups import add_group, session_in


def test_the_grid_names_each_sessions_group_and_shows_one_group(
    db: Database, world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    acme = world.acme.id
    billing = add_group(db, acme, "Billing", now=now, members=["alice", "bob"], reserved=1)
    guests = add_group(db, acme, "Guests", now=now, guests=True)
    session_in(
        db, acme, "alice", started=now - timedelta(minutes=3), group_id=billing, reserved=True
    )
    session_in(db, acme, "bob", started=now - timedelta(minutes=2), group_id=billing)
    session_in(db, acme, None, started=now - timedelta(minutes=1), group_id=guests)
    session_in(db, acme, "carol", started=now, group_id=None)
    boss = access.authenticate_token(db, world.admin_token)

    grid = admin.active_sessions(db, boss, "acme", view=GridView(), now=now)
    assert [(r.agent_id, r.group, r.reserved) for r in grid.rows] == [
        ("alice", "Billing", True),
        ("bob", "Billing", False),
        (None, "Guests", False),
        ("carol", None, False),
    ]
    assert grid.groups == {billing: "Billing", guests: "Guests"}

    only = admin.active_sessions(db, boss, "acme", view=GridView(group=billing), now=now)
    assert [r.agent_id for r in only.rows] == ["alice", "bob"]
    assert (only.total, only.exact) == (2, True)
    searched = GridView(group=billing, search="bo", per_page=1)
    found = admin.active_sessions(db, boss, "acme", view=searched, now=now)
    assert [r.agent_id for r in found.rows] == ["bob"]
    assert found.total == 1


def test_a_group_counted_past_a_page_is_counted_from_the_group_only(
    db: Database, world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    acme = world.acme.id
    billing = add_group(db, acme, "Billing", now=now)
    for minutes in range(5):
        grouped = billing if minutes % 2 else None
        session_in(db, acme, None, started=now - timedelta(minutes=minutes), group_id=grouped)
    boss = access.authenticate_token(db, world.admin_token)
    first = admin.active_sessions(
        db, boss, "acme", view=GridView(group=billing, per_page=1), now=now
    )
    assert (len(first.rows), first.total, first.exact) == (1, 2, True)


@pytest.mark.parametrize("foreign", [False, True])
def test_a_group_not_of_the_account_is_refused(
    db: Database, world: World, clock: FrozenClock, foreign: bool
) -> None:
    now = clock.now()
    add_group(db, world.acme.id, "Billing", now=now)
    theirs = add_group(db, world.globex.id, "Billing", now=now)
    boss = access.authenticate_token(db, world.admin_token)
    wanted = theirs if foreign else theirs + 100
    with pytest.raises(InvalidInput, match=f"has no seat group {wanted}"):
        admin.active_sessions(db, boss, "acme", view=GridView(group=wanted), now=now)
    with pytest.raises(InvalidInput, match=f"has no seat group {wanted}"):
        admin.account_usage(db, boss, "acme", now=now, group=wanted)


def test_an_account_without_groups_refuses_any_group(
    db: Database, world: World, clock: FrozenClock
) -> None:
    boss = access.authenticate_token(db, world.admin_token)
    grid = admin.active_sessions(db, boss, "acme", view=GridView(), now=clock.now())
    assert grid.groups == {}
    with pytest.raises(InvalidInput):
        admin.active_sessions(db, boss, "acme", view=GridView(group=1), now=clock.now())


def test_a_groups_usage_counts_only_its_sessions_from_their_rows(
    db: Database, world: World, clock: FrozenClock
) -> None:
    acme = world.acme.id
    now = clock.now()
    billing = add_group(db, acme, "Billing", now=now, members=["alice", "bob"])
    two_days_ago = now - timedelta(days=2)
    # Billing: two sessions at once two days ago, one open now; others besides.
    for who in ("alice", "bob"):
        session_in(
            db,
            acme,
            who,
            started=two_days_ago,
            group_id=billing,
            ended=two_days_ago + timedelta(hours=1),
        )
    session_in(db, acme, "alice", started=now - timedelta(minutes=5), group_id=billing)
    for _ in range(3):
        session_in(
            db,
            acme,
            None,
            started=two_days_ago,
            group_id=None,
            ended=two_days_ago + timedelta(hours=2),
        )
    boss = access.authenticate_token(db, world.admin_token)

    whole = admin.account_usage(db, boss, "acme", now=now)
    found = admin.account_usage(db, boss, "acme", now=now, group=billing)
    assert (whole.report.daily_max, whole.report.current) == (5, 1)
    assert (found.report.daily_max, found.report.current) == (2, 1)
    assert found.group == billing and found.groups == {billing: "Billing"}
    assert all(day.denials == 0 for day in found.report.days)
    with db.read() as conn:  # the plain computation over Billing's rows only
        intervals = stored_usage.session_intervals(
            conn, acme, since=now - timedelta(days=40), now=now, group_id=billing
        )
    period = periods.LAST_30_DAYS.period(now.astimezone(world.acme.zone).date())
    assert found.report == usage.report_from_intervals(
        intervals,
        (),
        now=now,
        tz=world.acme.zone,
        licenses=world.acme.licenses,
        account_created_at=world.acme.created_at,
        calendar=period.days,
    )
    assert len(intervals) == 3
