"""The line for a license: places asked for, followed and ended, and whoever the seating
rules give a seat when one frees, seated in the transaction that frees it.

Every write transaction that ends a session, or changes an account (its licenses, its
groups), seats its line before it commits (`settle_line`, called by `Database.write`):
no path that frees a license can forget the line. A claim batch seats it too, before each
claim it decides (services.seats), so that nobody who asks later takes a license first.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import Connection, Row, bindparam, func, or_, select, update

from seatkeeper.domain import pool, seating
from seatkeeper.domain.events import LineChanged
from seatkeeper.domain.model import Account, AgentSession, SeatGroup, Wait, WaitOutcome
from seatkeeper.domain.waiting import WaitSpan
from seatkeeper.storage import accounts as stored_accounts
from seatkeeper.storage import seating as stored_seating
from seatkeeper.storage import sessions
from seatkeeper.storage.tables import users, waits
from seatkeeper.storage.unit import record

_w = waits.c
WAITING = _w.ended_at.is_(None)
_LINE = select(waits).where(_w.account_id == bindparam("account_id"), WAITING).order_by(_w.id)


def wait_of(row: Row[Any]) -> Wait:
    return Wait(
        id=row.id,
        account_id=row.account_id,
        user_id=row.user_id,
        asked_at=row.asked_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
        outcome=None if row.outcome is None else WaitOutcome(row.outcome),
        session_id=row.session_id,
        collected_at=row.collected_at,
    )


def line(conn: Connection, account_id: int) -> list[Wait]:
    """The account's places not ended, first asked first (one read of a small index)."""
    return [wait_of(r) for r in conn.execute(_LINE, {"account_id": account_id})]


def insert_wait(
    conn: Connection,
    *,
    account_id: int,
    user_id: int | None,
    token_hash: str,
    asker: str | None,
    at: datetime,
    expires_at: datetime,
) -> Wait:
    """A new place at the end of the line (ids are given in the order asked: call it
    holding the account's lock)."""
    wait_id = conn.execute(
        waits.insert()
        .values(
            account_id=account_id,
            user_id=user_id,
            token_hash=token_hash,
            asker=asker,
            asked_at=at,
            expires_at=expires_at,
        )
        .returning(_w.id)
    ).scalar_one()
    record(conn, LineChanged(account_id, at))
    return Wait(wait_id, account_id, user_id, at, expires_at)


def wait_by_token(conn: Connection, token_hash: str) -> Wait | None:
    row = conn.execute(select(waits).where(_w.token_hash == token_hash)).one_or_none()
    return None if row is None else wait_of(row)


def followed(
    conn: Connection, wait_id: int, *, expires_at: datetime, token_hash: str | None = None
) -> None:
    """Its ticket was followed: it stays in line until `expires_at` (with a new ticket, when
    the agent asked again from another browser)."""
    values: dict[str, Any] = {"expires_at": expires_at}
    if token_hash is not None:
        values["token_hash"] = token_hash
    conn.execute(update(waits).where(_w.id == wait_id, WAITING).values(**values))


def end_waits(
    conn: Connection,
    account_id: int,
    wait_ids: Sequence[int],
    *,
    at: datetime,
    outcome: WaitOutcome,
) -> int:
    """End these places in the line (those not ended yet): left, or timed out."""
    if not wait_ids:
        return 0
    ended = conn.execute(
        update(waits).where(_w.id.in_(wait_ids), WAITING).values(ended_at=at, outcome=outcome.value)
    ).rowcount
    if ended:
        record(conn, LineChanged(account_id, at))
    return ended


def end_waits_of_user(conn: Connection, account_id: int, user_id: int, *, at: datetime) -> int:
    """The agent leaves the line (disabled, or signed out by the account's provider)."""
    mine = conn.execute(
        select(_w.id).where(_w.account_id == account_id, _w.user_id == user_id, WAITING)
    ).scalars()
    return end_waits(conn, account_id, list(mine), at=at, outcome=WaitOutcome.LEFT)


