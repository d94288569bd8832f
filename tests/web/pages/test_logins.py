"""Logins to the pages: what ends them (a password reset or set through a link, a disabled
user, the user's "Log out everywhere else", an admin), what shows them, and the audit."""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.services import access, users
from seatkeeper.storage.db import Database
from seatkeeper.web.deps import LOGIN_COOKIE
from tests.conftest import World
from tests.web.api.test_account_settings import api, audit_rows
from tests.web.api.test_agent import error_of
from tests.web.pages.test_pages import everything, form_token, log_in

Client = TestClient[Litestar]
NEW_PASSWORD = "a brand new secret"
USERS = "/accounts/acme/users"
LOGINS = "/logins"


@contextmanager
def browser(app: Litestar, username: str, *, agent: str = "testclient") -> Iterator[Client]:
    """Another browser, logged in to the pages as `username`."""
    with TestClient(app) as other:
        other.headers["User-Agent"] = agent
        assert log_in(other, username).status_code == 303
        yield other


def logged_in(client: Client) -> bool:
    """Whether the browser's login still opens its pages (and the API with its cookie)."""
    home = client.get("/", follow_redirects=False)
    api_call = client.get("/api/v1/accounts/acme/users")
    if home.status_code == 303 and home.headers["location"] == "/login":
        assert error_of(api_call) == (401, "invalid_token")
        return False
    assert home.status_code in (200, 303), home.text[:300]
    return True


def post_form(client: Client, page: str, action: str, **fields: str) -> Any:
    token = form_token(client.get(page).text)
    return client.post(action, data={**fields, "csrf_token": token}, follow_redirects=False)


@pytest.mark.parametrize("body", [{"password": NEW_PASSWORD}, {}], ids=["password", "link"])
def test_a_password_reset_ends_the_users_logins(
    app: Litestar, client: Client, world: World, db: Database, body: dict[str, str]
) -> None:
    with browser(app, "dan") as first, browser(app, "dan") as second, browser(app, "bob") as bob:
        assert logged_in(first) and logged_in(second)
        reset = api(client, "POST", "acme/users/dan/password", world.admin_token, body)
        assert reset.status_code == 200, reset.text
        assert not logged_in(first) and not logged_in(second)
        assert logged_in(bob)  # nobody else's
    [row] = audit_rows(db, world.acme.id, "password_reset")
    assert (row["actor"], row["details"]["logins_ended"]) == ("admin", 2)


