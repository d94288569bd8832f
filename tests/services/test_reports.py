"""Who held licenses and timeout waste: the kept figures give exactly what the session rows
give, before and after they are kept, and go with their usage day."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from seatkeeper.domain import holders as figures
from seatkeeper.domain.errors import InvalidSort, NotAllowed
from seatkeeper.domain.model import Account, AgentSession, EndReason, User
from seatkeeper.domain.periods import Period
from seatkeeper.domain.usage import day_start
from seatkeeper.domain.waste import waste
from seatkeeper.services import access, reports
from seatkeeper.storage import sessions
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import usage_day_holders, usage_day_timeouts, usage_days, users
from tests.conftest import World

NOW = datetime(2026, 4, 2, 10, 0, tzinfo=UTC)  # noon in Paris, after the spring change
PERIOD = Period(date(2026, 3, 26), date(2026, 4, 2))  # 29 March has 23 hours


def user_ids(db: Database, account: Account) -> dict[str, int]:
    with db.read() as conn:
        rows = conn.execute(
            select(users.c.username, users.c.id).where(users.c.account_id == account.id)
        )
        return {r.username: r.id for r in rows}


def history(db: Database, account: Account, seed: int) -> list[AgentSession]:
    """Random sessions of alice, bob and Guests over the period, as the rows have them:
    logged out, terminated, timed out (ended, or past expiry and not swept), open; a few
    held for days, from before the period."""
    rng = random.Random(seed)
    ids = user_ids(db, account)
    timeout = timedelta(minutes=30)
    made = []
    begin = day_start(PERIOD.first, account.zone) - timedelta(days=3)
    for _ in range(120):
        start = begin + timedelta(
            minutes=rng.randrange(0, int((NOW - begin).total_seconds() // 60))
        )
        active = min(start + timedelta(minutes=rng.choice([0, 7, 45, 200, 3000])), NOW)
        who = rng.choice([ids["alice"], ids["bob"], ids["carol"], None, None])
        how = rng.choice(["logout", "terminated", "timeout", "unswept", "open"])
        expires = active + timeout
        ended: datetime | None = None
        reason = None
        if how in ("logout", "terminated"):
            ended = min(active + timedelta(minutes=rng.choice([0, 3])), NOW)
            reason = EndReason(how)
        elif how == "timeout" and expires <= NOW:
            ended, reason = expires, EndReason.TIMEOUT
        elif how == "open":  # begun lately, worked on lately: within their timeout
            start = NOW - timedelta(minutes=rng.randrange(20, 600))
            active = NOW - timedelta(minutes=rng.choice([1, 20]))
            expires = active + timeout
        if ended is None:  # an agent has one unended session at most: these are Guests'
            who = None
        made.append(AgentSession(uuid4(), account.id, who, start, active, expires, ended, reason))
    with db.write() as conn:
        sessions.insert_sessions(conn, made)
    return made


def direct(made: list[AgentSession], account: Account, period: Period) -> list[figures.DayFigures]:
    """The period's figures straight from the sessions, nothing read or kept."""
    spans = [
        figures.Span.of(
            s.user_id, s.started_at, s.last_activity_at, s.expires_at, s.ended_at,
            s.end_reason.value if s.end_reason else None, now=NOW,
        )
        for s in made
    ]  # fmt: skip
    tz = account.zone
    return [
        figures.day_figures(
            d, spans, start=day_start(d, tz), end=day_start(d + timedelta(days=1), tz), now=NOW
        )
        for d in period.days
        if day_start(d, tz) <= NOW
    ]


def admin_of(db: Database, world: World) -> User:
    return access.authenticate_token(db, world.admin_token)


def kept_rows(db: Database) -> tuple[int, int]:
    with db.read() as conn:
        return (
            conn.execute(select(func.count()).select_from(usage_day_holders)).scalar_one(),
            conn.execute(select(func.count()).select_from(usage_day_timeouts)).scalar_one(),
        )


@pytest.mark.parametrize("seed", [1, 2])
def test_reports_match_the_session_rows_before_and_after_days_are_kept(
    db: Database, world: World, seed: int
) -> None:
    made = history(db, world.acme, seed)
    boss = admin_of(db, world)
    expected = direct(made, world.acme, PERIOD)
    want_holders = {h.holder: h for h in figures.holdings(expected)}
    want_waste = waste(expected, timeout=world.acme.session_timeout)
    assert kept_rows(db) == (0, 0)
    for attempt in ("computed", "kept"):
        found = reports.holders(db, boss, "acme", period=PERIOD, now=NOW)
        assert {r.holding.holder: r.holding for r in found.rows} == want_holders, attempt
        assert [r.holding.held for r in found.rows] == sorted(
            (h.held for h in want_holders.values()), reverse=True
        )
        wasted = reports.timeout_waste(db, boss, "acme", period=PERIOD, now=NOW)
        assert wasted.waste == want_waste, attempt
        holders_kept, timeouts_kept = kept_rows(db)
        # Every day before the last two is over and settled (nothing open since then).
        assert timeouts_kept >= 5 * len(figures.CANDIDATE_MINUTES), attempt
        assert holders_kept > 0
    names = {r.name for r in found.rows}
    assert names <= {"alice", "bob", "carol", "Guests"}


