"""Logins under a flood: failures per address whatever the usernames, and the bounded
password checks."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy import func, select, update

from seatkeeper.clock import FrozenClock
from seatkeeper.domain import throttle
from seatkeeper.domain.errors import DomainError, LoginsBusy
from seatkeeper.services import logins
from seatkeeper.services.secrets import PRODUCTION, QUEUE_PER_CHECK, CheckLimits, Passwords
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import login_failures, users
from tests.conftest import PASSWORD, World

STRANGER = "203.0.113.7"


def attempt(
    db: Database,
    passwords: Passwords,
    clock: FrozenClock,
    *,
    username: str,
    source: str,
    password: str = "a wrong guess",
    account: str = "acme",
) -> str:
    """What a login answers: "in", or the refusal's code."""
    try:
        logins.log_in(
            db,
            passwords,
            account_slug=account,
            username=username,
            password=password,
            source=source,
            now=clock.now(),
        )
    except DomainError as refused:
        return refused.code
    return "in"


def failures(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(login_failures)).scalar_one())


def test_a_flood_of_usernames_from_one_address_pauses_it_and_no_other(
    db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    for n in range(throttle.FROM_ADDRESS):  # a new username each time, known accounts or not
        account = ("acme", "globex", "no-such-account")[n % 3]
        answer = attempt(
            db, passwords, clock, username=f"guess-{n}", source=STRANGER, account=account
        )
        assert answer == "invalid_credentials", n
    # From there, even the right password waits; from elsewhere, it is let in.
    paused = attempt(db, passwords, clock, username="admin", password=PASSWORD, source=STRANGER)
    assert paused == "too_many_attempts"
    assert (
        attempt(db, passwords, clock, username="admin", password=PASSWORD, source="203.0.113.8")
        == "in"
    )
    clock.advance(throttle.WINDOW)
    assert (
        attempt(db, passwords, clock, username="admin", password=PASSWORD, source=STRANGER) == "in"
    )


def test_beyond_the_checks_and_their_queue_a_login_is_refused_at_once_unhashed(
    db: Database, world: World, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    passwords = Passwords(fast=True, limits=CheckLimits(checks=1, queue=1))
    hashed: list[str] = []
    verify = passwords.verify

    def counted(stored: str | None, password: str) -> bool:
        hashed.append("x")
        return verify(stored, password)

    monkeypatch.setattr(passwords, "verify", counted)
    # One login being checked, one waiting: the next is refused.
    with passwords.admitted(), passwords.admitted(), pytest.raises(LoginsBusy) as busy:
        logins.log_in(
            db,
            passwords,
            account_slug="acme",
            username="admin",
            password=PASSWORD,
            source=STRANGER,
            now=clock.now(),
        )
    assert busy.value.code == "logins_busy"
    assert busy.value.retry_after == CheckLimits(1, 1).retry_after
    assert "try again in 2 seconds" in busy.value.message
    assert (hashed, failures(db)) == ([], 0)  # nothing hashed, nothing counted
    assert (
        attempt(db, passwords, clock, username="admin", password=PASSWORD, source=STRANGER) == "in"
    )
    assert hashed == ["x"]


def test_a_refused_login_gives_its_turn_back(
    db: Database, world: World, clock: FrozenClock
) -> None:
    passwords = Passwords(fast=True, limits=CheckLimits(checks=1, queue=0))
    for _ in range(3):  # a wrong password, then throttled ones: each frees its turn
        assert attempt(db, passwords, clock, username="admin", source=STRANGER) in (
            "invalid_credentials",
            "too_many_attempts",
        )
    assert (
        attempt(db, passwords, clock, username="admin", password=PASSWORD, source="10.0.0.1")
        == "in"
    )


def test_the_checks_default_to_the_machine() -> None:
    limits = CheckLimits.for_machine()
    assert limits.checks >= 1 and limits.queue == QUEUE_PER_CHECK * limits.checks
    assert CheckLimits.for_machine(3, 0) == CheckLimits(3, 0)


def test_a_hash_made_with_older_parameters_is_made_again_with_owasps_at_login(
    db: Database, world: World, clock: FrozenClock
) -> None:
    """A password hashed with argon2-cffi's default profile (64 MiB, 4 lanes), as earlier
    versions did, still logs in, and is then kept with the production parameters."""
    old = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY).hash(PASSWORD)
    with db.write() as conn:
        conn.execute(update(users).where(users.c.username == "alice").values(password_hash=old))
    production = Passwords()
    assert (
        attempt(db, production, clock, username="alice", source=STRANGER, password=PASSWORD) == "in"
    )
    with db.read() as conn:
        kept = conn.execute(select(users.c.password_hash).where(users.c.username == "alice"))
        now_kept = kept.scalar_one()
    assert extract_parameters(now_kept) == PRODUCTION != extract_parameters(old)
    assert (PRODUCTION.memory_cost, PRODUCTION.time_cost, PRODUCTION.parallelism) == (19456, 2, 1)
