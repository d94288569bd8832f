"""Queries. Functions take a connection inside the caller's transaction and never commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import (
    Connection,
    Row,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    update,
)

from seatkeeper import metrics
from seatkeeper.domain.model import (
    Account,
    AgentSession,
    EndReason,
    Flow,
    GridRow,
    GridView,
    Interaction,
    KeyKind,
    Role,
    User,
)
from seatkeeper.domain.usage import Interval, Refusal, Tally
from seatkeeper.storage.tables import (
    UTCDateTime,
    accounts,
    agent_sessions,
    api_keys,
    denials,
    flows,
    interactions,
    login_failures,
    session_tokens,
    users,
    web_logins,
)
from seatkeeper.storage.tables import usage_days as usage_days_table

GUEST_LABEL = "Guest"


# --- accounts ---------------------------------------------------------------------------


def _account(row: Row[Any]) -> Account:
    return Account(
        id=row.id,
        slug=row.slug,
        name=row.name,
        licenses=row.licenses,
        time_zone=row.time_zone,
        session_timeout=timedelta(seconds=row.session_timeout_seconds),
        guests_allowed=row.guests_allowed,
        created_at=row.created_at,
        console_enabled=row.console_enabled,
        alert_levels=tuple(int(level) for level in row.alert_levels.split(",") if level),
    )


def insert_account(
    conn: Connection,
    *,
    slug: str,
    name: str,
    licenses: int,
    time_zone: str,
    session_timeout: timedelta,
    guests_allowed: bool,
    created_at: datetime,
    console_enabled: bool = False,
) -> Account:
    """Create an account."""
    row = conn.execute(
        accounts.insert()
        .values(
            slug=slug,
            name=name,
            licenses=licenses,
            time_zone=time_zone,
            session_timeout_seconds=int(session_timeout.total_seconds()),
            guests_allowed=guests_allowed,
            created_at=created_at,
            console_enabled=console_enabled,
        )
        .returning(*accounts.c)
    ).one()
    return _account(row)


def account_by_slug(conn: Connection, slug: str) -> Account | None:
    """The account with this slug."""
    row = conn.execute(select(accounts).where(accounts.c.slug == slug)).one_or_none()
    return None if row is None else _account(row)


def account_by_id(conn: Connection, account_id: int) -> Account:
    """The account with this id."""
    return _account(conn.execute(select(accounts).where(accounts.c.id == account_id)).one())


def lock_account(conn: Connection, account_id: int) -> Account:
    """Read an account and lock its row until the transaction ends.

    On PostgreSQL (READ COMMITTED) this serializes seat claims per account; on SQLite
    the transaction already holds the database's write lock (BEGIN IMMEDIATE).
    """
    row = conn.execute(select(accounts).where(accounts.c.id == account_id).with_for_update()).one()
    return _account(row)


def try_lock_account(conn: Connection, account_id: int) -> bool:
    """Lock the account's row unless another transaction holds it (then: False, at once)."""
    found = conn.execute(
        select(accounts.c.id).where(accounts.c.id == account_id).with_for_update(skip_locked=True)
    ).first()
    return found is not None


def all_accounts(conn: Connection) -> list[Account]:
    """Every account, by slug."""
    return [_account(r) for r in conn.execute(select(accounts).order_by(accounts.c.slug))]


def update_account(conn: Connection, account_id: int, **values: Any) -> Account:
    """Change an account's settings (columns of the accounts table)."""
    if "session_timeout" in values:
        values["session_timeout_seconds"] = int(values.pop("session_timeout").total_seconds())
    row = conn.execute(
        update(accounts).where(accounts.c.id == account_id).values(**values).returning(*accounts.c)
    ).one()
    return _account(row)


# --- users and keys ---------------------------------------------------------------------


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        account_id=row.account_id,
        username=row.username,
        role=Role(row.role),
        disabled=row.disabled_at is not None,
    )


