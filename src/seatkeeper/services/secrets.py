"""Passwords and bearer tokens: both are stored only as hashes."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST, RFC_9106_LOW_MEMORY

from seatkeeper.domain.errors import LoginsBusy

APPLICATION_KEY_PREFIX = "sk_app_"
USER_TOKEN_PREFIX = "sk_user_"  # noqa: S105 (a prefix, not a secret)
SESSION_TOKEN_PREFIX = "sk_sess_"  # noqa: S105
LOGIN_TOKEN_PREFIX = "sk_login_"  # noqa: S105


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


@dataclass(frozen=True, slots=True)
class CheckLimits:
    """How many password checks run at once (each argon2 hash takes a core and 64 MiB),
    and how many logins may wait for one; a login beyond both is refused at once."""

    checks: int
    queue: int
    retry_after: timedelta = timedelta(seconds=2)

    @classmethod
    def for_machine(cls, checks: int | None = None, queue: int | None = None) -> CheckLimits:
        """`checks` defaults to the usable cores, `queue` to twice `checks`."""
        checks = checks or usable_cores()
        return cls(checks, 2 * checks if queue is None else queue)


class Passwords:
    """argon2id hashing, with verification that also upgrades old parameters.

    With `limits`, at most `limits.checks` hashes run at once (the others wait their
    turn), and `admitted()` lets at most `checks + queue` logins in at a time.
    """

    def __init__(self, *, fast: bool = False, limits: CheckLimits | None = None) -> None:
        self._hasher = PasswordHasher.from_parameters(CHEAPEST if fast else RFC_9106_LOW_MEMORY)
        self.limits = limits
        self._running = threading.BoundedSemaphore(limits.checks) if limits else None
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

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """One of the checks that run at once (waiting for it)."""
        if self._running is None:
            yield
            return
        with self._running:
            yield

    def hash(self, password: str) -> str:
        with self._turn():
            return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches; `stored` None spends the same time and says no."""
        try:
            with self._turn():
                return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
