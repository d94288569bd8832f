"""The rules for usernames, passwords and the names people type, and the sentences that
name the rule each refused value breaks."""

from __future__ import annotations

import pytest

from seatkeeper.demo.account import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    AGENT_PASSWORD,
    DEMO_NAME,
    DEMO_SLUG,
)
from seatkeeper.demo.history import DEMO_AGENTS
from seatkeeper.domain import credentials, validation
from seatkeeper.domain.errors import InvalidInput
from tests.conftest import PASSWORD


def refusal(check: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(InvalidInput) as refused:
        check(*args, **kwargs)  # type: ignore[operator]
    return refused.value.message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "A username must not be empty."),
        ("x" * 101, "A username must be at most 100 characters long; this one has 101."),
        (
            "bob smith",
            "A username must not contain spaces: use letters, digits and the characters . @ + - _.",
        ),
        ("bob\x00", "A username must not contain control characters: use letters, digits"),
        ("a/b", "A username must not contain the character '/' (SOLIDUS): use letters"),
        ("..", "A username cannot be '.' or '..' (no address could name it)."),
        # A Cyrillic a (U+0430) among Latin letters.
        ("\u0430dmin", "A username must not mix scripts with letters that look alike"),
        ("p\u0430ypal", "A username must not mix scripts with letters that look alike"),
    ],
)
def test_a_refused_username_is_told_the_rule_it_breaks(name: str, message: str) -> None:
    assert refusal(validation.username, name).startswith(message)


@pytest.mark.parametrize(
    "name",
    [
        "admin",
        "jane.doe@example.com",
        "josé",
        "Дмитрий",
        "Ελένη",
        "李小龍",
        "ａｄｍｉｎ",
        "agent_7",
    ],
)
def test_names_in_one_script_are_usernames(name: str) -> None:
    assert validation.username(name) == name


@pytest.mark.parametrize("other", ["Admin", "ADMIN", "ａｄｍｉｎ", "Ａｄｍｉｎ", "admin"])
def test_usernames_are_compared_without_case_nor_width(other: str) -> None:
    assert credentials.username_key(other) == credentials.username_key("admin") == "admin"


def test_different_usernames_stay_different() -> None:
    keys = {credentials.username_key(n) for n in ("admin", "admin1", "\u0430dmin", "adm")}
    assert len(keys) == 4


@pytest.mark.parametrize(
    ("password", "not_like", "message"),
    [
        ("short", (), "A password must be at least 8 characters long; this one has 5."),
        ("x" * 1025, (), "A password must be at most 1,024 characters long."),
        ("password1", (), "This password is one of the most common passwords"),
        ("PassWord1", (), "This password is one of the most common passwords"),
        ("iloveyou1", (), "This password is one of the most common passwords"),
        ("12345678", (), "This password is one of the most common passwords"),
        ("Alice.Smith", ("alice.smith",), "A password must not be the username nor the account"),
        ("ACME-support", ("bob", "acme-support"), "A password must not be the username nor"),
        ("Acme Support", ("bob", "acme", "Acme Support"), "A password must not be the username"),
    ],
)
def test_a_refused_password_is_told_the_rule_it_breaks(
    password: str, not_like: tuple[str, ...], message: str
) -> None:
    assert refusal(validation.password, password, not_like=not_like).startswith(message)


def test_the_common_passwords_come_from_a_package_and_are_many() -> None:
    assert len(credentials.common_passwords()) >= 10_000
    assert {"password", "qwerty", "123456789", "iloveyou"} <= credentials.common_passwords()


def test_the_demos_printed_passwords_and_the_tests_pass_the_rules() -> None:
    assert validation.password(ADMIN_PASSWORD, not_like=(ADMIN_USERNAME, DEMO_SLUG, DEMO_NAME))
    for agent in DEMO_AGENTS:
        assert validation.password(AGENT_PASSWORD, not_like=(agent, DEMO_SLUG, DEMO_NAME))
    assert validation.password(PASSWORD, not_like=("admin", "acme", "Acme Support"))


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (validation.display_name, "  ", "An account's name must not be blank."),
        (
            validation.display_name,
            "x" * 201,
            "An account's name must be at most 200 characters long; this one has 201.",
        ),
        (
            validation.display_name,
            "Acme\x00",
            "An account's name must not contain control characters (such as NUL).",
        ),
        (lambda v: validation.flow(v, ["Start"]), " ", "A Flow's name must not be blank."),
        (
            lambda v: validation.flow(v, ["Start"]),
            "x" * 201,
            "A Flow's name must be at most 200 characters long; this one has 201.",
        ),
        (
            lambda v: validation.flow(v, ["Start"]),
            "Re\x00set",
            "A Flow's name must not contain control characters (such as NUL).",
        ),
        (lambda v: validation.flow("Reset", [v]), "", "A step's title must not be blank."),
        (
            lambda v: validation.flow("Reset", [v]),
            "a\tb",
            "A step's title must not contain control characters (such as NUL).",
        ),
        (lambda v: validation.flow("Reset", v), [], "A Flow has 1 to 50 steps; got 0."),
        (
            lambda v: validation.grid_view(search=v),
            "x" * 101,
            "The search must be at most 100 characters long; this one has 101.",
        ),
        (
            lambda v: validation.grid_view(search=v),
            "bob\x00",
            "The search must not contain control characters (such as NUL).",
        ),
    ],
)
def test_a_refused_name_or_search_is_told_the_rule_it_breaks(
    check: object, value: object, message: str
) -> None:
    assert refusal(check, value) == message