def insert_user(
    conn: Connection,
    *,
    account_id: int,
    username: str,
    password_hash: str,
    role: Role,
    created_at: datetime,
) -> User:
    """Create a user."""
    row = conn.execute(
        users.insert()
        .values(
            account_id=account_id,
            username=username,
            password_hash=password_hash,
            role=role.value,
            created_at=created_at,
        )
        .returning(*users.c)
    ).one()
    return _user(row)


def user_login(conn: Connection, account_id: int, username: str) -> tuple[User, str] | None:
    """A user of the account and their password hash."""
    row = conn.execute(
        select(users).where(users.c.account_id == account_id, users.c.username == username)
    ).one_or_none()
    return None if row is None else (_user(row), row.password_hash)


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    """Replace a user's stored password hash (after a rehash on login)."""
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def insert_api_key(
    conn: Connection,
    *,
    account_id: int,
    user_id: int | None,
    kind: KeyKind,
    name: str,
    key_hash: str,
    created_at: datetime,
) -> None:
    """Store a new key's hash (the key itself is shown once and never stored)."""
    conn.execute(
        api_keys.insert().values(
            account_id=account_id,
            user_id=user_id,
            kind=kind.value,
            name=name,
            key_hash=key_hash,
            created_at=created_at,
        )
    )


def account_by_application_key(conn: Connection, key_hash: str) -> Account | None:
    """The account an unrevoked application key belongs to."""
    row = conn.execute(
        select(accounts)
        .join(api_keys, api_keys.c.account_id == accounts.c.id)
        .where(
            api_keys.c.key_hash == key_hash,
            api_keys.c.kind == KeyKind.APPLICATION.value,
            api_keys.c.revoked_at.is_(None),
        )
    ).one_or_none()
    return None if row is None else _account(row)


def user_by_token(conn: Connection, key_hash: str) -> User | None:
    """The enabled user an unrevoked user API token acts as."""
    row = conn.execute(
        select(users)
        .join(api_keys, api_keys.c.user_id == users.c.id)
        .where(
            api_keys.c.key_hash == key_hash,
            api_keys.c.kind == KeyKind.USER.value,
            api_keys.c.revoked_at.is_(None),
            users.c.disabled_at.is_(None),
        )
    ).one_or_none()
    return None if row is None else _user(row)


def revoke_api_keys(
    conn: Connection,
    *,
    account_id: int,
    kind: KeyKind,
    name: str,
    at: datetime,
    user_id: int | None = None,
) -> int:
    """Revoke the unrevoked keys of this kind and name (a user's, for user tokens)."""
    result = conn.execute(
        update(api_keys)
        .where(
            api_keys.c.account_id == account_id,
            api_keys.c.kind == kind.value,
            api_keys.c.user_id.is_(None) if user_id is None else api_keys.c.user_id == user_id,
            api_keys.c.name == name,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=at)
    )
    return result.rowcount


# --- agent sessions ---------------------------------------------------------------------


def _session(row: Row[Any]) -> AgentSession:
    return AgentSession(
        id=row.id,
        account_id=row.account_id,
        user_id=row.user_id,
        started_at=row.started_at,
        last_activity_at=row.last_activity_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
        end_reason=None if row.end_reason is None else EndReason(row.end_reason),
    )


_open = agent_sessions.c.ended_at.is_(None)


def count_open_sessions(conn: Connection, account_id: int, now: datetime) -> int:
    """Sessions holding a license at `now` (an unswept expired session holds none)."""
    return conn.execute(
        select(func.count())
        .select_from(agent_sessions)
        .where(agent_sessions.c.account_id == account_id, _open, agent_sessions.c.expires_at > now)
    ).scalar_one()


