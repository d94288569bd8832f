"""License and timeout rules: who may open a session, when a session has ended."""

from __future__ import annotations

from datetime import datetime, timedelta

from seatkeeper.domain.errors import (
    GuestsNotAllowed,
    SessionEnded,
    SessionExpired,
    SessionLoggedOut,
    SessionTerminated,
    SessionUserDisabled,
)
from seatkeeper.domain.model import Account, AgentSession, EndReason

MIN_TIMEOUT = timedelta(minutes=1)
MAX_TIMEOUT = timedelta(hours=24)
DEFAULT_TIMEOUT = timedelta(minutes=30)


def expiry(last_activity: datetime, timeout: timedelta) -> datetime:
    """The instant a session with this last activity times out."""
    return last_activity + timeout


def has_expired(session: AgentSession, now: datetime) -> bool:
    """Whether an unended session has passed its timeout. Its seat is free from that instant."""
    return session.ended_at is None and now >= session.expires_at


def end_of(session: AgentSession, now: datetime) -> tuple[datetime, EndReason] | None:
    """When and why the session ended as of `now`, or None while it is open.

    A session nobody has swept yet still ended at `last_activity + timeout`.
    """
    if session.ended_at is not None:
        assert session.end_reason is not None
        return session.ended_at, session.end_reason
    if has_expired(session, now):
        return session.expires_at, EndReason.TIMEOUT
    return None


def ended_error(reason: EndReason) -> SessionEnded:
    """The refusal an agent gets for a session that ended for `reason`."""
    errors: dict[EndReason, type[SessionEnded]] = {
        EndReason.TERMINATED: SessionTerminated,
        EndReason.TIMEOUT: SessionExpired,
        EndReason.LOGOUT: SessionLoggedOut,
        EndReason.DISABLED: SessionUserDisabled,
    }
    return errors[reason]()


def has_free_seat(open_sessions: int, licenses: int, overdraft: int = 0) -> bool:
    """Whether one more session fits under the account's licenses and its overdraft."""
    return open_sessions < licenses + overdraft


def opens_overdraft(open_sessions: int, licenses: int) -> bool:
    """Whether a session opened now, with `open_sessions` open, is beyond the licenses."""
    return open_sessions >= licenses


def ensure_guest_allowed(account: Account) -> None:
    """Refuse a Guest session where the account requires login."""
    if not account.guests_allowed:
        raise GuestsNotAllowed


def expiry_after_timeout_change(
    last_activity: datetime, new_timeout: timedelta, now: datetime
) -> datetime:
    """An open session's new expiry when the account's timeout changes.

    The new timeout counts from the session's last activity, but never ends it
    in the past: a session that would already be over ends now.
    """
    return max(now, expiry(last_activity, new_timeout))
