"""License and timeout rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from seatkeeper.domain import pool
from seatkeeper.domain.errors import SessionExpired, SessionLoggedOut, SessionTerminated
from seatkeeper.domain.model import AgentSession, EndReason, Role

T0 = datetime(2026, 3, 10, 9, tzinfo=UTC)
TIMEOUT = timedelta(minutes=30)


def session(last_activity: datetime = T0, **ended: object) -> AgentSession:
    return AgentSession(
        id=uuid4(),
        account_id=1,
        user_id=None,
        started_at=T0,
        last_activity_at=last_activity,
        expires_at=pool.expiry(last_activity, TIMEOUT),
        ended_at=ended.get("ended_at"),  # type: ignore[arg-type]
        end_reason=ended.get("end_reason"),  # type: ignore[arg-type]
    )


def test_a_session_is_open_until_the_instant_its_timeout_passes() -> None:
    s = session(T0 + timedelta(minutes=10))
    assert pool.end_of(s, T0 + timedelta(minutes=39, seconds=59)) is None
    assert pool.end_of(s, T0 + timedelta(minutes=40)) == (
        T0 + timedelta(minutes=40),
        EndReason.TIMEOUT,
    )
    # Noticed an hour later, it still ended at last activity + timeout.
    assert pool.end_of(s, T0 + timedelta(hours=5)) == (
        T0 + timedelta(minutes=40),
        EndReason.TIMEOUT,
    )


@pytest.mark.parametrize(
    ("reason", "error"),
    [
        (EndReason.TERMINATED, SessionTerminated),
        (EndReason.TIMEOUT, SessionExpired),
        (EndReason.LOGOUT, SessionLoggedOut),
    ],
)
def test_calls_for_an_ended_session_say_how_it_ended(reason: EndReason, error: type) -> None:
    s = session(ended_at=T0 + timedelta(minutes=1), end_reason=reason)
    ended = pool.end_of(s, T0 + timedelta(minutes=2))
    assert ended == (T0 + timedelta(minutes=1), reason)
    assert type(pool.ended_error(ended[1])) is error


def test_the_termination_sentence_is_exact() -> None:
    assert SessionTerminated().message == "Your session was terminated by an administrator."


def test_seats() -> None:
    assert pool.has_free_seat(9, 10)
    assert not pool.has_free_seat(10, 10)
    assert not pool.has_free_seat(12, 10)  # licenses lowered below use: nobody new gets in
    assert not pool.has_free_seat(0, 0)


def test_an_overdraft_allows_that_many_more_and_marks_them() -> None:
    assert pool.has_free_seat(10, 10, 2) and pool.has_free_seat(11, 10, 2)
    assert not pool.has_free_seat(12, 10, 2)
    assert not pool.has_free_seat(15, 10, 2)  # licenses lowered below use
    assert pool.has_free_seat(0, 0, 1) and not pool.has_free_seat(1, 0, 1)
    assert [pool.opens_overdraft(n, 10) for n in (0, 9, 10, 11)] == [False, False, True, True]
    assert pool.opens_overdraft(0, 0)  # with no licenses every session is beyond them


def test_a_changed_timeout_counts_from_last_activity_but_never_ends_a_session_in_the_past() -> None:
    now = T0 + timedelta(minutes=20)
    assert pool.expiry_after_timeout_change(T0, timedelta(hours=1), now) == T0 + timedelta(hours=1)
    assert pool.expiry_after_timeout_change(T0, timedelta(minutes=5), now) == now


def test_roles_are_ordered() -> None:
    assert [r.value for r in sorted(Role, key=lambda r: r.rank)] == [
        "agent",
        "designer",
        "account_admin",
        "super_admin",
    ]
    assert Role.SUPER_ADMIN.at_least(Role.ACCOUNT_ADMIN)
    assert Role.ACCOUNT_ADMIN.at_least(Role.ACCOUNT_ADMIN)
    assert not Role.DESIGNER.at_least(Role.ACCOUNT_ADMIN)