def license_use(conn: Connection, now: datetime) -> list[tuple[int, str, int, int]]:
    """Every account's (id, slug, licenses in use at `now`, licenses owned)."""
    s = agent_sessions.c
    used = (
        select(s.account_id, func.count().label("used"))
        .where(_open, s.expires_at > now)
        .group_by(s.account_id)
        .subquery()
    )
    rows = conn.execute(
        select(accounts.c.id, accounts.c.slug, func.coalesce(used.c.used, 0), accounts.c.licenses)
        .select_from(accounts.outerjoin(used, used.c.account_id == accounts.c.id))
        .order_by(accounts.c.slug)
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def open_sessions(conn: Connection, account_id: int) -> list[AgentSession]:
    """The account's unended sessions."""
    rows = conn.execute(
        select(agent_sessions)
        .where(agent_sessions.c.account_id == account_id, _open)
        .order_by(agent_sessions.c.id)  # the order rows are locked in, when they are
    )
    return [_session(r) for r in rows]


def open_session_of_user(conn: Connection, account_id: int, user_id: int) -> AgentSession | None:
    """The agent's unended session, if any (it may have expired unswept)."""
    row = conn.execute(
        select(agent_sessions).where(
            agent_sessions.c.account_id == account_id, agent_sessions.c.user_id == user_id, _open
        )
    ).one_or_none()
    return None if row is None else _session(row)


def insert_session(
    conn: Connection, *, account_id: int, user_id: int | None, now: datetime, expires_at: datetime
) -> AgentSession:
    """Record a new open session."""
    row = conn.execute(
        agent_sessions.insert()
        .values(
            id=uuid4(),
            account_id=account_id,
            user_id=user_id,
            started_at=now,
            last_activity_at=now,
            expires_at=expires_at,
        )
        .returning(*agent_sessions.c)
    ).one()
    metrics.count(conn, metrics.SESSIONS_OPENED, account_id)
    return _session(row)


def insert_session_token(
    conn: Connection, *, token_hash: str, session_id: UUID, now: datetime
) -> None:
    """Store the hash of a token that opens this session."""
    conn.execute(
        session_tokens.insert().values(token_hash=token_hash, session_id=session_id, created_at=now)
    )


def session_by_token(
    conn: Connection, token_hash: str, *, lock: bool = False
) -> tuple[AgentSession, timedelta] | None:
    """The session a token opens, with its account's session timeout.

    With `lock`, the session's row stays locked until the transaction ends, so that on
    PostgreSQL a call for the session, the timeout sweep and a termination never
    interleave (SQLite's write transactions are serialized already).
    """
    query = (
        select(agent_sessions, accounts.c.session_timeout_seconds)
        .join(session_tokens, session_tokens.c.session_id == agent_sessions.c.id)
        .join(accounts, accounts.c.id == agent_sessions.c.account_id)
        .where(session_tokens.c.token_hash == token_hash)
    )
    if lock:
        query = query.with_for_update(of=agent_sessions)
    row = conn.execute(query).one_or_none()
    if row is None:
        return None
    return _session(row), timedelta(seconds=row.session_timeout_seconds)


def touch_session(
    conn: Connection, session_id: UUID, *, now: datetime, expires_at: datetime
) -> None:
    """Record activity on an open session. Activity never moves back: a call (or a batch
    of heartbeats) that committed a later instant meanwhile is kept."""
    conn.execute(
        update(agent_sessions)
        .where(agent_sessions.c.id == session_id, _open, agent_sessions.c.last_activity_at < now)
        .values(last_activity_at=now, expires_at=expires_at)
    )


def session_states(
    conn: Connection, session_ids: Collection[UUID]
) -> dict[UUID, tuple[datetime | None, datetime]]:
    """Sessions' (ended_at, expires_at), read without a lock; unknown ids are left out.

    Every heartbeat runs this read, so it goes straight to the driver: through
    SQLAlchemy it cost more than all the rest of the heartbeat (bench/RESULTS.md).
    """
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "sqlite":  # ids are stored as 32 hex digits, times as text
            marks = ", ".join("?" * len(session_ids))
            cursor.execute(f"{_STATES_SQL} IN ({marks})", [i.hex for i in session_ids])
            return {
                UUID(hex=i): (_sqlite_time(ended), _utc(_sqlite_time(expires)))
                for i, ended, expires in cursor.fetchall()
            }
        cursor.execute(f"{_STATES_SQL} = ANY(%s)", (list(session_ids),))
        return {
            i: (ended and _utc(ended), _utc(expires)) for i, ended, expires in cursor.fetchall()
        }
    finally:
        cursor.close()


_STATES_SQL = "SELECT id, ended_at, expires_at FROM agent_sessions WHERE id"


def _sqlite_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def _utc(at: datetime | None) -> datetime:
    assert at is not None
    return at.astimezone(UTC)


def record_activity(conn: Connection, beats: Sequence[tuple[UUID, datetime, datetime]]) -> None:
    """Heartbeats written together: (session, when, new expiry) each.

    A session that ended meanwhile, or had expired by the heartbeat's time, is left as
    it is; activity never moves back. Written straight through the driver, like the
    heartbeat's read: these are the most frequent writes of all.
    """
    sql = (
        "UPDATE agent_sessions SET last_activity_at = %(at)s, expires_at = %(until)s"
        " WHERE id = %(sid)s AND ended_at IS NULL AND expires_at > %(at)s"
        " AND last_activity_at < %(at)s"
    )
    rows: list[dict[str, object]]
    if conn.dialect.name == "sqlite":  # its own parameter style, ids and times as text
        sql = sql.replace("%(", ":").replace(")s", "")
        rows = [
            {"sid": sid.hex, "at": _sqlite_text(at), "until": _sqlite_text(until)}
            for sid, at, until in beats
        ]
    else:
        rows = [{"sid": sid, "at": at, "until": until} for sid, at, until in beats]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def _sqlite_text(at: datetime) -> str:
    """An instant as SQLAlchemy stores it in SQLite (naive UTC, microseconds)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def set_session_expiry(conn: Connection, session_id: UUID, expires_at: datetime) -> None:
    """Move an open session's expiry (after the account's timeout changed)."""
    conn.execute(
        update(agent_sessions)
        .where(agent_sessions.c.id == session_id, _open)
        .values(expires_at=expires_at)
    )


def end_session(
    conn: Connection,
    session_id: UUID,
    *,
    at: datetime,
    reason: EndReason,
    by: int | None = None,
) -> bool:
    """End a session unless it already ended, closing its interactions. True if it was open.

    A session never ends before it started: an instance whose clock is a little behind
    the one that opened it ends it at its start instead.
    """
    s = agent_sessions.c
    when = literal(at, UTCDateTime)
    ended = conn.execute(
        update(agent_sessions)
        .where(s.id == session_id, _open)
        .values(
            ended_at=case((s.started_at > when, s.started_at), else_=when),
            end_reason=reason.value,
            ended_by=by,
        )
        .returning(s.account_id, s.ended_at)
    ).one_or_none()
    if ended is None:
        return False
    _close_interactions(conn, session_id, ended.ended_at)
    metrics.count(conn, metrics.SESSIONS_ENDED, ended.account_id, reason.value)
    return True


def expire_session(conn: Connection, session_id: UUID, now: datetime) -> bool:
    """Record a session as timed out at its expiry, if that has passed and it is still unended.

    The expiry is checked in the UPDATE itself, so that activity committed meanwhile
    (which moved the expiry) keeps the session open.
    """
    ended = conn.execute(
        update(agent_sessions)
        .where(agent_sessions.c.id == session_id, _open, agent_sessions.c.expires_at <= now)
        .values(ended_at=agent_sessions.c.expires_at, end_reason=EndReason.TIMEOUT.value)
        .returning(agent_sessions.c.ended_at, agent_sessions.c.account_id)
    ).one_or_none()
    if ended is None:
        return False
    _close_interactions(conn, session_id, ended.ended_at)
    metrics.count(conn, metrics.SESSIONS_ENDED, ended.account_id, EndReason.TIMEOUT.value)
    return True


def _close_interactions(conn: Connection, session_id: UUID, at: datetime) -> None:
    conn.execute(
        update(interactions)
        .where(interactions.c.session_id == session_id, interactions.c.closed_at.is_(None))
        .values(closed_at=at)
    )


def expire_overdue_sessions(conn: Connection, now: datetime, *, account_id: int) -> int:
    """Record as timed out every session of the account past its expiry, ended at that expiry.

    Call it holding the account's lock; rows are then locked in id order, the one order
    every transaction that locks several sessions follows, so none waits on another
    in a cycle.
    """
    overdue = conn.execute(
        select(agent_sessions.c.id)
        .where(agent_sessions.c.account_id == account_id, _open, agent_sessions.c.expires_at <= now)
        .order_by(agent_sessions.c.id)
    ).scalars()
    return sum(expire_session(conn, session_id, now) for session_id in overdue.all())


def accounts_with_overdue_sessions(conn: Connection, now: datetime) -> list[int]:
    """The accounts that have unended sessions past their expiry."""
    return list(
        conn.execute(
            select(agent_sessions.c.account_id)
            .where(_open, agent_sessions.c.expires_at <= now)
            .distinct()
        ).scalars()
    )


def sessions_by_id(
    conn: Connection, account_id: int, session_ids: Iterable[UUID], *, lock: bool = False
) -> dict[UUID, AgentSession]:
    """The account's sessions among these ids; with `lock`, their rows stay locked."""
    query = select(agent_sessions).where(
        agent_sessions.c.account_id == account_id, agent_sessions.c.id.in_(list(session_ids))
    )
    if lock:  # in id order, like every lock on several sessions
        query = query.order_by(agent_sessions.c.id).with_for_update()
    return {row.id: _session(row) for row in conn.execute(query)}


