"""Users over the admin API: listing, creating (with a password or a one-time link), role
changes, disabling and enabling, password resets; the role rules, the audit trail, last
login, and the one-time link spent through the set-password page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from seatkeeper.clock import FrozenClock
from seatkeeper.services import accounts
from seatkeeper.services.access import OPERATOR
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions
from seatkeeper.web.deps import CSRF_COOKIE, LOGIN_COOKIE, token_for
from tests.conftest import PASSWORD, World
from tests.web.api.test_account_settings import api, audit_rows, stored, user_id
from tests.web.api.test_agent import call, error_of, login, open_session
from tests.web.pages.test_pages import WRONG, log_in, refused_login

Client = TestClient[Litestar]
CREATED_AT = "2026-03-10T14:00:00+01:00"  # START, in Paris
NEW_PASSWORD = "a brand new secret"
# No public address is configured in the tests: a link is a path on the server, its token
# in the fragment.
LINK = re.compile(r"^/set-password#(sk_pw_[\w-]+)$")


def user_row(
    username: str,
    role: str,
    *,
    created_at: str = CREATED_AT,
    last_login_at: str | None = None,
    disabled: bool = False,
) -> dict[str, Any]:
    return {
        "username": username,
        "role": role,
        "created_at": created_at,
        "last_login_at": last_login_at,
        "disabled": disabled,
    }


ACME_USERS = [
    user_row("admin", "account_admin"),
    user_row("alice", "agent"),
    user_row("bob", "agent"),
    user_row("carol", "agent"),
    user_row("dan", "designer"),
    user_row("dave", "agent"),
]


def by_people(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audit rows of what users did, without the operator's provisioning of the world."""
    return [row for row in rows if row["actor"] != OPERATOR.name]


def users_of(client: Client, world: World, account: str = "acme") -> list[dict[str, Any]]:
    response = api(client, "GET", f"{account}/users", world.super_token)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["users"]
    return found


def one_user(client: Client, world: World, username: str, account: str = "acme") -> dict[str, Any]:
    [found] = [u for u in users_of(client, world, account) if u["username"] == username]
    return found


def create(client: Client, token: str, body: dict[str, Any], account: str = "acme") -> Any:
    return api(client, "POST", f"{account}/users", token, body)


def change(client: Client, token: str, username: str, body: Any, account: str = "acme") -> Any:
    return api(client, "PATCH", f"{account}/users/{username}", token, body)


def reset(client: Client, token: str, username: str, body: Any, account: str = "acme") -> Any:
    return api(client, "POST", f"{account}/users/{username}/password", token, body)


def agent_open(client: Client, world: World, username: str, password: str = PASSWORD) -> Any:
    return open_session(client, world.app_key, {"username": username, "password": password})


def link_token(url: str) -> str:
    """The token of a one-time link, from the address the answer gave (its fragment)."""
    found = LINK.match(url)
    assert found, url
    return found.group(1)


def spend_link(client: Client, token: str, password: str, confirm: str | None = None) -> Any:
    """Send the set-password page's form, as a person would (with the browser's CSRF token,
    and the link's token, which the page's script puts in the form)."""
    if CSRF_COOKIE not in client.cookies:
        client.get("/login")
    csrf = token_for(client.cookies[CSRF_COOKIE], client.cookies.get(LOGIN_COOKIE))
    form = {"password": password, "confirm": password if confirm is None else confirm}
    data = {**form, "token": token, "csrf_token": csrf}
    return client.post("/set-password", data=data, follow_redirects=False)


def password_set(client: Client, answer: Any, username: str) -> bool:
    """Whether the link set the password: on to the login page, which says so."""
    if answer.status_code != 303:
        return False
    assert answer.headers["location"] == f"/login?account=acme&username={username}"
    page = client.get(answer.headers["location"]).text
    assert "Your password is set: log in with it." in page
    return f'value="{username}"' in page


def link_refused(answer: Any, token: str) -> str:
    """A refused password is answered with the form again (400), which keeps the link's
    token (in the body: in no address nor cookie): what it says."""
    assert answer.status_code == 400, answer.text
    assert f'name="token" value="{token}"' in answer.text
    assert token not in answer.headers.get("location", "") + answer.headers.get("set-cookie", "")
    found = re.search(r'data-testid="set-password-error">([^<]*)<', answer.text)
    assert found, answer.text
    return found.group(1)


