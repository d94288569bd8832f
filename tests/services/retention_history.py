"""A few months of made-up session, Interaction, token and refusal rows, written straight
to the tables, for the retention tests: sessions of every end reason (some across
midnight, some terminated with an audit row), refusals (some in the minutes before a
midnight), and sessions still open however old."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from random import Random
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, select

from seatkeeper.domain import usage
from seatkeeper.domain.model import Account
from seatkeeper.storage import audit
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import (
    agent_sessions,
    audit_events,
    denials,
    interactions,
    session_tokens,
)

LENGTHS = (3, 20, 45, 90, 240, 600, 1500)  # minutes; the longest run past midnight


@dataclass
class Rows:
    """What is written, to build it in one go."""

    sessions: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    tokens: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    terminated: list[tuple[UUID, datetime]] = field(default_factory=list)  # and when


def write_history(
    db: Database,
    account: Account,
    users: list[int],
    *,
    first: date,
    last: date,
    now: datetime,
    seed: int,
    per_day: int = 12,
) -> None:
    """Sessions and refusals on every day from `first` to `last`, all ended before `now`."""
    rng, rows = Random(seed), Rows()
    for n in range((last - first).days + 1):
        start_of_day = usage.day_start(first + timedelta(days=n), account.zone)
        for _ in range(rng.randint(per_day // 2, per_day)):
            start = start_of_day + timedelta(minutes=rng.randrange(24 * 60), seconds=rng.random())
            end = start + timedelta(minutes=rng.choice(LENGTHS))
            if end < now:
                _session(rows, account, rng, start, end, rng.choice([*users, None, None]))
        for _ in range(rng.randint(0, 3)):
            at = start_of_day + timedelta(minutes=rng.choice([rng.randrange(1440), 1438, 1436]))
            if at < now:
                _refusal(rows, account, rng, at, rng.choice([*users, None]))
    store(db, account, rows)


def _session(
    rows: Rows, account: Account, rng: Random, start: datetime, end: datetime, user: int | None
) -> None:
    reason = rng.choice(["logout", "timeout", "timeout", "terminated"])
    last = end - (account.session_timeout if reason == "timeout" else timedelta(minutes=2))
    session_id = uuid4()
    rows.sessions.append(
        {
            "id": session_id,
            "account_id": account.id,
            "user_id": user,
            "started_at": start,
            "last_activity_at": max(start, last),
            "expires_at": end if reason == "timeout" else end + account.session_timeout,
            "ended_at": end,
            "end_reason": reason,
        }
    )
    rows.tokens.append(
        {"token_hash": secrets.token_hex(32), "session_id": session_id, "created_at": start}
    )
    for _ in range(rng.randint(0, 3)):
        opened = start + (end - start) * rng.random()
        rows.items.append(
            {
                "id": uuid4(),
                "session_id": session_id,
                "flow": "Refund",
                "opened_at": opened,
                "closed_at": end,
                "step": "Verify",
            }
        )
    if reason == "terminated" and rng.random() < 0.3:
        rows.terminated.append((session_id, end))


def _refusal(rows: Rows, account: Account, rng: Random, at: datetime, user: int | None) -> None:
    requester = None if user is not None else rng.choice(["a" * 32, "b" * 32, None])
    rows.refused.append(
        {"account_id": account.id, "user_id": user, "at": at, "requester": requester}
    )


def open_session(
    db: Database,
    account: Account,
    *,
    started: datetime,
    active: datetime | None = None,
    user: int | None = None,
) -> UUID:
    """A session still open (its end not recorded), whenever it started, last active at
    `active` (when it started, by default): past its expiry if that is long ago."""
    rows = Rows()
    active = active or started
    rows.sessions.append(
        {
            "id": (session_id := uuid4()),
            "account_id": account.id,
            "user_id": user,
            "started_at": started,
            "last_activity_at": active,
            "expires_at": active + account.session_timeout,
        }
    )
    rows.tokens.append(
        {"token_hash": secrets.token_hex(32), "session_id": session_id, "created_at": started}
    )
    store(db, account, rows)
    return session_id


def refusal_at(db: Database, account: Account, at: datetime) -> None:
    rows = Rows()
    rows.refused.append({"account_id": account.id, "user_id": None, "at": at, "requester": None})
    store(db, account, rows)


def store(db: Database, account: Account, rows: Rows) -> None:
    with db.write() as conn:
        for table, values in (
            (agent_sessions, rows.sessions),
            (session_tokens, rows.tokens),
            (interactions, rows.items),
            (denials, rows.refused),
        ):
            if values:
                conn.execute(table.insert(), values)
        for session_id, at in rows.terminated:
            audit.record_terminations(
                conn,
                account.id,
                actor_id=None,
                actor="ops (operator command)",
                at=at,
                source=None,
                sessions={session_id: {"open_interactions": [{"flow": "Refund"}]}},
            )


@dataclass(frozen=True)
class Snapshot:
    """The account's rows the retention task may touch, and its audit trail."""

    sessions: dict[UUID, datetime | None]  # id: ended at
    interactions: dict[UUID, UUID]  # id: session id
    tokens: dict[str, UUID]
    refusals: dict[int, datetime]
    audit: list[tuple[Any, ...]]


def snapshot(db: Database, account: Account) -> Snapshot:
    s = agent_sessions.c
    mine = select(s.id).where(s.account_id == account.id)
    with db.read() as conn:
        return Snapshot(
            dict(conn.execute(select(s.id, s.ended_at).where(s.account_id == account.id)).all()),
            dict(
                conn.execute(
                    select(interactions.c.id, interactions.c.session_id).where(
                        interactions.c.session_id.in_(mine)
                    )
                ).all()
            ),
            dict(
                conn.execute(
                    select(session_tokens.c.token_hash, session_tokens.c.session_id).where(
                        session_tokens.c.session_id.in_(mine)
                    )
                ).all()
            ),
            dict(
                conn.execute(
                    select(denials.c.id, denials.c.at).where(denials.c.account_id == account.id)
                ).all()
            ),
            [
                tuple(r)
                for r in conn.execute(
                    select(audit_events)
                    .where(audit_events.c.account_id == account.id)
                    .order_by(audit_events.c.id)
                )
            ],
        )


def audited_sessions(db: Database, account: Account) -> set[UUID]:
    """The account's sessions an audit row names."""
    a = audit_events.c
    with db.read() as conn:
        return set(
            conn.execute(
                select(a.session_id).where(a.account_id == account.id, a.session_id.is_not(None))
            ).scalars()
        )


def count_rows(db: Database) -> int:
    """Every session, Interaction, token and refusal row, of every account."""
    with db.read() as conn:
        return sum(
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (agent_sessions, interactions, session_tokens, denials)
        )