def insert_denial(conn: Connection, *, account_id: int, user_id: int | None, at: datetime) -> None:
    """Record a refused open."""
    conn.execute(denials.insert().values(account_id=account_id, user_id=user_id, at=at))
    metrics.count(conn, metrics.DENIALS, account_id)


# --- interactions -----------------------------------------------------------------------


def _interaction(row: Row[Any]) -> Interaction:
    return Interaction(
        id=row.id,
        session_id=row.session_id,
        flow=row.flow,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        step=row.step,
    )


def insert_interaction(
    conn: Connection, *, session_id: UUID, flow: str, now: datetime
) -> Interaction:
    """Open a Flow in a session."""
    row = conn.execute(
        interactions.insert()
        .values(id=uuid4(), session_id=session_id, flow=flow, opened_at=now)
        .returning(*interactions.c)
    ).one()
    return _interaction(row)


def interaction_in_session(
    conn: Connection, session_id: UUID, interaction_id: UUID
) -> Interaction | None:
    """An interaction of this session."""
    row = conn.execute(
        select(interactions).where(
            interactions.c.id == interaction_id, interactions.c.session_id == session_id
        )
    ).one_or_none()
    return None if row is None else _interaction(row)


def open_interactions(conn: Connection, session_id: UUID) -> list[Interaction]:
    """A session's open interactions, oldest first."""
    rows = conn.execute(
        select(interactions)
        .where(interactions.c.session_id == session_id, interactions.c.closed_at.is_(None))
        .order_by(interactions.c.opened_at, interactions.c.id)
    )
    return [_interaction(r) for r in rows]


