"""Usernames are one name whatever their case or width, held so by the database; names that
mix look-alike scripts and weak passwords are refused with the rule they break."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from seatkeeper.domain.model import Role
from seatkeeper.storage import users as stored_users
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import audit_events, users
from tests.conftest import PASSWORD, World
from tests.web.api.test_agent import error_of
from tests.web.api.test_users import agent_open, create, link_refused, link_token, reset, spend_link
from tests.web.pages.test_pages import log_in

Client = TestClient[Litestar]
GOOD = "a brand new secret"


def counts(db: Database) -> tuple[int, int]:
    with db.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(users)).scalar_one(),
            conn.execute(select(func.count()).select_from(audit_events)).scalar_one(),
        )


@pytest.mark.parametrize("same", ["Admin", "ADMIN", "ａｄｍｉｎ", "Ａｄｍｉｎ"])
def test_a_name_that_differs_only_in_case_or_width_is_taken(
    client: Client, world: World, db: Database, same: str
) -> None:
    before = counts(db)
    made = create(client, world.admin_token, {"username": same, "role": "agent", "password": GOOD})
    assert error_of(made) == (409, "conflict")
    assert made.json()["error"]["message"] == (
        "The account 'acme' already has a user 'admin': usernames must be unique, whatever "
        "their case or width."
    )
    assert counts(db) == before


def test_the_database_holds_usernames_unique_as_compared(
    db: Database, world: World, clock: object
) -> None:
    """Even a write that skips the service's check cannot make a second 'admin'."""
    with pytest.raises(IntegrityError), db.write() as conn:
        stored_users.insert_user(
            conn,
            account_id=world.acme.id,
            username="ＡＤＭＩＮ",
            password_hash="x",
            role=Role.AGENT,
            created_at=datetime(2026, 3, 10, tzinfo=UTC),
        )


def test_the_same_name_in_another_account_is_another_user(client: Client, world: World) -> None:
    made = create(
        client, world.globex_admin_token, {"username": "Admin", "role": "agent"}, "globex"
    )
    assert made.status_code == 201, made.text


def test_logins_find_the_user_by_the_name_as_compared(client: Client, world: World) -> None:
    for typed in ("ALICE", "Ａｌｉｃｅ"):
        opened = agent_open(client, world, typed)
        assert opened.status_code == 201, opened.text
        client.delete(
            f"/api/v1/sessions/{opened.json()['session_id']}",
            headers={"Authorization": f"Bearer {opened.json()['token']}"},
        )
    answer = log_in(client, "ADMIN")
    assert answer.status_code == 303 and "/login" not in answer.headers["location"]


def test_an_admin_route_finds_the_user_by_the_name_as_compared(
    client: Client, world: World
) -> None:
    answer = reset(client, world.admin_token, "BOB", {"password": GOOD})
    assert answer.status_code == 200, answer.text
    assert agent_open(client, world, "bob", GOOD).status_code == 201


def test_a_name_mixing_look_alike_scripts_is_refused(
    client: Client, world: World, db: Database
) -> None:
    before = counts(db)
    made = create(client, world.admin_token, {"username": "\u0430lice2", "role": "agent"})
    assert error_of(made) == (400, "invalid_request")
    assert "must not mix scripts with letters that look alike" in made.json()["error"]["message"]
    assert counts(db) == before


def test_a_username_with_a_space_is_told_so(client: Client, world: World) -> None:
    made = create(client, world.admin_token, {"username": "bob smith", "role": "agent"})
    assert made.json()["error"]["message"] == (
        "A username must not contain spaces: use letters, digits and the characters . @ + - _."
    )


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password1", "This password is one of the most common passwords"),
        ("Qwerty123", "This password is one of the most common passwords"),
        ("NEWCOMER", "A password must not be the username nor the account's name"),
        ("ACME", None),  # too short: refused by the documented length
        ("acme support", "A password must not be the username nor the account's name"),
    ],
)
def test_weak_passwords_are_refused_when_a_user_is_made_or_reset(
    client: Client, world: World, db: Database, password: str, message: str | None
) -> None:
    before = counts(db)
    body = {"username": "newcomer", "role": "agent", "password": password}
    made = create(client, world.admin_token, body)
    assert error_of(made) == (400, "invalid_request")
    if message is not None:
        assert made.json()["error"]["message"].startswith(message)
        if password.upper() != "NEWCOMER":
            reset_ = reset(client, world.admin_token, "bob", {"password": password})
            assert reset_.json()["error"]["message"].startswith(message)
    assert counts(db) == before
    assert agent_open(client, world, "bob", PASSWORD).status_code == 201


def test_a_link_refuses_the_username_as_password(client: Client, world: World) -> None:
    made = create(client, world.admin_token, {"username": "Erin.Doe", "role": "agent"})
    path = link_token(made.json()["set_password_url"])
    refused = spend_link(client, path, "erin.doe")
    assert html.unescape(link_refused(refused, path)) == (
        "A password must not be the username nor the account's name; choose another."
    )
    common = spend_link(client, path, "iloveyou")
    assert link_refused(common, path).startswith("This password is one of the most")