def collect(conn: Connection, wait_id: int, at: datetime) -> bool:
    """The ticket took the session it was seated in (once: False if it had)."""
    taken = conn.execute(
        update(waits)
        .where(_w.id == wait_id, _w.collected_at.is_(None), _w.session_id.is_not(None))
        .values(collected_at=at)
    ).rowcount
    return bool(taken)


def states(
    conn: Connection, wait_ids: Sequence[int], now: datetime
) -> dict[int, tuple[int, WaitOutcome | None, int]]:
    """Each place's account, outcome (None: waiting) and how many wait before it, in a read
    of the places and one of each line, whatever their number (from the line's index)."""
    rows = conn.execute(
        select(_w.id, _w.account_id, _w.outcome).where(_w.id.in_(list(wait_ids)))
    ).all()
    lines: dict[int, list[int]] = {}
    for account_id in {r.account_id for r in rows if r.outcome is None}:
        lines[account_id] = list(
            conn.execute(
                select(_w.id)
                .where(_w.account_id == account_id, WAITING, _w.expires_at > now)
                .order_by(_w.id)
            ).scalars()
        )
    found: dict[int, tuple[int, WaitOutcome | None, int]] = {}
    for row in rows:
        if row.outcome is not None:
            found[row.id] = (row.account_id, WaitOutcome(row.outcome), 0)
        else:
            found[row.id] = (row.account_id, None, bisect_left(lines[row.account_id], row.id))
    return found


def ahead_of(conn: Connection, wait: Wait, now: datetime) -> int:
    """How many wait before `wait` (places whose tickets are still followed)."""
    return conn.execute(
        select(func.count()).where(
            _w.account_id == wait.account_id, WAITING, _w.id < wait.id, _w.expires_at > now
        )
    ).scalar_one()


def accounts_waiting(conn: Connection) -> list[int]:
    """The accounts with anyone in line (a read of the line's small index)."""
    return list(conn.execute(select(_w.account_id).where(WAITING).distinct()).scalars())


def waiting_list(conn: Connection, account_id: int, now: datetime) -> list[tuple[Wait, str | None]]:
    """Who waits now, first asked first, each with their username (None: a Guest)."""
    rows = conn.execute(
        select(waits, users.c.username)
        .outerjoin(users, users.c.id == _w.user_id)
        .where(_w.account_id == account_id, WAITING, _w.expires_at > now)
        .order_by(_w.id)
    )
    return [(wait_of(r), r.username) for r in rows]


def wait_spans(
    conn: Connection, account_id: int, *, since: datetime, until: datetime
) -> list[WaitSpan]:
    """The places that were asked, seated or taken in [since, until), for the usage
    figures (a range of the account's index on asked_at, up to `until`)."""
    rows = conn.execute(
        select(_w.asked_at, _w.ended_at, _w.outcome, _w.freed_at, _w.collected_at).where(
            _w.account_id == account_id,
            _w.asked_at < until,
            or_(_w.asked_at >= since, _w.ended_at >= since, _w.collected_at >= since),
        )
    )
    return [
        WaitSpan(
            r.asked_at,
            r.ended_at if r.outcome == WaitOutcome.SEATED.value else None,
            r.freed_at,
            r.collected_at,
        )
        for r in rows
    ]


# --- seating the line ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seated:
    """A place in line given a session: a new one, or the agent's own opened meanwhile."""

    wait: Wait
    session: AgentSession
    new: bool


