"""Seat groups and the sessions that count under them, written straight into storage (the
tests of the grid's and the usage's groups need no claim rules)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import uuid4

from sqlalchemy import update

from seatkeeper.domain import credentials
from seatkeeper.domain.model import AgentSession, EndReason
from seatkeeper.storage import sessions, users
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import accounts, seat_group_members, seat_groups
from tests.conftest import World


def add_group(
    db: Database,
    account_id: int,
    name: str,
    *,
    now: datetime,
    members: Sequence[str] = (),
    reserved: int = 0,
    guests: bool = False,
) -> int:
    """A seat group of the account with these users as members; its id."""
    with db.write() as conn:
        group_id: int = conn.execute(
            seat_groups.insert()
            .values(
                account_id=account_id,
                name=name,
                name_key=credentials.username_key(name),
                guests=guests,
                reserved=reserved,
                created_at=now,
            )
            .returning(seat_groups.c.id)
        ).scalar_one()
        for username in members:
            user = users.user_named(conn, account_id, username)
            assert user is not None
            conn.execute(seat_group_members.insert().values(group_id=group_id, user_id=user.id))
        conn.execute(update(accounts).where(accounts.c.id == account_id).values(has_groups=True))
    return group_id


def user_id(db: Database, account_id: int, username: str | None) -> int | None:
    if username is None:
        return None
    with db.read() as conn:
        user = users.user_named(conn, account_id, username)
    assert user is not None
    return user.id


def session_in(
    db: Database,
    account_id: int,
    username: str | None,
    *,
    started: datetime,
    group_id: int | None,
    reserved: bool = False,
    ended: datetime | None = None,
) -> AgentSession:
    """A session of `username` (None: a Guest) counted under `group_id`, open (expiring a
    day after it started) unless `ended` is given."""
    session = AgentSession(
        uuid4(),
        account_id,
        user_id(db, account_id, username),
        started,
        ended or started,
        started + timedelta(days=1),
        ended,
        None if ended is None else EndReason.LOGOUT,
        group_id=group_id,
        reserved=reserved,
    )
    with db.write() as conn:
        sessions.insert_sessions(conn, [session])
    return session


def seed_groups(db: Database, world: World, now: datetime) -> dict[str, int]:
    """acme's Billing (alice and bob, alice holding a reserved license), Guests (a Guest
    session), and carol's session under no group; globex's own Billing. The groups' ids."""
    acme = world.acme.id
    billing = add_group(db, acme, "Billing", now=now, members=["alice", "bob"], reserved=1)
    guests = add_group(db, acme, "Guests", now=now, guests=True)
    session_in(
        db, acme, "alice", started=now - timedelta(minutes=4), group_id=billing, reserved=True
    )
    session_in(db, acme, "bob", started=now - timedelta(minutes=3), group_id=billing)
    session_in(db, acme, None, started=now - timedelta(minutes=2), group_id=guests)
    session_in(db, acme, "carol", started=now - timedelta(minutes=1), group_id=None)
    theirs = add_group(db, world.globex.id, "Billing", now=now)
    return {"billing": billing, "guests": guests, "theirs": theirs}