def login_refused(client: Client, username: str, password: str = PASSWORD) -> bool:
    """Whether the login form refuses these credentials as wrong."""
    return WRONG in refused_login(client, log_in(client, username, password=password))


def admin_of_acme(client: Client, world: World, username: str) -> None:
    """Another account_admin of acme (the super_admin creates them)."""
    made = create(
        client,
        world.super_token,
        {"username": username, "role": "account_admin", "password": NEW_PASSWORD},
    )
    assert made.status_code == 201, made.text


def test_an_admin_lists_their_users(client: Client, world: World) -> None:
    answer = api(client, "GET", "acme/users", world.admin_token)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"account": "acme", "time_zone": "Europe/Paris", "users": ACME_USERS}


def test_a_super_admin_lists_the_users_of_any_account(client: Client, world: World) -> None:
    assert users_of(client, world) == ACME_USERS
    answer = api(client, "GET", "globex/users", world.super_token)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "account": "globex",
        "time_zone": "America/New_York",
        "users": [
            user_row("gadmin", "account_admin", created_at="2026-03-10T09:00:00-04:00"),
            user_row("gina", "agent", created_at="2026-03-10T09:00:00-04:00"),
        ],
    }


@pytest.mark.parametrize(
    ("who", "account", "member"),
    [
        ("globex_admin_token", "acme", "alice"),
        ("globex_admin_token", "acme", "admin"),
        ("admin_token", "globex", "gina"),
        ("admin_token", "nowhere", "alice"),
        ("super_token", "nowhere", "alice"),
    ],
)
def test_another_accounts_users_are_not_found_and_stay_as_they_were(
    client: Client, world: World, db: Database, who: str, account: str, member: str
) -> None:
    token = getattr(world, who)
    login(client, world, "alice")  # an open session that disabling would end
    before = stored(db)
    new = {"username": "mole", "role": "agent", "password": NEW_PASSWORD}
    answers = [
        api(client, "GET", f"{account}/users", token),
        create(client, token, new, account),
        create(client, token, {"username": "mole", "role": "agent"}, account),
        change(client, token, member, {"disabled": True}, account),
        change(client, token, member, {"role": "designer"}, account),
        reset(client, token, member, {"password": NEW_PASSWORD}, account),
        reset(client, token, member, {}, account),
    ]
    for answer in answers:
        assert error_of(answer) == (404, "account_not_found"), answer.text
    assert stored(db) == before
    assert users_of(client, world)[:2] == [
        user_row("admin", "account_admin"),
        user_row("alice", "agent", last_login_at=CREATED_AT),
    ]
    assert agent_open(client, world, "alice").status_code == 200  # still hers, joined


@pytest.mark.parametrize("who", ["agent_token", "designer_token"])
def test_roles_below_account_admin_cannot_manage_users(
    client: Client, world: World, db: Database, who: str
) -> None:
    token = getattr(world, who)
    before = stored(db)
    answers = [
        api(client, "GET", "acme/users", token),
        create(client, token, {"username": "erin", "role": "agent", "password": NEW_PASSWORD}),
        change(client, token, "bob", {"disabled": True}),
        change(client, token, "dan", {"role": "agent"}),
        reset(client, token, "bob", {"password": NEW_PASSWORD}),
    ]
    for answer in answers:
        assert error_of(answer) == (403, "not_allowed"), answer.text
    assert stored(db) == before
    assert users_of(client, world) == ACME_USERS