def test_a_kept_day_goes_with_its_usage_day_and_comes_back_right(
    db: Database, world: World
) -> None:
    made = history(db, world.acme, 3)
    boss = admin_of(db, world)
    reports.holders(db, boss, "acme", period=PERIOD, now=NOW)
    before = kept_rows(db)
    assert before[1] > 0
    # A session recorded in the past (as an import would) drops the usage days from its
    # start on; their kept figures go with them (the foreign key cascades on both backends).
    late = AgentSession(
        uuid4(), world.acme.id, None, day_start(date(2026, 3, 30), world.acme.zone),
        day_start(date(2026, 3, 30), world.acme.zone) + timedelta(hours=1),
        day_start(date(2026, 3, 30), world.acme.zone) + timedelta(hours=1, minutes=30),
        day_start(date(2026, 3, 30), world.acme.zone) + timedelta(hours=1, minutes=30),
        EndReason.TIMEOUT,
    )  # fmt: skip
    with db.write() as conn:
        sessions.insert_sessions(conn, [late])
    with db.read() as conn:
        days_left = set(conn.execute(select(usage_days.c.day)).scalars())
        figured = set(conn.execute(select(usage_day_timeouts.c.day).distinct()).scalars())
        holders_days = set(conn.execute(select(usage_day_holders.c.day).distinct()).scalars())
    assert figured <= days_left and holders_days <= days_left
    assert max(figured) < date(2026, 3, 30)
    expected = direct([*made, late], world.acme, PERIOD)
    found = reports.timeout_waste(db, boss, "acme", period=PERIOD, now=NOW)
    assert found.waste == waste(expected, timeout=world.acme.session_timeout)
    assert kept_rows(db)[1] >= before[1]  # kept again


def test_a_day_a_session_may_still_time_out_into_is_not_kept(db: Database, world: World) -> None:
    ids = user_ids(db, world.acme)
    now = day_start(date(2026, 4, 2), world.acme.zone) + timedelta(minutes=10)
    # Begun on 30 March, last active at 23:50 on 1 April, still open: it may time out at
    # 00:20 on 2 April, its last 10 minutes of 1 April idle.
    waiting = AgentSession(
        uuid4(), world.acme.id, ids["alice"], day_start(date(2026, 3, 30), world.acme.zone),
        now - timedelta(minutes=20), now + timedelta(minutes=10), None, None,
    )  # fmt: skip
    with db.write() as conn:
        sessions.insert_sessions(conn, [waiting])
    boss = admin_of(db, world)
    period = Period(date(2026, 3, 31), date(2026, 4, 2))
    found = reports.holders(db, boss, "acme", period=period, now=now)
    assert [r.name for r in found.rows] == ["alice"]
    assert found.rows[0].holding.held == timedelta(hours=48, minutes=10)
    with db.read() as conn:
        figured = set(conn.execute(select(usage_day_timeouts.c.day).distinct()).scalars())
    assert figured == {date(2026, 3, 31)}  # not 1 April: alice may still time out into it


def test_sessions_held_through_whole_days_are_found(db: Database, world: World) -> None:
    ids = user_ids(db, world.acme)
    tz = world.acme.zone
    long_ones = [  # held from 20 March to 1 April, and from 25 March on (open)
        AgentSession(
            uuid4(), world.acme.id, ids["bob"], day_start(date(2026, 3, 20), tz),
            day_start(date(2026, 4, 1), tz), day_start(date(2026, 4, 1), tz) + timedelta(hours=1),
            day_start(date(2026, 4, 1), tz) + timedelta(hours=1), EndReason.TIMEOUT,
        ),
        AgentSession(
            uuid4(), world.acme.id, None, day_start(date(2026, 3, 25), tz), NOW,
            NOW + timedelta(minutes=30), None, None,
        ),
    ]  # fmt: skip
    with db.write() as conn:
        sessions.insert_sessions(conn, long_ones)
    made = [*history(db, world.acme, 4), *long_ones]
    boss = admin_of(db, world)
    expected = {h.holder: h for h in figures.holdings(direct(made, world.acme, PERIOD))}
    for _ in range(2):
        found = reports.holders(db, boss, "acme", period=PERIOD, now=NOW)
        assert {r.holding.holder: r.holding for r in found.rows} == expected


def test_reports_are_for_admins_of_the_account_and_sorts_are_checked(
    db: Database, world: World
) -> None:
    agent = access.authenticate_token(db, world.agent_token)
    with pytest.raises(NotAllowed):
        reports.holders(db, agent, "acme", period=PERIOD, now=NOW)
    with pytest.raises(NotAllowed):
        reports.timeout_waste(db, agent, "acme", period=PERIOD, now=NOW)
    boss = admin_of(db, world)
    with pytest.raises(InvalidSort, match="sorted by agent, license_hours, sessions"):
        reports.holders(db, boss, "acme", period=PERIOD, sort="<b>x</b>", now=NOW)
    with pytest.raises(InvalidSort, match="asc or desc"):
        reports.holders(db, boss, "acme", period=PERIOD, order="sideways", now=NOW)
    assert kept_rows(db) == (0, 0)
