"""Logins under a flood: failures per address whatever the usernames, and the bounded
password checks."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy import func, select, update

from seatkeeper.clock import FrozenClock
from seatkeeper.domain import throttle
from seatkeeper.domain.errors import DomainError, LoginsBusy
from seatkeeper.services import logins
from seatkeeper.services.secrets import PRODUCTION, QUEUE_PER_CHECK, CheckLimits, Passwords
from seatkeeper.storage import accounts as stored_accounts
from seatkeeper.storage import logins as stored_logins
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import login_failures, users
from tests.conftest import PASSWORD, World
from tests.waiting import PATIENCE

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


def right_login(db: Database, passwords: Passwords, clock: FrozenClock) -> str:
    return attempt(db, passwords, clock, username="alice", source=STRANGER, password=PASSWORD)


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


def test_right_logins_checked_in_parallel_never_pause_a_username(
    db: Database,
    passwords: Passwords,
    world: World,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Attempts count as failures while being checked, so that parallel guesses cannot slip
    past the limit; right ones in parallel (one agent's browsers, a shift start behind one
    address) make the next wait a moment, never pause it."""
    limit = throttle.FROM_ONE_ADDRESS
    checking, release = threading.Semaphore(0), threading.Event()
    verify = passwords.verify

    def slow(stored: str | None, password: str) -> bool:
        checking.release()
        release.wait(PATIENCE)
        return verify(stored, password)

    monkeypatch.setattr(passwords, "verify", slow)
    with ThreadPoolExecutor(limit) as pool:
        running = [pool.submit(right_login, db, passwords, clock) for _ in range(limit)]
        assert all(checking.acquire(timeout=PATIENCE) for _ in running)
        assert failures(db) == limit  # each counted until it turns out right
        assert right_login(db, passwords, clock) == "logins_busy"  # waits, untried
        release.set()
        assert [done.result() for done in running] == ["in"] * limit
    assert failures(db) == 0
    assert right_login(db, passwords, clock) == "in"
    # Wrong passwords settle as failures at once, and pause the username as before.
    monkeypatch.setattr(passwords, "verify", verify)
    for _ in range(limit):
        assert attempt(db, passwords, clock, username="alice", source=STRANGER) == (
            "invalid_credentials"
        )
    assert right_login(db, passwords, clock) == "too_many_attempts"


def test_an_attempt_cut_short_counts_as_a_failure_once_its_check_is_overdue(
    db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    """A server stopped while checking passwords leaves attempts being checked: a minute
    on, they are failures, and pause the username like any."""
    with db.write() as conn:
        for _ in range(throttle.FROM_ONE_ADDRESS):
            stored_logins.insert_login_failure(
                conn, account="acme", username="alice", source=STRANGER, at=clock.now()
            )
    assert right_login(db, passwords, clock) == "logins_busy"
    clock.advance(throttle.CHECKING)
    assert right_login(db, passwords, clock) == "too_many_attempts"


def test_a_paused_login_is_refused_without_waiting_for_the_write_lock(
    db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    """A flood of paused logins costs reads: none waits for the account's lock (on SQLite,
    the database's write lock) that every recorded attempt and claim needs."""
    for _ in range(throttle.FROM_ONE_ADDRESS):
        wrong = attempt(db, passwords, clock, username="alice", source=STRANGER)
        assert wrong == "invalid_credentials"
    with ThreadPoolExecutor(1) as pool, db.write() as conn:
        stored_accounts.lock_account(conn, world.acme.id)
        refused = pool.submit(right_login, db, passwords, clock)
        assert refused.result(timeout=PATIENCE) == "too_many_attempts"


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