def username_of(conn: Connection, user_id: int) -> str:
    username: str = conn.execute(select(users.c.username).where(users.c.id == user_id)).scalar_one()
    return username


def set_interaction_step(conn: Connection, interaction_id: UUID, step: str) -> None:
    conn.execute(update(interactions).where(interactions.c.id == interaction_id).values(step=step))


def close_interaction(conn: Connection, interaction_id: UUID, now: datetime) -> None:
    conn.execute(
        update(interactions)
        .where(interactions.c.id == interaction_id, interactions.c.closed_at.is_(None))
        .values(closed_at=now)
    )


# --- the Active Agents grid ---------------------------------------------------------------


def active_session_rows(
    conn: Connection,
    account_id: int,
    *,
    now: datetime,
    view: GridView,
) -> tuple[list[GridRow], int]:
    """One page of the account's open sessions, sorted and searched in the database, with
    their open interactions; and how many sessions match in all."""
    s = agent_sessions.c
    open_count = (
        select(func.count())
        .where(interactions.c.session_id == s.id, interactions.c.closed_at.is_(None))
        .correlate(agent_sessions)
        .scalar_subquery()
        .label("open_count")
    )
    agent = func.lower(func.coalesce(users.c.username, literal(GUEST_LABEL)))
    matching = [s.account_id == account_id, _open, s.expires_at > now]
    if view.search:
        pattern = "%" + _escape_like(view.search.lower()) + "%"
        # One pass over the open interactions, not one lookup for each session.
        flow_matches = select(interactions.c.session_id).where(
            interactions.c.closed_at.is_(None),
            func.lower(interactions.c.flow).like(pattern, escape="\\"),
        )
        matching.append(or_(agent.like(pattern, escape="\\"), s.id.in_(flow_matches)))
    key = {"agent_id": agent, "session_start": s.started_at, "open_interactions_count": open_count}[
        view.sort
    ]
    order = [key.desc() if view.descending else key.asc(), s.started_at, s.id]
    joined = agent_sessions.outerjoin(users, users.c.id == s.user_id)
    total = conn.execute(select(func.count()).select_from(joined).where(*matching)).scalar_one()
    rows = conn.execute(
        select(s.id, users.c.username, s.started_at, open_count)
        .select_from(joined)
        .where(*matching)
        .order_by(*order)
        .limit(view.per_page)
        .offset((view.page - 1) * view.per_page)
    ).all()
    flows = _open_flows(conn, [r.id for r in rows])
    return [
        GridRow(r.id, r.username, r.started_at, flows.get(r.id, ()), r.open_count) for r in rows
    ], total


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _open_flows(conn: Connection, session_ids: Sequence[UUID]) -> dict[UUID, tuple[str, ...]]:
    names: dict[UUID, set[str]] = defaultdict(set)
    for start in range(0, len(session_ids), 500):
        batch = session_ids[start : start + 500]
        rows = conn.execute(
            select(interactions.c.session_id, interactions.c.flow)
            .where(interactions.c.session_id.in_(batch), interactions.c.closed_at.is_(None))
            .distinct()
        )
        for session_id, flow in rows:
            names[session_id].add(flow)
    return {sid: tuple(sorted(flows)) for sid, flows in names.items()}


