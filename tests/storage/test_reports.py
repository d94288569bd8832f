"""Reading a day's sessions by its parts gives every session that held a license in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from seatkeeper.domain.model import AgentSession, EndReason
from seatkeeper.storage import reports, sessions
from seatkeeper.storage.db import Database
from tests.conftest import World

START = datetime(2026, 3, 10, 23, tzinfo=UTC)  # midnight in Paris
END = START + timedelta(days=1)
NOW = END + timedelta(days=2)
H = timedelta(hours=1)


def session(start: datetime, end: datetime | None, world: World) -> AgentSession:
    if end is None:
        return AgentSession(uuid4(), world.acme.id, None, start, NOW, NOW + H, None, None)
    return AgentSession(uuid4(), world.acme.id, None, start, end, end, end, EndReason.LOGOUT)


def test_every_part_of_a_day_is_read_and_those_held_through_it_counted(
    db: Database, world: World
) -> None:
    made = [
        session(START + H, START + 2 * H, world),  # within
        session(START - H, START + H, world),  # from before
        session(START + H, END + H, world),  # to after
        session(START - 30 * H, END + 5 * H, world),  # through it, begun long before
        session(START - 3 * H, END + H, world),  # through it
        session(START - 2 * H, None, world),  # through it, still open
        session(START, START, world),  # begun and ended at its first instant
        session(START - 3 * H, START, world),  # ended as it began: not held in it
        session(END, END + H, world),  # begun as it ended: not in it
        session(START - 50 * H, START - 40 * H, world),  # long before
    ]
    with db.write() as conn:
        sessions.insert_sessions(conn, made)
    with db.read() as conn:
        every = reports.day_spans(conn, world.acme.id, start=START, end=END, now=NOW)
        # Held as the day began: the three through it, the one from before, and the one
        # begun at its first instant (ended then, so not held) is not.
        counted = reports.day_spans(
            conn, world.acme.id, start=START, end=END, now=NOW, open_at_start=4
        )
        short = reports.day_spans(
            conn, world.acme.id, start=START, end=END, now=NOW, open_at_start=3
        )
    starts = sorted(s.start for s in every)
    assert starts == sorted(s.started_at for s in made[:7])
    assert sorted(s.start for s in counted) == starts
    # The count stops the read of those held through the day: the latest begun first.
    assert sorted(s.start for s in short) == [s for s in starts if s != START - 30 * H]
