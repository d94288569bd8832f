"""The rules for usernames and passwords, each refusal naming the rule it applies.

Usernames are compared after Unicode compatibility normalization and case folding
(`username_key`): `Admin`, `admin` and a full-width `admin` (U+FF41...) are one name. A
name that mixes scripts with letters that look alike (a Cyrillic a, U+0430, among Latin) is
refused, by Unicode's confusables data as the `confusable_homoglyphs` package ships it.
Passwords are refused when short, when among the most common passwords (the list the
`zxcvbn` strength estimator ships: 30,000 passwords from leaks), or when they are the
username or the account's name."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import cache

from confusable_homoglyphs import confusables
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from seatkeeper.domain.errors import InvalidInput

MAX_USERNAME = 100
MAX_USERNAME_KEY = 400  # the stored key's width: compatibility forms can expand (ﬃ -> ffi)
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
USERNAME_PUNCTUATION = ".@+-_"
_ALLOWED = "letters, digits and the characters . @ + - _"


def username_key(name: str) -> str:
    """The form two usernames are compared in: NFKC, case folded (Unicode's NFKC_Casefold,
    as its definition approximates it)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def _is_name_character(char: str) -> bool:
    return char in USERNAME_PUNCTUATION or char.isalnum()


def _describe(char: str) -> str:
    if char.isspace():
        return "spaces"
    if unicodedata.category(char) == "Cc":
        return "control characters"
    return f"the character {char!r} ({unicodedata.name(char, 'unnamed')})"


def username_problem(value: str) -> str | None:
    """What is wrong with `value` as a username, as a sentence; None when it is good."""
    problem = _form_problem(value)
    if problem is None and confusables.is_dangerous(value):
        problem = (
            f"A username must not mix scripts with letters that look alike (such as a "
            f"Cyrillic 'а' among Latin letters): {value!r} could pass for another name."
        )
    return problem


def _form_problem(value: str) -> str | None:
    if not value:
        return "A username must not be empty."
    if len(value) > MAX_USERNAME:
        return (
            f"A username must be at most {MAX_USERNAME} characters long; this one has {len(value)}."
        )
    wrong = next((c for c in value if not _is_name_character(c)), None)
    if wrong is not None:
        return f"A username must not contain {_describe(wrong)}: use {_ALLOWED}."
    if len(username_key(value)) > MAX_USERNAME_KEY:
        return f"A username must be at most {MAX_USERNAME} characters long once normalized."
    if value in {".", ".."}:
        return "A username cannot be '.' or '..' (no address could name it)."
    return None


def username(value: str) -> str:
    """A user's login name, as typed (`username_key` compares it)."""
    problem = username_problem(value)
    if problem is not None:
        raise InvalidInput(problem)
    return value


@cache
def common_passwords() -> frozenset[str]:
    """The most common passwords, lowercase (the list zxcvbn estimates strength with)."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def password(value: str, *, not_like: Iterable[str] = ()) -> str:
    """A new password: 8 to 1,024 characters, not a common one, and not the username nor the
    account (`not_like`), whatever their case."""
    if len(value) < MIN_PASSWORD:
        raise InvalidInput(
            f"A password must be at least {MIN_PASSWORD} characters long; this one has "
            f"{len(value)}."
        )
    if len(value) > MAX_PASSWORD:
        raise InvalidInput(f"A password must be at most {MAX_PASSWORD:,} characters long.")
    folded = username_key(value.strip())
    if folded in common_passwords():
        raise InvalidInput(
            "This password is one of the most common passwords, the first ones an attacker "
            "tries; choose another."
        )
    if any(folded == username_key(name.strip()) for name in not_like if name):
        raise InvalidInput(
            "A password must not be the username nor the account's name; choose another."
        )
    return value