# --- usage history ----------------------------------------------------------------------


def session_intervals(
    conn: Connection, account_id: int, *, since: datetime, now: datetime
) -> list[Interval]:
    """Every session that held a license at some instant in [since, now]."""
    s = agent_sessions.c
    rows = conn.execute(
        select(s.started_at, s.ended_at, s.expires_at).where(
            s.account_id == account_id,
            s.started_at <= now,
            or_(s.ended_at > since, and_(s.ended_at.is_(None), s.expires_at > since)),
        )
    )
    intervals = []
    for started_at, ended_at, expires_at in rows:
        end = ended_at if ended_at is not None else (expires_at if expires_at <= now else None)
        intervals.append(Interval(started_at, end))
    return intervals


def open_count_at(conn: Connection, account_id: int, at: datetime) -> int:
    """Sessions holding a license at instant `at` (started by then, not yet ended)."""
    s = agent_sessions.c
    count: int = conn.execute(
        select(func.count())
        .select_from(agent_sessions)
        .where(
            s.account_id == account_id,
            s.started_at <= at,
            or_(s.ended_at > at, and_(s.ended_at.is_(None), s.expires_at > at)),
        )
    ).scalar_one()
    return count


def session_events(
    conn: Connection, account_id: int, *, after: datetime, until: datetime
) -> list[tuple[datetime, int]]:
    """Starts (+1) and ends (-1) of the account's sessions in (after, until]; a session
    past its expiry that nothing recorded yet ends at that expiry."""
    s = agent_sessions.c
    starts = select(s.started_at).where(
        s.account_id == account_id, s.started_at > after, s.started_at <= until
    )
    ended = select(s.ended_at).where(
        s.account_id == account_id, s.ended_at > after, s.ended_at <= until
    )
    lapsed = select(s.expires_at).where(
        s.account_id == account_id, _open, s.expires_at > after, s.expires_at <= until
    )
    return (
        [(at, 1) for at in conn.execute(starts).scalars()]
        + [(at, -1) for at in conn.execute(ended).scalars()]
        + [(at, -1) for at in conn.execute(lapsed).scalars()]
    )


