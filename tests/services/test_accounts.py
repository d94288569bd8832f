"""Account settings changes and their effect on open sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.errors import InvalidInput, LicenseLimitReached
from seatkeeper.domain.model import EndReason, SettingsChange
from seatkeeper.services import accounts, agents
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.settings import change_settings
from seatkeeper.storage import sessions as stored_sessions
from seatkeeper.storage.db import Database
from tests.conftest import PASSWORD, World


def open_as(
    db: Database, passwords: Passwords, world: World, clock: FrozenClock, name: str | None
) -> agents.OpenedSession:
    credentials = None if name is None else (name, PASSWORD)
    return agents.open_session(
        db, passwords, application_key=world.app_key, credentials=credentials, clock=clock
    )


def test_a_shorter_timeout_ends_idle_sessions_now_not_in_the_past(
    db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    idle = open_as(db, passwords, world, clock, "alice")
    clock.advance(timedelta(minutes=15))
    busy = open_as(db, passwords, world, clock, "bob")
    clock.advance(timedelta(minutes=5))
    changed_at = clock.now()
    change_settings(
        db, OPERATOR, "acme", SettingsChange(session_timeout=timedelta(minutes=10)), now=changed_at
    )
    with db.read() as conn:
        sessions = {s.id: s for s in stored_sessions.open_sessions(conn, world.acme.id)}
    # alice was idle 20 minutes: her session now ends at once, not 10 minutes ago.
    assert sessions[idle.session.id].expires_at == changed_at
    # bob was active 5 minutes ago: 10 minutes from then.
    assert sessions[busy.session.id].expires_at == changed_at + timedelta(minutes=5)
    clock.advance(timedelta(minutes=1))
    open_as(db, passwords, world, clock, "carol")  # sweeps alice's session
    with db.read() as conn:
        ended = stored_sessions.sessions_by_id(conn, world.acme.id, [idle.session.id])[
            idle.session.id
        ]
    assert (ended.end_reason, ended.ended_at) == (EndReason.TIMEOUT, changed_at)


def test_a_longer_timeout_keeps_sessions_open_longer(
    db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    alice = open_as(db, passwords, world, clock, "alice")
    change_settings(
        db, OPERATOR, "acme", SettingsChange(session_timeout=timedelta(hours=2)), now=clock.now()
    )
    clock.advance(timedelta(minutes=90))
    assert agents.heartbeat(
        db, token=alice.token, session_id=str(alice.session.id), clock=clock
    ) == clock.now() + timedelta(hours=2)


def test_lowering_licenses_below_use_ends_no_one_and_refuses_newcomers(
    db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    held = [open_as(db, passwords, world, clock, name) for name in ("alice", "bob", "carol")]
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=1), now=clock.now())
    with pytest.raises(LicenseLimitReached):
        open_as(db, passwords, world, clock, None)
    for opened in held:  # everybody keeps working
        agents.heartbeat(db, token=opened.token, session_id=str(opened.session.id), clock=clock)
    for opened in held[:2]:
        agents.logout(db, token=opened.token, session_id=str(opened.session.id), clock=clock)
    with pytest.raises(LicenseLimitReached):
        open_as(db, passwords, world, clock, None)  # 1 in use, 1 license
    agents.logout(db, token=held[2].token, session_id=str(held[2].session.id), clock=clock)
    assert open_as(db, passwords, world, clock, None).session.user_id is None


@pytest.mark.parametrize(
    "change",
    [
        {"licenses": -1},
        {"time_zone": "Europe/Atlantis"},
        {"session_timeout": timedelta(seconds=30)},
        {"session_timeout": timedelta(days=2)},
        {"name": "   "},
        {},
    ],
)
def test_invalid_changes_are_refused_and_change_nothing(
    db: Database, world: World, clock: FrozenClock, change: dict[str, object]
) -> None:
    with pytest.raises(InvalidInput):
        change_settings(db, OPERATOR, "acme", SettingsChange(**change), now=clock.now())  # type: ignore[arg-type]
    assert accounts.get_account(db, "acme") == world.acme
