"""Passwords and bearer tokens: both are stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST, RFC_9106_LOW_MEMORY

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


class Passwords:
    """argon2id hashing, with verification that also upgrades old parameters."""

    def __init__(self, *, fast: bool = False) -> None:
        self._hasher = PasswordHasher.from_parameters(CHEAPEST if fast else RFC_9106_LOW_MEMORY)
        # Verified when a username is unknown, so that both answers take as long.
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches; `stored` None spends the same time and says no."""
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