def count_denials(conn: Connection, account_id: int, *, since: datetime, until: datetime) -> int:
    """Refused opens in [since, until)."""
    count: int = conn.execute(
        select(func.count())
        .select_from(denials)
        .where(denials.c.account_id == account_id, denials.c.at >= since, denials.c.at < until)
    ).scalar_one()
    return count


@dataclass(frozen=True, slots=True)
class UsageDay:
    """A cached day of the usage graph (see tables.usage_days)."""

    day: date
    through: datetime
    max_concurrent: int
    denials: int
    open_at_through: int
    at_cap: timedelta
    peak_demand: int
    licenses: int  # the total the day was computed against (its time at the cap)

    @classmethod
    def of(cls, day: date, tally: Tally, denials: int, licenses: int) -> UsageDay:
        return cls(
            day, tally.at, tally.peak, denials, tally.count, tally.at_cap, tally.demand, licenses
        )

    @property
    def tally(self) -> Tally:
        return Tally(
            self.through, self.open_at_through, self.max_concurrent, self.at_cap, self.peak_demand
        )


def usage_days(
    conn: Connection, account_id: int, time_zone: str, first: date
) -> dict[date, UsageDay]:
    """The cached days of the account, in that time zone, from `first` on."""
    u = usage_days_table.c
    rows = conn.execute(
        select(
            u.day,
            u.through,
            u.max_concurrent,
            u.denials,
            u.open_at_through,
            u.micros_at_cap,
            u.peak_demand,
            u.licenses,
        ).where(u.account_id == account_id, u.time_zone == time_zone, u.day >= first)
    )
    return {
        r.day: UsageDay(
            r.day,
            r.through,
            r.max_concurrent,
            r.denials,
            r.open_at_through,
            timedelta(microseconds=r.micros_at_cap),
            r.peak_demand,
            r.licenses,
        )
        for r in rows
    }


def store_usage_days(
    conn: Connection, account_id: int, time_zone: str, days: Sequence[UsageDay]
) -> None:
    """Replace these cached days."""
    if not days:
        return
    u = usage_days_table.c
    conn.execute(
        usage_days_table.delete().where(
            u.account_id == account_id, u.time_zone == time_zone, u.day.in_([d.day for d in days])
        )
    )
    conn.execute(
        usage_days_table.insert(),
        [
            {
                "account_id": account_id,
                "time_zone": time_zone,
                "day": d.day,
                "through": d.through,
                "max_concurrent": d.max_concurrent,
                "denials": d.denials,
                "open_at_through": d.open_at_through,
                "micros_at_cap": d.at_cap // timedelta(microseconds=1),
                "peak_demand": d.peak_demand,
                "licenses": d.licenses,
            }
            for d in days
        ],
    )


def accounts_behind(conn: Connection, *, before: datetime) -> list[Account]:
    """Accounts whose kept usage days stop before `before` (or that have none), for
    warming them ahead of anyone's first look."""
    u = usage_days_table.c
    latest = (
        select(u.account_id, func.max(u.through).label("through")).group_by(u.account_id).subquery()
    )
    rows = conn.execute(
        select(accounts)
        .select_from(accounts.outerjoin(latest, latest.c.account_id == accounts.c.id))
        .where(or_(latest.c.through.is_(None), latest.c.through < before))
        .order_by(accounts.c.id)
    )
    return [_account(r) for r in rows]


def forget_usage(conn: Connection, account_id: int, *, since: datetime | None = None) -> None:
    """Drop cached days that a change at `since` (or any change: None) makes wrong."""
    u = usage_days_table.c
    query = usage_days_table.delete().where(u.account_id == account_id)
    if since is not None:
        query = query.where(u.through >= since)
    conn.execute(query)


def denial_times(
    conn: Connection, account_id: int, *, since: datetime, until: datetime
) -> list[datetime]:
    """When opens were refused in [since, until)."""
    return [at for at, _ in refusals(conn, account_id, since=since, until=until)]


