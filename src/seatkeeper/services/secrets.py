"""Passwords and bearer tokens: both are stored only as hashes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST

from seatkeeper.domain.errors import LoginsBusy

T = TypeVar("T")
CHECKS_NICENESS = 10  # password checks yield the CPU to serving requests (Linux)

APPLICATION_KEY_PREFIX = "sk_app_"
USER_TOKEN_PREFIX = "sk_user_"  # noqa: S105 (a prefix, not a secret)
SESSION_TOKEN_PREFIX = "sk_sess_"  # noqa: S105
LOGIN_TOKEN_PREFIX = "sk_login_"  # noqa: S105
WAIT_TOKEN_PREFIX = "sk_wait_"  # noqa: S105 (a ticket for a place in line)


def new_token(prefix: str) -> str:
    """A fresh random bearer token (256 bits), shown once to its owner."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored of a token. Tokens are random, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


QUEUE_PER_CHECK = 8


@dataclass(frozen=True, slots=True)
class CheckLimits:
    """How many password checks run at once (each argon2 hash takes a core and 19 MiB),
    and how many logins may wait for one; a login beyond both is refused at once."""

    checks: int
    queue: int
    retry_after: timedelta = timedelta(seconds=2)

    @classmethod
    def for_machine(cls, checks: int | None = None, queue: int | None = None) -> CheckLimits:
        """`checks` defaults to the usable cores, `queue` to eight times `checks`: at a
        shift start, a login that waits a few checks' time (50 ms each) is seated sooner
        than one sent away for two seconds, and a waiting login holds neither a core nor
        argon2's memory."""
        checks = checks or usable_cores()
        return cls(checks, QUEUE_PER_CHECK * checks if queue is None else queue)


def _lower_priority() -> None:
    """Make the calling thread (and the threads argon2 starts from it) nicer than the
    server's other threads, so that a flood of logins slows serving as little as can be."""
    # Not on Linux, or not allowed: the same priority then.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECKS_NICENESS)


# OWASP's password storage recommendation for argon2id: 19 MiB, 2 passes, 1 lane. One lane
# keeps a check on one core, so that the pool of checks (one per core) bounds the CPU, and
# 19 MiB a check keeps a flood of logins from growing the server (argon2-cffi's default,
# RFC 9106's low-memory profile, takes 64 MiB and four threads). Hashes made with other
# parameters are made again with these at the user's next login.
PRODUCTION = Parameters(
    type=Type.ID,
    version=19,
    salt_len=16,
    hash_len=32,
    time_cost=2,
    memory_cost=19 * 1024,  # KiB
    parallelism=1,
)


class Passwords:
    """argon2id hashing, with verification that also upgrades old parameters.

    With `limits`, hashes run in a pool of `limits.checks` threads of lower CPU priority
    (the others wait their turn), and `admitted()` lets at most `checks + queue` logins
    in at a time.
    """

    def __init__(self, *, fast: bool = False, limits: CheckLimits | None = None) -> None:
        self._hasher = PasswordHasher.from_parameters(CHEAPEST if fast else PRODUCTION)
        self.limits = limits
        self._checks = (
            ThreadPoolExecutor(limits.checks, "password-check", initializer=_lower_priority)
            if limits
            else None
        )
        self._admitted = (
            threading.BoundedSemaphore(limits.checks + limits.queue) if limits else None
        )
        # Verified when a username is unknown, so that both answers take as long.
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """A login's turn to be checked, or LoginsBusy at once (nothing hashed) when every
        check is taken and the queue is full."""
        if self._admitted is None:
            yield
            return
        if not self._admitted.acquire(blocking=False):
            assert self.limits is not None
            raise LoginsBusy(retry_after=self.limits.retry_after)
        try:
            yield
        finally:
            self._admitted.release()

    def _checked(self, work: Callable[[], T]) -> T:
        """`work` in the pool of checks (waiting for a turn), or here without limits."""
        return work() if self._checks is None else self._checks.submit(work).result()

    def hash(self, password: str) -> str:
        return self._checked(lambda: self._hasher.hash(password))

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches; `stored` None spends the same time and says no."""
        try:
            matches = self._checked(lambda: self._hasher.verify(stored or self._dummy, password))
        except (VerificationError, InvalidHashError):
            return False
        return matches and stored is not None

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