def test_an_admin_creates_users_with_a_password_up_to_their_own_role(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    clock.advance(timedelta(hours=2))  # 16:00 in Paris
    made = create(
        client, world.admin_token, {"username": "erin", "role": "agent", "password": NEW_PASSWORD}
    )
    assert made.status_code == 201, made.text
    created_at = "2026-03-10T16:00:00+01:00"
    assert made.json() == {
        "user": user_row("erin", "agent", created_at=created_at),
        "set_password_url": None,
    }
    for username, role in [("frank", "designer"), ("grace", "account_admin")]:
        body = {"username": username, "role": role, "password": NEW_PASSWORD}
        assert create(client, world.admin_token, body).status_code == 201
    # A username is per account: globex's gina does not stop an acme gina.
    body = {"username": "gina", "role": "agent", "password": NEW_PASSWORD}
    assert create(client, world.admin_token, body).status_code == 201

    listed = {u["username"]: u for u in users_of(client, world)}
    assert listed["erin"] == user_row("erin", "agent", created_at=created_at)
    assert listed["frank"]["role"] == "designer"
    assert listed["grace"]["role"] == "account_admin"
    assert listed["gina"]["role"] == "agent"
    assert [u["username"] for u in users_of(client, world, "globex")] == ["gadmin", "gina"]

    # erin logs in with her password, and no other.
    assert error_of(agent_open(client, world, "erin")) == (401, "invalid_credentials")
    assert agent_open(client, world, "erin", NEW_PASSWORD).status_code == 201
    # grace, an account_admin, logs in to the pages.
    assert log_in(client, "grace", password=NEW_PASSWORD).status_code == 303

    made = audit_rows(db, world.acme.id, "user_created")
    # The test's own users were made by the operator, through the same audited use case.
    provisioned = [row for row in made if row["actor"] == OPERATOR.name]
    assert {row["details"]["username"] for row in provisioned} >= {"admin", "alice"}
    assert all(row["actor_id"] is None for row in provisioned)
    rows = by_people(made)
    assert [row["details"] for row in rows] == [
        {"username": "gina", "role": "agent", "with_link": False},
        {"username": "grace", "role": "account_admin", "with_link": False},
        {"username": "frank", "role": "designer", "with_link": False},
        {"username": "erin", "role": "agent", "with_link": False},
    ]
    admin_id = user_id(db, "acme", "admin")
    assert {(row["actor"], row["actor_id"], row["at"]) for row in rows} == {
        ("admin", admin_id, clock.now())
    }
    # Nobody's password is in the audit trail.
    assert NEW_PASSWORD not in str(rows)


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        (
            {"username": "sam", "role": "super_admin", "password": NEW_PASSWORD},
            (403, "not_allowed"),
        ),
        ({"username": "alice", "role": "agent", "password": NEW_PASSWORD}, (409, "conflict")),
        ({"username": "admin", "role": "designer"}, (409, "conflict")),
        (
            {"username": "erin smith", "role": "agent", "password": NEW_PASSWORD},
            (400, "invalid_request"),
        ),
        ({"username": "", "role": "agent", "password": NEW_PASSWORD}, (400, "invalid_request")),
        # An address could not name them: /users/../role is /role to every client.
        ({"username": ".", "role": "agent", "password": NEW_PASSWORD}, (400, "invalid_request")),
        ({"username": "..", "role": "agent"}, (400, "invalid_request")),
        ({"username": "erin", "role": "owner", "password": NEW_PASSWORD}, (400, "invalid_request")),
        ({"username": "erin", "role": "agent", "password": "short"}, (400, "invalid_request")),
        ({"username": "erin", "password": NEW_PASSWORD}, (400, "invalid_request")),
        ({"username": "erin", "role": "agent", "admin": True}, (400, "invalid_request")),
    ],
)
def test_a_refused_new_user_is_not_created(
    client: Client, world: World, db: Database, body: dict[str, Any], refusal: tuple[int, str]
) -> None:
    before = stored(db)
    assert error_of(create(client, world.admin_token, body)) == refusal
    assert stored(db) == before
    assert users_of(client, world) == ACME_USERS


def test_a_super_admin_creates_users_in_any_account_and_any_role(
    client: Client, world: World, db: Database
) -> None:
    body = {"username": "sam", "role": "super_admin", "password": NEW_PASSWORD}
    assert create(client, world.super_token, body).status_code == 201
    body = {"username": "gus", "role": "designer", "password": NEW_PASSWORD}
    made = create(client, world.super_token, body, "globex")
    assert made.status_code == 201, made.text
    assert made.json()["user"]["created_at"] == "2026-03-10T09:00:00-04:00"
    assert one_user(client, world, "sam")["role"] == "super_admin"
    assert [u["username"] for u in users_of(client, world, "globex")] == ["gadmin", "gina", "gus"]
    [row] = by_people(audit_rows(db, world.globex.id, "user_created"))
    assert row["details"] == {"username": "gus", "role": "designer", "with_link": False}
    assert (row["actor"], row["actor_id"]) == ("root", user_id(db, "ops", "root"))


