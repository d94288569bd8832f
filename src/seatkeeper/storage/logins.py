"""Logins to the pages, and wrong passwords (for throttling)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from seatkeeper.domain import throttle
from seatkeeper.domain.model import PageLoginRow, User
from seatkeeper.storage.tables import login_failures, users, web_logins
from seatkeeper.storage.users import user_of


def insert_web_login(
    conn: Connection,
    *,
    user_id: int,
    token_hash: str,
    now: datetime,
    expires_at: datetime,
    source: str | None,
    user_agent: str | None = None,
    sso_session: str | None = None,
) -> None:
    """Record a login to the pages (the cookie's token is stored only as its hash)."""
    conn.execute(
        web_logins.insert().values(
            user_id=user_id,
            token_hash=token_hash,
            created_at=now,
            expires_at=expires_at,
            last_seen_at=now,
            source=source,
            user_agent=None if user_agent is None else user_agent[:200],
            sso_session=None if sso_session is None else sso_session[:255],
        )
    )


def user_by_web_login(
    conn: Connection, token_hash: str, now: datetime
) -> tuple[User, datetime | None] | None:
    """The enabled user of a login that is neither over nor logged out, and when the login
    was last seen."""
    row = conn.execute(
        select(users, web_logins.c.last_seen_at.label("login_seen_at"))
        .join(web_logins, web_logins.c.user_id == users.c.id)
        .where(
            web_logins.c.token_hash == token_hash,
            web_logins.c.ended_at.is_(None),
            web_logins.c.expires_at > now,
            users.c.disabled_at.is_(None),
        )
    ).one_or_none()
    return None if row is None else (user_of(row), row.login_seen_at)


def web_login_seen(conn: Connection, token_hash: str, now: datetime) -> None:
    """Note that a login was seen now."""
    conn.execute(
        update(web_logins).where(web_logins.c.token_hash == token_hash).values(last_seen_at=now)
    )


def web_logins_of(
    conn: Connection, user_id: int, now: datetime, *, current_hash: str | None
) -> list[PageLoginRow]:
    """A user's logins that are still on, the latest first."""
    w = web_logins.c
    rows = conn.execute(
        select(w.id, w.token_hash, w.created_at, w.source, w.user_agent, w.last_seen_at)
        .where(w.user_id == user_id, w.ended_at.is_(None), w.expires_at > now)
        .order_by(w.created_at.desc(), w.id.desc())
    ).all()
    return [
        PageLoginRow(
            r.id, r.created_at, r.source, r.user_agent, r.last_seen_at, r.token_hash == current_hash
        )
        for r in rows
    ]


def end_web_logins_of(
    conn: Connection, user_id: int, now: datetime, *, keep_hash: str | None = None
) -> int:
    """End a user's logins that are still on (but the one whose hash is `keep_hash`);
    returns how many."""
    w = web_logins.c
    on = [w.user_id == user_id, w.ended_at.is_(None), w.expires_at > now]
    if keep_hash is not None:
        on.append(w.token_hash != keep_hash)
    ended: int = conn.execute(update(web_logins).where(*on).values(ended_at=now)).rowcount
    return ended


def end_web_login(conn: Connection, token_hash: str, now: datetime) -> None:
    conn.execute(
        update(web_logins)
        .where(web_logins.c.token_hash == token_hash, web_logins.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def insert_login_failure(
    conn: Connection, *, account: str, username: str, source: str | None, at: datetime
) -> int:
    """Record a login attempt as failed (until it turns out right), its password being
    checked; returns its id."""
    inserted: int = conn.execute(
        login_failures.insert()
        .values(
            account=account,
            username=username,
            source=source,
            at=at,
            checking_until=at + throttle.CHECKING,
        )
        .returning(login_failures.c.id)
    ).scalar_one()
    return inserted


def delete_login_failure(conn: Connection, failure_id: int) -> None:
    """Forget an attempt that turned out to have the right password."""
    conn.execute(login_failures.delete().where(login_failures.c.id == failure_id))


def settle_login_failure(conn: Connection, failure_id: int) -> None:
    """Note that an attempt's password turned out wrong."""
    conn.execute(
        update(login_failures).where(login_failures.c.id == failure_id).values(checking_until=None)
    )


def prune_login_failures(conn: Connection, *, before: datetime) -> None:
    """Forget failures too old to count any more."""
    conn.execute(login_failures.delete().where(login_failures.c.at < before))


def recent_failures_from(
    conn: Connection, source: str, *, since: datetime, now: datetime
) -> throttle.Recent:
    """An address's attempts since `since`, whatever the account and username."""
    f = login_failures.c
    rows = conn.execute(
        select(f.at, f.checking_until).where(f.source == source, f.at > since).order_by(f.at)
    ).all()
    return throttle.recent(((r.at, r.checking_until) for r in rows), now)


def recent_login_failures(
    conn: Connection,
    *,
    account: str,
    username: str,
    source: str | None,
    since: datetime,
    now: datetime,
) -> tuple[throttle.Recent, throttle.Recent]:
    """A username's attempts since `since`: from this source, and from anywhere."""
    f = login_failures.c
    rows = conn.execute(
        select(f.at, f.checking_until, f.source)
        .where(f.account == account, f.username == username, f.at > since)
        .order_by(f.at)
    ).all()
    anywhere = [(at, until) for at, until, _ in rows]
    here = [(at, until) for at, until, s in rows if source is not None and s == source]
    return throttle.recent(here, now), throttle.recent(anywhere, now)
