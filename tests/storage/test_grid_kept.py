"""What the grid reads from its indexes (migration 0020): each session's agent key and
count of open Interactions, kept by the database, and the searches and capped counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import delete, select, text

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import AgentSession, EndReason, GridView
from seatkeeper.storage import grid, grid_search, sessions, users
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions, interactions
from tests.conftest import World
from tests.storage.upgrading import OLD_ACCOUNT, at_revision, upgraded

s = agent_sessions.c


def kept(db: Database, session_id: UUID) -> tuple[str, int]:
    with db.read() as conn:
        row = conn.execute(select(s.agent_key, s.open_interactions).where(s.id == session_id)).one()
    return row.agent_key, row.open_interactions


def open_one(db: Database, world: World, now: datetime, username: str | None) -> AgentSession:
    with db.write() as conn:
        user_id = None
        if username is not None:
            found = users.user_named(conn, world.acme.id, username)
            assert found is not None
            user_id = found.id
        return sessions.insert_session(
            conn,
            account_id=world.acme.id,
            user_id=user_id,
            now=now,
            expires_at=now + timedelta(minutes=30),
        )


def test_the_kept_columns_follow_every_open_close_and_end(
    db: Database, world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    alice, guest, bob = (open_one(db, world, now, who) for who in ("alice", None, "bob"))
    assert kept(db, alice.id) == ("alice", 0)
    assert kept(db, guest.id) == ("guest", 0)
    with db.write() as conn:
        opened = [sessions.insert_interaction(conn, alice, flow=f, now=now) for f in "AAB"]
        sessions.insert_interaction(conn, guest, flow="A", now=now)
        sessions.insert_interaction(conn, guest, flow="B", now=now)
        bob_flow = sessions.insert_interaction(conn, bob, flow="C", now=now)
    assert kept(db, alice.id)[1] == 3
    with db.write() as conn:
        sessions.close_interaction(conn, alice, opened[0].id, now)
        sessions.close_interaction(conn, alice, opened[0].id, now)  # closed already: no change
        sessions.set_interaction_step(conn, opened[1].id, "step 2")  # a step changes no count
    assert kept(db, alice.id)[1] == 2
    with db.write() as conn:
        sessions.end_session(conn, alice.id, at=now, reason=EndReason.TERMINATED, by=None)
        # An open Interaction removed (as pruning might) no longer counts either.
        conn.execute(delete(interactions).where(interactions.c.id == bob_flow.id))
    assert kept(db, alice.id)[1] == 0
    assert kept(db, bob.id)[1] == 0
    assert kept(db, guest.id)[1] == 2
    later = now + timedelta(hours=1)
    with db.write() as conn:
        assert sessions.expire_overdue_sessions(conn, later, account_id=world.acme.id) == 2
    assert kept(db, guest.id)[1] == 0


def test_the_upgrade_fills_the_kept_columns_of_existing_sessions(db_url: str) -> None:
    db = at_revision(db_url, "0018")
    session_ids = ["a" * 32, "b" * 32]
    with db.write() as conn:
        conn.execute(text(OLD_ACCOUNT))
        conn.execute(
            text(
                "INSERT INTO users (id, account_id, username, username_key, password_hash, role,"
                " created_at) VALUES (1, 1, 'Alice', 'alice', 'x', 'agent', '2026-01-01')"
            )
        )
        for sid, user in zip(session_ids, ("1", "NULL"), strict=True):
            conn.execute(
                text(
                    "INSERT INTO agent_sessions (id, account_id, user_id, started_at,"
                    " last_activity_at, expires_at) VALUES"
                    f" (:id, 1, {user}, '2026-01-01', '2026-01-01', '2036-01-01')"
                ),
                {"id": sid},  # 32 hex digits: how SQLite stores it, and PostgreSQL reads it
            )
        for n, closed in enumerate(("NULL", "NULL", "'2026-01-02'")):
            conn.execute(
                text(
                    "INSERT INTO interactions (id, session_id, flow, opened_at, closed_at)"
                    f" VALUES (:id, :sid, 'A', '2026-01-01', {closed})"
                ),
                {"id": UUID(int=n + 1).hex, "sid": session_ids[0]},
            )
    db.dispose()
    db = upgraded(db_url)
    try:
        assert kept(db, UUID(session_ids[0])) == ("alice", 2)
        assert kept(db, UUID(session_ids[1])) == ("guest", 0)
    finally:
        db.dispose()


@pytest.fixture
def six(db: Database, world: World, clock: FrozenClock) -> list[AgentSession]:
    """Six open sessions a minute apart: alice (Flow A twice), bob (B), four Guests (A, C...)."""
    opened = []
    for n, (who, flows) in enumerate(
        [("alice", "AA"), ("bob", "B"), (None, "A"), (None, ""), (None, "C"), (None, "")]
    ):
        session = open_one(db, world, clock.now() + timedelta(minutes=n), who)
        with db.write() as conn:
            for flow in flows:
                sessions.insert_interaction(conn, session, flow=flow, now=clock.now())
        opened.append(session)
    return opened


Found = list[tuple[str | None, int]]


def rows(db: Database, world: World, clock: FrozenClock, view: GridView) -> tuple[Found, int, bool]:
    with db.read() as conn:
        found, total, exact = grid.active_session_rows(
            conn, world.acme.id, now=clock.now(), view=view
        )
    return [(r.agent_id, r.open_interactions) for r in found], total, exact


@pytest.mark.parametrize("few", [0, 1_000])
@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("ALI", [("alice", 2)]),
        ("a", [("alice", 2), (None, 1)]),  # alice's name; a Guest's open Flow "A"
        ("lic", [("alice", 2)]),
        ("gues", [(None, 1), (None, 0), (None, 1), (None, 0)]),
        ("b", [("bob", 1)]),
        ("zzz", []),
        ("%", []),
    ],
)
def test_a_search_finds_the_same_sessions_whichever_way_it_looks(
    db: Database,
    world: World,
    clock: FrozenClock,
    six: list[AgentSession],
    monkeypatch: pytest.MonkeyPatch,
    few: int,
    search: str,
    expected: list[tuple[str | None, int]],
) -> None:
    """Few candidates are looked up; many (here: more than none) make the grid test each."""
    monkeypatch.setattr(grid_search, "FEW", few)
    found, total, exact = rows(db, world, clock, GridView(search=search))
    assert found == expected
    assert (total, exact) == (len(expected), True)


def test_the_count_stops_at_its_cap_and_says_so(
    db: Database,
    world: World,
    clock: FrozenClock,
    six: list[AgentSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(grid, "COUNT_CAP", 3)
    monkeypatch.setattr(grid, "SEARCH_COUNT_CAP", 2)
    assert rows(db, world, clock, GridView(per_page=2))[1:] == (3, False)
    assert rows(db, world, clock, GridView(per_page=10))[1:] == (6, True)  # all on one page
    # A full last page cannot tell it is the last: at least the rows up to it.
    assert rows(db, world, clock, GridView(per_page=2, page=3))[1:] == (6, False)
    assert rows(db, world, clock, GridView(per_page=1, page=5))[1:] == (5, False)  # past the cap
    assert rows(db, world, clock, GridView(search="guest", per_page=1))[1:] == (2, False)
    assert rows(db, world, clock, GridView(search="guest", per_page=9))[1:] == (4, True)


def test_every_sort_reverses_whole(
    db: Database, world: World, clock: FrozenClock, six: list[AgentSession]
) -> None:
    """Descending is the ascending order read backwards, ties included (one index serves
    both)."""
    for sort in ("agent_id", "session_start", "open_interactions_count"):
        up = rows(db, world, clock, GridView(sort=sort))[0]
        down = rows(db, world, clock, GridView(sort=sort, descending=True))[0]
        assert down == up[::-1]
    assert rows(db, world, clock, GridView(sort="open_interactions_count"))[0][-1] == ("alice", 2)