def test_a_user_created_without_a_password_sets_it_once_through_the_link(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    made = create(client, world.admin_token, {"username": "erin", "role": "designer"})
    assert made.status_code == 201, made.text
    url = made.json()["set_password_url"]
    token = LINK.match(url or "")
    assert token, url
    path = link_token(url)
    assert made.json()["user"] == user_row("erin", "designer")
    # The link is shown once: not kept in clear, nor listed anywhere.
    assert token.group(1) not in str(stored(db))
    assert token.group(1) not in api(client, "GET", "acme/users", world.admin_token).text
    # Until the link is used nobody can log in as erin.
    assert login_refused(client, "erin")

    clock.advance(timedelta(days=6))
    page = client.get("/set-password")
    assert page.status_code == 200, page.text
    assert 'name="password"' in page.text
    assert 'name="confirm"' in page.text
    assert 'name="token" value=""' in page.text  # the script takes it from the fragment
    assert '<script src="/static/set-password.js"' in page.text
    assert password_set(client, spend_link(client, path, NEW_PASSWORD), "erin")
    assert log_in(client, "erin", password=NEW_PASSWORD).status_code == 303
    assert one_user(client, world, "erin")["last_login_at"] == "2026-03-16T14:00:00+01:00"

    # Spent: the page refuses it, and so does its form.
    other = "another password altogether"
    again = spend_link(client, path, other)
    assert again.status_code == 404
    assert 'name="confirm"' not in again.text
    assert login_refused(client, "erin", other)
    assert log_in(client, "erin", password=NEW_PASSWORD).status_code == 303

    [created] = by_people(audit_rows(db, world.acme.id, "user_created"))
    assert created["details"] == {"username": "erin", "role": "designer", "with_link": True}
    [spent] = audit_rows(db, world.acme.id, "password_set")
    assert spent["actor"] == "erin"
    assert spent["details"]["username"] == "erin"


def test_a_link_whose_two_passwords_differ_stays_unspent(
    client: Client, world: World, db: Database
) -> None:
    made = create(client, world.admin_token, {"username": "erin", "role": "agent"})
    path = link_token(made.json()["set_password_url"])
    before = stored(db)
    refused = spend_link(client, path, NEW_PASSWORD, confirm=NEW_PASSWORD + "!")
    assert link_refused(refused, path) == "The two passwords are not the same."
    assert 'data-testid="link-username">erin<' in refused.text
    short = spend_link(client, path, "short")
    assert (
        link_refused(short, path)
        == "A password must be at least 8 characters long; this one has 5."
    )
    assert stored(db) == before
    assert error_of(agent_open(client, world, "erin", NEW_PASSWORD)) == (401, "invalid_credentials")
    assert password_set(client, spend_link(client, path, NEW_PASSWORD), "erin")
    assert agent_open(client, world, "erin", NEW_PASSWORD).status_code == 201


def test_a_link_expires_after_seven_days(client: Client, world: World, clock: FrozenClock) -> None:
    made = create(client, world.admin_token, {"username": "erin", "role": "agent"})
    path = link_token(made.json()["set_password_url"])
    clock.advance(timedelta(days=7))
    assert spend_link(client, path, NEW_PASSWORD).status_code == 404
    assert error_of(agent_open(client, world, "erin", NEW_PASSWORD)) == (401, "invalid_credentials")


def test_a_new_link_replaces_the_earlier_one(client: Client, world: World, db: Database) -> None:
    made = create(client, world.admin_token, {"username": "erin", "role": "agent"})
    first = link_token(made.json()["set_password_url"])
    again = reset(client, world.admin_token, "erin", {})
    assert again.status_code == 200, again.text
    second = link_token(again.json()["set_password_url"])
    assert second != first
    assert spend_link(client, first, NEW_PASSWORD).status_code == 404
    assert password_set(client, spend_link(client, second, NEW_PASSWORD), "erin")
    assert agent_open(client, world, "erin", NEW_PASSWORD).status_code == 201


def test_a_disabled_users_link_does_not_work(client: Client, world: World) -> None:
    handed = reset(client, world.admin_token, "bob", {})
    path = link_token(handed.json()["set_password_url"])
    assert change(client, world.admin_token, "bob", {"disabled": True}).status_code == 200
    assert spend_link(client, path, NEW_PASSWORD).status_code == 404
    assert change(client, world.admin_token, "bob", {"disabled": False}).status_code == 200
    # Enabled again, bob still has his old password, not the one the link offered.
    assert error_of(agent_open(client, world, "bob", NEW_PASSWORD)) == (401, "invalid_credentials")
    assert agent_open(client, world, "bob").status_code == 201


def test_an_admin_resets_a_password(client: Client, world: World, db: Database) -> None:
    answer = reset(client, world.admin_token, "alice", {"password": NEW_PASSWORD})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"user": user_row("alice", "agent"), "set_password_url": None}
    assert error_of(agent_open(client, world, "alice")) == (401, "invalid_credentials")
    assert agent_open(client, world, "alice", NEW_PASSWORD).status_code == 201

    with_link = reset(client, world.admin_token, "dan", {})
    assert with_link.status_code == 200, with_link.text
    assert with_link.json()["user"] == user_row("dan", "designer")
    path = link_token(with_link.json()["set_password_url"])
    assert password_set(client, spend_link(client, path, NEW_PASSWORD), "dan")
    assert log_in(client, "dan", password=NEW_PASSWORD).status_code == 303

    rows = audit_rows(db, world.acme.id, "password_reset")
    assert [row["details"] for row in rows] == [
        {"username": "dan", "with_link": True, "logins_ended": 0},
        {"username": "alice", "with_link": False, "logins_ended": 0},
    ]
    assert {row["actor"] for row in rows} == {"admin"}
    assert NEW_PASSWORD not in str(rows)


