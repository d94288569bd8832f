"""The heartbeat's raw path reads and writes exactly the rows SQLAlchemy does."""

from __future__ import annotations

from datetime import UTC, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, select

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import EndReason
from seatkeeper.storage import heartbeats, sessions
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions
from tests.conftest import World, insert_guests

s = agent_sessions.c


def test_the_raw_path_writes_what_sqlalchemy_writes(
    db: Database, world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    one, two = insert_guests(db, world.acme.id, now, 2)
    # An instant with microseconds, given in another zone: both paths store it as UTC.
    later = (now + timedelta(minutes=3, microseconds=123456)).astimezone(ZoneInfo("Asia/Tokyo"))
    until = later + timedelta(minutes=30)
    with db.write() as conn:
        heartbeats.record_activity(conn, [(one.id, later, until)])
        sessions.touch_session(conn, two.id, now=later, expires_at=until)
    with db.read() as conn:
        read = {
            r.id: (r.last_activity_at, r.expires_at, r.as_text)
            for r in conn.execute(
                select(
                    s.id,
                    s.last_activity_at,
                    s.expires_at,
                    cast(s.expires_at, String).label("as_text"),
                ).where(s.id.in_([one.id, two.id]))
            )
        }
    assert read[one.id] == read[two.id]  # the very same stored value, text included
    assert read[one.id][:2] == (later, until)
    assert read[one.id][0].tzinfo == UTC


def test_the_raw_path_reads_what_sqlalchemy_reads(
    db: Database, world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    open_, ended = insert_guests(db, world.acme.id, now, 2)
    with db.write() as conn:
        sessions.end_session(conn, ended.id, at=now + timedelta(seconds=1), reason=EndReason.LOGOUT)
    unknown = uuid4()
    with db.read() as conn:
        expected = {
            r.id: (r.ended_at, r.expires_at)
            for r in conn.execute(select(s.id, s.ended_at, s.expires_at))
            if r.id in (open_.id, ended.id)
        }
    reader = db.reader()
    try:
        raw = heartbeats.session_states(reader, [open_.id, ended.id, unknown])
    finally:
        reader.close()
    assert raw == expected
    assert raw[ended.id][0] == now + timedelta(seconds=1)
    assert all(at is None or at.tzinfo == UTC for pair in raw.values() for at in pair)


def test_activity_never_moves_back_and_an_ended_session_is_left_as_it_is(
    db: Database, world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    live, ended = insert_guests(db, world.acme.id, now, 2)
    with db.write() as conn:
        sessions.end_session(conn, ended.id, at=now, reason=EndReason.LOGOUT)
    later, earlier = now + timedelta(minutes=5), now + timedelta(minutes=2)
    with db.write() as conn:
        heartbeats.record_activity(
            conn,
            [
                (live.id, later, later + timedelta(minutes=30)),
                (ended.id, later, later + timedelta(minutes=30)),
            ],
        )
        heartbeats.record_activity(conn, [(live.id, earlier, earlier + timedelta(minutes=30))])
    with db.read() as conn:
        rows = {r.id: r for r in conn.execute(select(agent_sessions))}
    assert rows[live.id].last_activity_at == later
    assert rows[ended.id].last_activity_at == now
