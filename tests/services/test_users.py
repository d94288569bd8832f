"""Users as the services change them."""

from __future__ import annotations

from datetime import timedelta

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import EndReason
from seatkeeper.services import access, agents, users
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage import sessions
from seatkeeper.storage.db import Database
from tests.conftest import PASSWORD, World


def test_disabling_an_agent_whose_session_timed_out_unnoticed_ends_it_at_its_expiry(
    db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    opened = agents.open_session(
        db, passwords, application_key=world.app_key, credentials=("alice", PASSWORD), clock=clock
    )
    clock.advance(timedelta(hours=3))  # long past the 30-minute timeout; nothing swept
    boss = access.authenticate_token(db, world.admin_token)
    users.change_user(db, boss, "acme", "alice", enabled=False, now=clock.now())
    with db.read() as conn:
        (ended,) = sessions.sessions_by_id(conn, world.acme.id, [opened.session.id]).values()
    assert (ended.end_reason, ended.ended_at) == (EndReason.TIMEOUT, opened.session.expires_at)