@pytest.mark.parametrize(
    ("username", "body", "refusal"),
    [
        ("nobody", {"password": NEW_PASSWORD}, (404, "user_not_found")),
        ("gina", {"password": NEW_PASSWORD}, (404, "user_not_found")),  # globex's
        ("alice", {"password": "short"}, (400, "invalid_request")),
        ("alice", {"password": NEW_PASSWORD, "role": "agent"}, (400, "invalid_request")),
    ],
)
def test_a_refused_password_reset_changes_nothing(
    client: Client,
    world: World,
    db: Database,
    username: str,
    body: dict[str, Any],
    refusal: tuple[int, str],
) -> None:
    before = stored(db)
    assert error_of(reset(client, world.admin_token, username, body)) == refusal
    assert stored(db) == before
    assert agent_open(client, world, "alice").status_code == 201


def test_an_admin_changes_a_role_and_it_is_audited(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    clock.advance(timedelta(minutes=5))
    answer = change(client, world.admin_token, "alice", {"role": "designer"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == user_row("alice", "designer")
    assert one_user(client, world, "alice")["role"] == "designer"
    promoted = change(client, world.admin_token, "dan", {"role": "account_admin"})
    assert promoted.json()["role"] == "account_admin"
    # The same role again changes nothing and is not audited.
    assert change(client, world.admin_token, "bob", {"role": "agent"}).status_code == 200

    rows = audit_rows(db, world.acme.id, "role_changed")
    assert [row["details"] for row in rows] == [
        {"username": "dan", "from": "designer", "to": "account_admin"},
        {"username": "alice", "from": "agent", "to": "designer"},
    ]
    admin_id = user_id(db, "acme", "admin")
    assert {(row["actor"], row["actor_id"], row["at"]) for row in rows} == {
        ("admin", admin_id, clock.now())
    }


def test_an_admin_cannot_give_a_role_above_their_own(
    client: Client, world: World, db: Database
) -> None:
    before = stored(db)
    for username in ("alice", "dan", "admin"):
        refused = change(client, world.admin_token, username, {"role": "super_admin"})
        assert error_of(refused) == (403, "not_allowed")
    assert stored(db) == before
    assert users_of(client, world) == ACME_USERS


def test_an_admin_cannot_change_a_user_above_their_own_role(
    client: Client, world: World, db: Database
) -> None:
    body = {"username": "sam", "role": "super_admin", "password": NEW_PASSWORD}
    assert create(client, world.super_token, body).status_code == 201
    before = stored(db)
    answers = [
        change(client, world.admin_token, "sam", {"role": "agent"}),
        change(client, world.admin_token, "sam", {"role": "super_admin"}),
        change(client, world.admin_token, "sam", {"disabled": True}),
        reset(client, world.admin_token, "sam", {"password": "taken over now"}),
        reset(client, world.admin_token, "sam", {}),
    ]
    for answer in answers:
        assert error_of(answer) == (403, "not_allowed"), answer.text
    assert stored(db) == before
    assert one_user(client, world, "sam") == user_row("sam", "super_admin")
    assert log_in(client, "sam", password=NEW_PASSWORD).status_code == 303


def test_an_admin_manages_another_admin(client: Client, world: World, db: Database) -> None:
    admin_of_acme(client, world, "ann")
    assert change(client, world.admin_token, "ann", {"disabled": True}).json()["disabled"] is True
    assert change(client, world.admin_token, "ann", {"disabled": False}).json()["disabled"] is False
    lowered = change(client, world.admin_token, "ann", {"role": "agent"})
    assert lowered.status_code == 200, lowered.text
    assert one_user(client, world, "ann")["role"] == "agent"
    assert [
        row["details"]["username"] for row in audit_rows(db, world.acme.id, "user_disabled")
    ] == ["ann"]


@pytest.mark.parametrize(
    ("who", "body"),
    [
        ("admin_token", {"role": "designer"}),
        ("admin_token", {"role": "agent", "disabled": False}),
        ("super_token", {"role": "agent"}),
        ("super_token", {"disabled": True}),
        ("super_token", {"role": "designer", "disabled": True}),
    ],
)
def test_the_last_enabled_account_admin_can_be_neither_lowered_nor_disabled(
    client: Client, world: World, db: Database, who: str, body: dict[str, Any]
) -> None:
    before = stored(db)
    refused = change(client, getattr(world, who), "admin", body)
    assert error_of(refused) == (409, "conflict")
    assert stored(db) == before
    assert one_user(client, world, "admin") == user_row("admin", "account_admin")


def test_a_disabled_admin_does_not_count_as_one_left(
    client: Client, world: World, db: Database
) -> None:
    admin_of_acme(client, world, "ann")
    assert change(client, world.admin_token, "ann", {"disabled": True}).status_code == 200
    before = stored(db)
    refused = change(client, world.admin_token, "admin", {"role": "designer"})
    assert error_of(refused) == (409, "conflict")
    assert stored(db) == before
    # With ann enabled again, the admin may step down, and then has a designer's rights.
    assert change(client, world.admin_token, "ann", {"disabled": False}).status_code == 200
    stepped = change(client, world.admin_token, "admin", {"role": "designer"})
    assert stepped.status_code == 200, stepped.text
    assert error_of(api(client, "GET", "acme/users", world.admin_token)) == (403, "not_allowed")
    # ann, now the last one, is held by the same rule.
    assert error_of(change(client, world.super_token, "ann", {"disabled": True})) == (
        409,
        "conflict",
    )


@pytest.mark.parametrize("body", [{"disabled": True}, {"role": "designer", "disabled": True}])
def test_an_admin_cannot_disable_themselves(
    client: Client, world: World, db: Database, body: dict[str, Any]
) -> None:
    admin_of_acme(client, world, "ann")  # so that the admin is not the last one
    before = stored(db)
    refused = change(client, world.admin_token, "admin", body)
    assert error_of(refused) == (403, "not_allowed")
    assert stored(db) == before  # all or nothing: no role change either
    assert one_user(client, world, "admin") == user_row("admin", "account_admin")
    assert audit_rows(db, world.acme.id, "role_changed", "user_disabled") == []


@pytest.mark.parametrize(
    ("username", "body", "refusal"),
    [
        ("nobody", {"disabled": True}, (404, "user_not_found")),
        ("gina", {"disabled": True}, (404, "user_not_found")),  # globex's
        ("alice", {}, (400, "invalid_request")),
        ("alice", {"role": "owner"}, (400, "invalid_request")),
        ("alice", {"disabled": "yes"}, (400, "invalid_request")),
        ("alice", {"username": "alicia"}, (400, "invalid_request")),
    ],
)
def test_a_refused_user_change_changes_nothing(
    client: Client,
    world: World,
    db: Database,
    username: str,
    body: dict[str, Any],
    refusal: tuple[int, str],
) -> None:
    before = stored(db)
    assert error_of(change(client, world.admin_token, username, body)) == refusal
    assert stored(db) == before
    assert users_of(client, world) == ACME_USERS
    assert users_of(client, world, "globex")[1] == user_row(
        "gina", "agent", created_at="2026-03-10T09:00:00-04:00"
    )


def test_disabling_an_agent_ends_their_session_and_their_logins(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    alice = login(client, world, "alice")
    second_browser = login(client, world, "alice")
    sid = alice["session_id"]
    opened = call(client, "POST", f"{sid}/interactions", alice["token"], {"flow": "Password Reset"})
    assert opened.status_code == 201
    login(client, world, "bob")
    clock.advance(timedelta(minutes=3))

    disabled = change(client, world.admin_token, "alice", {"disabled": True})
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True
    assert one_user(client, world, "alice")["disabled"] is True
    disabled_at = clock.now()

    clock.advance(timedelta(seconds=10))
    for token in (alice["token"], second_browser["token"]):
        gone = call(client, "POST", f"{sid}/heartbeat", token)
        assert error_of(gone) == (410, "user_disabled")
    iid = opened.json()["interaction_id"]
    step = call(client, "POST", f"{sid}/interactions/{iid}/steps", alice["token"], {"step": "Next"})
    assert error_of(step) == (410, "user_disabled")
    grid = api(client, "GET", "acme/active-sessions", world.admin_token).json()
    assert [row["agent_id"] for row in grid["sessions"]] == ["bob"]
    assert api(client, "GET", "acme/usage", world.admin_token).json()["current"] == 1
    with db.read() as conn:
        ended = conn.execute(select(agent_sessions).where(agent_sessions.c.id == UUID(sid))).one()
    assert ended.end_reason == "disabled"
    assert ended.ended_at == disabled_at
    assert ended.ended_by == user_id(db, "acme", "admin")

    # She can no longer log in, with the right password.
    assert error_of(agent_open(client, world, "alice")) == (401, "invalid_credentials")

    clock.advance(timedelta(minutes=1))
    enabled = change(client, world.admin_token, "alice", {"disabled": False})
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["disabled"] is False
    again = agent_open(client, world, "alice")
    assert again.status_code == 201  # a new session, not the ended one
    assert again.json()["session_id"] != sid
    old = call(client, "POST", f"{sid}/heartbeat", alice["token"])
    assert error_of(old) == (410, "user_disabled")

    rows = audit_rows(db, world.acme.id, "user_disabled", "user_enabled")
    assert [(row["action"], row["details"], row["actor"]) for row in rows] == [
        ("user_enabled", {"username": "alice"}, "admin"),
        ("user_disabled", {"username": "alice", "logins_ended": 0}, "admin"),
    ]


def test_a_disabled_user_cannot_log_in_to_the_pages_nor_use_their_token(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    admin_of_acme(client, world, "ann")
    ann_token = accounts.create_user_token(
        db, OPERATOR, account_slug="acme", username="ann", name="t", now=clock.now()
    )
    assert api(client, "GET", "acme/users", ann_token).status_code == 200
    for username in ("dan", "ann"):
        assert change(client, world.admin_token, username, {"disabled": True}).status_code == 200
    assert login_refused(client, "dan")
    assert login_refused(client, "ann", NEW_PASSWORD)
    assert error_of(api(client, "GET", "acme/users", ann_token)) == (401, "invalid_token")

    for username in ("dan", "ann"):
        assert change(client, world.admin_token, username, {"disabled": False}).status_code == 200
    assert log_in(client, "dan").status_code == 303
    assert log_in(client, "ann", password=NEW_PASSWORD).status_code == 303
    assert api(client, "GET", "acme/users", ann_token).status_code == 200


def test_a_super_admin_disables_a_user_of_any_account(
    client: Client, world: World, db: Database
) -> None:
    gina = open_session(client, world.globex_app_key, {"username": "gina", "password": PASSWORD})
    assert gina.status_code == 201
    answer = change(client, world.super_token, "gina", {"disabled": True}, "globex")
    assert answer.status_code == 200, answer.text
    beat = call(client, "POST", f"{gina.json()['session_id']}/heartbeat", gina.json()["token"])
    assert error_of(beat) == (410, "user_disabled")
    [row] = audit_rows(db, world.globex.id, "user_disabled")
    assert (row["actor"], row["details"]) == ("root", {"username": "gina", "logins_ended": 0})
    assert audit_rows(db, world.acme.id, "user_disabled") == []


def test_last_login_follows_page_logins_and_agent_sessions(
    client: Client, world: World, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 3, 10, 15, 0, tzinfo=UTC))
    login(client, world, "alice")
    clock.set(datetime(2026, 3, 10, 15, 20, tzinfo=UTC))
    login(client, world, "alice")  # a second browser joins: a login all the same
    clock.set(datetime(2026, 3, 10, 16, 0, tzinfo=UTC))
    assert log_in(client, "dan").status_code == 303
    clock.set(datetime(2026, 3, 10, 17, 0, tzinfo=UTC))
    # Wrong passwords and Guests log nobody in.
    assert error_of(agent_open(client, world, "bob", "wrong password")) == (
        401,
        "invalid_credentials",
    )
    assert login_refused(client, "carol", "wrong password")
    assert login_refused(client, "alice", "wrong password")
    assert open_session(client, world.app_key).status_code == 201

    listed = {u["username"]: u["last_login_at"] for u in users_of(client, world)}
    assert listed == {
        "admin": None,
        "alice": "2026-03-10T16:20:00+01:00",
        "bob": None,
        "carol": None,
        "dan": "2026-03-10T17:00:00+01:00",
        "dave": None,
    }


def test_a_refused_session_is_not_a_login(client: Client, world: World, db: Database) -> None:
    for name in ("alice", "bob", "carol"):  # acme's three licenses
        login(client, world, name)
    before = one_user(client, world, "dave")
    assert error_of(agent_open(client, world, "dave")) == (409, "license_limit_reached")
    assert one_user(client, world, "dave") == before == user_row("dave", "agent")


def test_a_disabled_users_refused_login_is_not_a_login(
    client: Client, world: World, clock: FrozenClock
) -> None:
    login(client, world, "alice")
    clock.advance(timedelta(hours=1))
    assert change(client, world.admin_token, "alice", {"disabled": True}).status_code == 200
    clock.advance(timedelta(hours=1))
    assert error_of(agent_open(client, world, "alice")) == (401, "invalid_credentials")
    assert one_user(client, world, "alice") == user_row(
        "alice", "agent", last_login_at=CREATED_AT, disabled=True
    )


def test_the_users_page_data_follow_the_account_time_zone(
    client: Client, world: World, clock: FrozenClock
) -> None:
    login(client, world, "alice")
    moved = api(client, "PATCH", "acme/settings", world.super_token, {"time_zone": "Asia/Tokyo"})
    assert moved.status_code == 200, moved.text
    listed = api(client, "GET", "acme/users", world.admin_token).json()
    assert listed["time_zone"] == "Asia/Tokyo"
    assert listed["users"][1] == user_row(
        "alice",
        "agent",
        created_at="2026-03-10T22:00:00+09:00",
        last_login_at="2026-03-10T22:00:00+09:00",
    )


def test_a_username_in_any_script_is_taken_and_documented_so(client: Client, world: World) -> None:
    # Found by the API fuzzing: the document's pattern (\w is ASCII in JSON Schema) refused
    # what the server accepts.
    made = create(client, world.admin_token, {"username": "𠲈李", "role": "agent"})
    assert made.status_code == 201, made.text
    assert made.json()["user"]["username"] == "𠲈李"
    document = client.get("/docs/openapi.json").json()
    schemas = document["components"]["schemas"]
    usernames = [
        s["properties"]["username"]
        for s in schemas.values()
        if "username" in s.get("properties", {})
    ]
    assert usernames and all("\\w" not in u.get("pattern", "") for u in usernames)