def seat_from_line(
    account: Account,
    waiting: Sequence[Wait],
    *,
    groups: Sequence[SeatGroup],
    member_of: Mapping[int | None, Sequence[SeatGroup]],
    held: seating.Holdings,
    sessions_of: Mapping[int, AgentSession],
    now: datetime,
) -> list[Seated]:
    """Whoever in `waiting` (live places, in order) gets a session now, counted in `held`.
    An agent who opened a session meanwhile (`sessions_of`) is seated in it."""
    result: list[Seated] = []
    line_: list[seating.Waiter] = []
    by_id = {w.id: w for w in waiting}
    for wait in waiting:
        own = None if wait.user_id is None else sessions_of.get(wait.user_id)
        if own is not None:
            result.append(Seated(wait, own, new=False))
        else:
            line_.append(seating.Waiter(wait.id, member_of.get(wait.user_id, ())))
    placed = seating.seat_line(
        licenses=account.licenses,
        overdraft=account.overdraft,
        groups=groups,
        line=line_,
        held=held,
    )
    for waiter, place in placed:
        wait = by_id[waiter.id]
        # Until its ticket takes it, the session lasts as long as the ticket would have.
        expires_at = min(pool.expiry(now, account.session_timeout), wait.expires_at)
        session = AgentSession(
            id=uuid4(),
            account_id=account.id,
            user_id=wait.user_id,
            started_at=now,
            last_activity_at=now,
            expires_at=expires_at,
            ended_at=None,
            end_reason=None,
            overdraft=place.overdraft,
            group_id=place.group_id,
            reserved=place.reserved,
        )
        result.append(Seated(wait, session, new=True))
    return result


def write_seated(
    conn: Connection, account_id: int, seated: Sequence[Seated], *, at: datetime, freed_at: datetime
) -> None:
    """Record the places seated, and the new sessions they were given."""
    if not seated:
        return
    sessions.insert_sessions(conn, [s.session for s in seated if s.new])
    conn.execute(
        update(waits)
        .where(_w.id == bindparam("wait_id"), WAITING)
        .values(
            ended_at=at,
            outcome=WaitOutcome.SEATED.value,
            session_id=bindparam("session"),
            freed_at=freed_at,
        ),
        [{"wait_id": s.wait.id, "session": s.session.id} for s in seated],
    )
    record(conn, LineChanged(account_id, at))


def live(conn: Connection, waiting: Iterable[Wait], account_id: int, now: datetime) -> list[Wait]:
    """The places whose tickets are still followed; the others leave the line, timed out."""
    kept: list[Wait] = []
    gone: list[Wait] = []
    for wait in waiting:
        (kept if wait.expires_at > now else gone).append(wait)
    end_waits(conn, account_id, [w.id for w in gone], at=now, outcome=WaitOutcome.TIMED_OUT)
    return kept


def settle_line(conn: Connection, account_id: int, now: datetime, freed_at: datetime) -> int:
    """Seat whoever in the account's line the rules give a license now; how many.

    Nearly always one read of an empty index. The account is locked only if no other
    transaction holds it (waiting for it here could deadlock with a holder who waits for
    a session this transaction changed): its holder seats the line itself, or the line's
    housekeeping does a second later.
    """
    if not line(conn, account_id) or not stored_accounts.try_lock_account(conn, account_id):
        return 0
    account = stored_accounts.account_by_id(conn, account_id)
    sessions.expire_overdue_sessions(conn, now, account_id=account_id)
    waiting = live(conn, line(conn, account_id), account_id, now)  # read again, locked
    if not waiting:
        return 0
    agents = {w.user_id for w in waiting if w.user_id is not None}
    groups: list[SeatGroup] = []
    member_of: dict[int | None, list[SeatGroup]] = {}
    if account.has_groups:
        groups, members = stored_seating.seat_groups_of(conn, account_id, agents)
        member_of = dict(members.items())
        member_of[None] = [g for g in groups if g.guests]
        held = stored_seating.holdings(conn, account_id, groups)
    else:
        held = seating.Holdings(unreserved=sessions.count_open_sessions(conn, account_id, now))
    seated = seat_from_line(
        account,
        waiting,
        groups=groups,
        member_of=member_of,
        held=held,
        sessions_of=sessions.open_sessions_of_users(conn, account_id, agents),
        now=now,
    )
    write_seated(conn, account_id, seated, at=now, freed_at=freed_at)
    return len(seated)
