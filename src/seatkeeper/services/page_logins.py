"""A user's logins to the pages: they list their own and end the others; an admin ends all
of a user's. (Resetting a password and disabling a user end them too: see `users`.)"""

from __future__ import annotations

from datetime import datetime

from seatkeeper.domain import roles, validation
from seatkeeper.domain.errors import UserNotFound
from seatkeeper.domain.model import Account, PageLoginRow, Role, User
from seatkeeper.services.access import Actor, audited, authorize
from seatkeeper.services.secrets import token_hash
from seatkeeper.storage import logins as stored_logins
from seatkeeper.storage import users as stored_users
from seatkeeper.storage.db import Database


def own_logins(db: Database, user: User, token: str, *, now: datetime) -> list[PageLoginRow]:
    """The user's logins that are still on, latest first; the one `token` is marked."""
    with db.read() as conn:
        return stored_logins.web_logins_of(conn, user.id, now, current_hash=token_hash(token))


def end_other_logins(
    db: Database, user: User, token: str, *, now: datetime, source: str | None = None
) -> int:
    """End every login of the user but the one `token` is ("log out everywhere else");
    returns how many ended."""
    with db.write() as conn:
        ended = stored_logins.end_web_logins_of(conn, user.id, now, keep_hash=token_hash(token))
        audited(
            conn, user.account_id, "logins_ended", user, at=now, source=source,
            username=user.username, ended=ended, kept="the login that asked",
        )  # fmt: skip
        return ended


def end_user_logins(
    db: Database,
    actor: Actor,
    account_slug: str,
    username: str,
    *,
    now: datetime,
    source: str | None = None,
) -> tuple[Account, int]:
    """End every login of a user (account_admin and higher, for users up to their own role);
    their next page or call with a login answers as for a stranger."""
    with db.write() as conn:
        account = authorize(conn, actor, account_slug)
        # A name no user can have (a NUL byte, say) is looked for nowhere.
        plausible = validation.is_username(username)
        target = stored_users.user_named(conn, account.id, username) if plausible else None
        if target is None:
            raise UserNotFound(f"The account has no user {username!r}.")
        rank = actor.role if isinstance(actor, User) else Role.SUPER_ADMIN
        roles.check_may_manage(rank, target.role)
        ended = stored_logins.end_web_logins_of(conn, target.id, now)
        audited(
            conn, account.id, "logins_ended", actor, at=now, source=source,
            username=username, ended=ended,
        )  # fmt: skip
        return account, ended