def refusals(
    conn: Connection, account_id: int, *, since: datetime, until: datetime
) -> list[Refusal]:
    """Refused opens in [since, until): when, and who asked ("user N", or "guest N" for
    each Guest refusal on its own)."""
    d = denials.c
    rows = conn.execute(
        select(d.at, d.user_id, d.id).where(d.account_id == account_id, d.at >= since, d.at < until)
    )
    return [(r.at, f"user {r.user_id}" if r.user_id is not None else f"guest {r.id}") for r in rows]


# --- logins to the pages, and wrong passwords -------------------------------------------


def insert_web_login(
    conn: Connection,
    *,
    user_id: int,
    token_hash: str,
    now: datetime,
    expires_at: datetime,
    source: str | None,
) -> None:
    """Record a login to the pages (the cookie's token is stored only as its hash)."""
    conn.execute(
        web_logins.insert().values(
            user_id=user_id,
            token_hash=token_hash,
            created_at=now,
            expires_at=expires_at,
            source=source,
        )
    )


def user_by_web_login(conn: Connection, token_hash: str, now: datetime) -> User | None:
    """The enabled user of a login that is neither over nor logged out."""
    row = conn.execute(
        select(users)
        .join(web_logins, web_logins.c.user_id == users.c.id)
        .where(
            web_logins.c.token_hash == token_hash,
            web_logins.c.ended_at.is_(None),
            web_logins.c.expires_at > now,
            users.c.disabled_at.is_(None),
        )
    ).one_or_none()
    return None if row is None else _user(row)


def end_web_login(conn: Connection, token_hash: str, now: datetime) -> None:
    conn.execute(
        update(web_logins)
        .where(web_logins.c.token_hash == token_hash, web_logins.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def insert_login_failure(
    conn: Connection, *, account: str, username: str, source: str | None, at: datetime
) -> int:
    """Record a login attempt as failed (until it turns out right); returns its id."""
    inserted: int = conn.execute(
        login_failures.insert()
        .values(account=account, username=username, source=source, at=at)
        .returning(login_failures.c.id)
    ).scalar_one()
    return inserted


def delete_login_failure(conn: Connection, failure_id: int) -> None:
    """Forget an attempt that turned out to have the right password."""
    conn.execute(login_failures.delete().where(login_failures.c.id == failure_id))


def prune_login_failures(conn: Connection, *, before: datetime) -> None:
    """Forget failures too old to count any more."""
    conn.execute(login_failures.delete().where(login_failures.c.at < before))


def recent_login_failures(
    conn: Connection, *, account: str, username: str, source: str | None, since: datetime
) -> tuple[list[datetime], list[datetime]]:
    """A username's failures since `since`, oldest first: from this source, and from anywhere."""
    f = login_failures.c
    rows = conn.execute(
        select(f.at, f.source)
        .where(f.account == account, f.username == username, f.at > since)
        .order_by(f.at)
    ).all()
    from_here = [at for at, from_source in rows if source is not None and from_source == source]
    return from_here, [at for at, _ in rows]


# --- flows ---------------------------------------------------------------------------------


def account_flows(conn: Connection, account_id: int) -> list[Flow]:
    """The account's Flows, by name."""
    rows = conn.execute(
        select(flows.c.name, flows.c.steps)
        .where(flows.c.account_id == account_id)
        .order_by(flows.c.name)
    )
    return [Flow(name, tuple(steps)) for name, steps in rows]


def insert_flow(conn: Connection, account_id: int, flow: Flow, *, now: datetime) -> None:
    conn.execute(
        flows.insert().values(
            account_id=account_id, name=flow.name, steps=list(flow.steps), created_at=now
        )
    )


def delete_flow(conn: Connection, account_id: int, name: str) -> bool:
    """Remove a Flow; True if there was one. Interactions keep the name they were opened with."""
    deleted = conn.execute(
        flows.delete().where(flows.c.account_id == account_id, flows.c.name == name)
    ).rowcount
    return bool(deleted)
