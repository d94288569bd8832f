"""Heartbeats written together: answered at once, recorded a moment later, never wrongly."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.errors import InvalidToken, SessionNotFound, SessionTerminated
from seatkeeper.services import access, admin, agents
from seatkeeper.services.heartbeats import MARGIN, Heartbeats
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage import heartbeats, sessions
from seatkeeper.storage.db import Database
from tests.conftest import World


@pytest.fixture
def beats(db: Database, clock: FrozenClock) -> Heartbeats:
    return Heartbeats(db, clock, batch_seconds=0.25)  # flushed by hand here


def opened(
    db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> agents.OpenedSession:
    return agents.open_session(
        db, passwords, application_key=world.app_key, credentials=None, clock=clock
    )


def stored(db: Database, world: World, session: agents.OpenedSession) -> tuple[object, ...]:
    with db.read() as conn:
        s = sessions.sessions_by_id(conn, world.acme.id, [session.session.id])[session.session.id]
    return s.last_activity_at, s.expires_at, s.ended_at


def test_a_heartbeat_is_answered_at_once_and_written_with_the_others(
    beats: Heartbeats, db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    s = opened(db, passwords, world, clock)
    before = stored(db, world, s)
    clock.advance(timedelta(minutes=10))
    beat_at = clock.now()
    assert beats.beat(s.token, str(s.session.id)) == (s.session.id, beat_at + timedelta(minutes=30))
    assert stored(db, world, s) == before  # not written yet
    assert beats.flush() == 1
    assert stored(db, world, s) == (beat_at, beat_at + timedelta(minutes=30), None)
    assert beats.flush() == 0


def test_near_its_expiry_a_heartbeat_is_written_at_once(
    beats: Heartbeats, db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    s = opened(db, passwords, world, clock)
    clock.advance(timedelta(minutes=30) - MARGIN + timedelta(seconds=1))
    beats.beat(s.token, str(s.session.id))
    assert stored(db, world, s)[0] == clock.now()  # no flush needed
    assert beats.flush() == 0


def test_an_ended_session_is_refused_at_once_and_not_revived_later(
    beats: Heartbeats, db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    s = opened(db, passwords, world, clock)
    boss = access.authenticate_token(db, world.admin_token)
    clock.advance(timedelta(minutes=5))
    beats.beat(s.token, str(s.session.id))  # answered; written later...
    clock.advance(timedelta(seconds=1))
    admin.terminate_sessions(db, boss, "acme", [s.session.id], clock=clock)  # ...after this
    beats.flush()
    last_activity, _, ended_at = stored(db, world, s)
    assert ended_at == clock.now()
    assert last_activity == s.session.started_at  # the late write changed nothing
    with pytest.raises(SessionTerminated):
        beats.beat(s.token, str(s.session.id))


def test_a_late_write_never_revives_a_session_that_had_expired(
    db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    s = opened(db, passwords, world, clock)
    late = s.session.expires_at + timedelta(seconds=1)
    with db.write() as conn:
        heartbeats.record_activity(conn, [(s.session.id, late, late + timedelta(minutes=30))])
    assert stored(db, world, s)[1] == s.session.expires_at


def test_heartbeats_check_the_token_and_the_session(
    beats: Heartbeats, db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    first, second = opened(db, passwords, world, clock), opened(db, passwords, world, clock)
    with pytest.raises(InvalidToken):
        beats.beat("sk_sess_forged", str(first.session.id))
    with pytest.raises(SessionNotFound):
        beats.beat(first.token, str(second.session.id))
    with pytest.raises(SessionNotFound):
        beats.beat(first.token, "not-a-session")


def test_many_heartbeats_are_answered_together_each_with_its_own_answer(
    beats: Heartbeats, db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    quiet, busy, near = (opened(db, passwords, world, clock) for _ in range(3))
    clock.advance(timedelta(minutes=30) - MARGIN)  # `near` was not heard of since it opened
    beats.beat(quiet.token, str(quiet.session.id))
    beats.beat(busy.token, str(busy.session.id))
    clock.advance(timedelta(seconds=1))
    now = clock.now()
    answers = beats.quick_beats(
        [
            (busy.token, str(busy.session.id)),
            (near.token, str(near.session.id)),
            ("sk_sess_forged", str(busy.session.id)),
            (quiet.token, str(busy.session.id)),
            (quiet.token, str(quiet.session.id).upper()),  # the id in any spelling
        ]
    )
    later = now + timedelta(minutes=30)
    assert answers[0] == (busy.session.id, later)
    assert answers[1] is None  # close to its expiry: the full path answers it
    assert isinstance(answers[2], InvalidToken) and isinstance(answers[3], SessionNotFound)
    assert answers[4] == (quiet.session.id, later)
    beats.flush()
    assert stored(db, world, busy)[0] == stored(db, world, quiet)[0] == now
    assert stored(db, world, near)[0] == near.session.started_at


def test_a_dead_reading_connection_is_replaced_at_once(
    beats: Heartbeats, db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    s = opened(db, passwords, world, clock)
    clock.advance(timedelta(minutes=1))
    beats.beat(s.token, str(s.session.id))
    kept = beats._conn
    assert kept is not None
    # As after a database restart: the driver's connection is gone, SQLAlchemy's does not
    # know (the quick reads go straight to the driver).
    kept.connection.dbapi_connection.close()  # type: ignore[union-attr]
    clock.advance(timedelta(minutes=1))
    assert beats.beat(s.token, str(s.session.id)) == (
        s.session.id,
        clock.now() + timedelta(minutes=30),
    )
    assert beats._conn is not None and beats._conn is not kept


def test_a_batch_that_could_not_be_written_is_written_with_the_next(
    beats: Heartbeats,
    db: Database,
    passwords: Passwords,
    world: World,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = opened(db, passwords, world, clock)
    clock.advance(timedelta(minutes=5))
    told = beats.beat(s.token, str(s.session.id))

    def busy(*_: object) -> None:
        raise RuntimeError("the database is restarting")

    with monkeypatch.context() as patched:
        patched.setattr(heartbeats, "record_activity", busy)
        with pytest.raises(RuntimeError):
            beats.flush()
    assert beats.flush() == 1  # kept, not dropped
    assert stored(db, world, s) == (told.expires_at - timedelta(minutes=30), told.expires_at, None)