def test_a_password_set_through_a_link_ends_the_users_logins(
    app: Litestar, client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    boss = access.authenticate_token(db, world.admin_token)
    handed = users.reset_password(
        db, client.app.state.runtime.passwords, boss, "acme", "dan", password=None,
        now=clock.now(),
    )  # fmt: skip
    assert handed.link_token is not None
    with browser(app, "dan") as dan:  # with the old password, which the link has not changed
        assert logged_in(dan)
        users.set_password_by_link(
            db, client.app.state.runtime.passwords, handed.link_token, NEW_PASSWORD,
            now=clock.now(),
        )  # fmt: skip
        assert not logged_in(dan)
    [row] = audit_rows(db, world.acme.id, "password_set")
    assert (row["actor"], row["details"]["logins_ended"]) == ("dan", 1)


def test_disabling_ends_the_users_logins_and_enabling_brings_none_back(
    app: Litestar, client: Client, world: World, db: Database
) -> None:
    with browser(app, "dan") as dan:
        cookie = dan.cookies[LOGIN_COOKIE]
        assert logged_in(dan)
        disabled = api(client, "PATCH", "acme/users/dan", world.admin_token, {"disabled": True})
        assert disabled.status_code == 200, disabled.text
        assert not logged_in(dan)
        enabled = api(client, "PATCH", "acme/users/dan", world.admin_token, {"disabled": False})
        assert enabled.status_code == 200, enabled.text
        dan.cookies[LOGIN_COOKIE] = cookie  # the cookie kept, by the browser or a thief
        assert not logged_in(dan)
        dan.cookies.clear()
        assert log_in(dan, "dan").status_code == 303  # a new login works
        assert logged_in(dan)
    [row] = audit_rows(db, world.acme.id, "user_disabled")
    assert (row["actor"], row["details"]) == ("admin", {"username": "dan", "logins_ended": 1})


def test_a_user_sees_their_logins_and_logs_out_everywhere_else(
    app: Litestar, world: World, db: Database, clock: FrozenClock
) -> None:
    hostile = '<script>alert(1)</script>\x07 "Firefox"'
    with (
        browser(app, "dan", agent="Phone browser/1.0") as phone,
        browser(app, "dan", agent=hostile) as laptop,
        browser(app, "bob") as bob,
    ):
        clock.advance(timedelta(minutes=10))
        assert logged_in(phone)  # seen now: its last seen moves on
        page = laptop.get(LOGINS)
        assert page.status_code == 200, page.text
        assert page.text.count('data-testid="login-row"') == 2
        assert "Phone browser/1.0" in page.text
        assert "<script>alert(1)" not in page.text and "\x07" not in page.text
        assert html.escape("<script>alert(1)</script>", quote=False) in page.text
        assert page.text.count('data-testid="this-one"') == 1
        this_one = page.text.split('data-current="true"')[1].split("</tr>")[0]
        assert "&lt;script&gt;" in this_one
        assert "2026-03-10 14:00" in this_one  # made, in Paris
        assert "2026-03-10 14:10" in page.text  # the phone, seen 10 minutes later
        assert 'data-testid="nav-logins"' in page.text

        done = post_form(laptop, LOGINS, f"{LOGINS}/end-others")
        assert (done.status_code, done.headers["location"]) == (303, LOGINS)
        after = laptop.get(LOGINS).text
        assert "1 other login ended." in after
        assert after.count('data-testid="login-row"') == 1
        assert logged_in(laptop) and not logged_in(phone)
        assert logged_in(bob)
    [row] = audit_rows(db, world.acme.id, "logins_ended")
    assert row["actor"] == "dan"
    assert row["details"] == {
        "username": "dan", "ended": 1, "kept": "the login that asked",
    }  # fmt: skip


def test_the_logins_page_needs_a_login(client: Client, world: World) -> None:
    answer = client.get(LOGINS, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login?next=/logins")


def test_an_admin_ends_a_users_logins_through_the_api(
    app: Litestar, client: Client, world: World, db: Database
) -> None:
    with browser(app, "dan") as dan, browser(app, "dan") as again, browser(app, "bob") as bob:
        ended = api(client, "DELETE", "acme/users/dan/logins", world.admin_token)
        assert ended.status_code == 200, ended.text
        assert ended.json() == {"username": "dan", "ended": 2}
        assert not logged_in(dan) and not logged_in(again) and logged_in(bob)
        # Nothing left to end: still answered, and audited.
        assert api(client, "DELETE", "acme/users/dan/logins", world.admin_token).json() == {
            "username": "dan",
            "ended": 0,
        }
    rows = audit_rows(db, world.acme.id, "logins_ended")
    assert [(r["actor"], r["details"]) for r in rows] == [
        ("admin", {"username": "dan", "ended": 0}),
        ("admin", {"username": "dan", "ended": 2}),
    ]


@pytest.mark.parametrize(
    ("token", "username", "refusal"),
    [
        ("admin_token", "nobody", (404, "user_not_found")),
        ("admin_token", "gina", (404, "user_not_found")),  # globex's
        ("globex_admin_token", "dan", (404, "account_not_found")),
        ("agent_token", "dan", (403, "not_allowed")),
        ("admin_token", "%00", (400, "")),  # any 4xx that says why
    ],
)
def test_a_refused_end_of_logins_changes_nothing(
    app: Litestar,
    client: Client,
    world: World,
    db: Database,
    token: str,
    username: str,
    refusal: tuple[int, str],
) -> None:
    with browser(app, "dan") as dan:
        before = everything(db)
        answer = api(client, "DELETE", f"acme/users/{username}/logins", getattr(world, token))
        if refusal[1]:
            assert error_of(answer) == refusal
        else:
            assert 400 <= answer.status_code < 500 and error_of(answer)[1], answer.text
        assert everything(db) == before
        assert logged_in(dan)


def test_an_admin_ends_a_users_logins_from_the_users_page(
    app: Litestar, client: Client, world: World, db: Database
) -> None:
    with browser(app, "dan") as dan:
        assert log_in(client, "admin").status_code == 303
        page = client.get(USERS).text
        assert f'action="{USERS}/dan/end-logins"' in page
        done = post_form(client, USERS, f"{USERS}/dan/end-logins")
        assert (done.status_code, done.headers["location"]) == (303, USERS)
        assert "1 login of dan ended." in client.get(USERS).text
        assert not logged_in(dan)
        assert logged_in(client)
    [row] = audit_rows(db, world.acme.id, "logins_ended")
    assert (row["actor"], row["details"]) == ("admin", {"username": "dan", "ended": 1})
