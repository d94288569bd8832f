"""The one CSRF check. Every unsafe request a browser makes to seatkeeper with its cookies
(each page form, the console's and the Active Agents page's scripts, the login form) must
carry the token made from the browser's secret and its login; a request from another site,
which cannot know the token, is refused with 403 and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import Role
from seatkeeper.services import access, groups, users
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database
from seatkeeper.web.deps import CSRF_COOKIE, LOGIN_COOKIE, SAFE_METHODS, token_for
from tests.conftest import PASSWORD, World
from tests.sso_fakes import CLIENT_SECRET, FakeProvider, keep_provider
from tests.web.api.test_agent import error_of, login
from tests.web.pages.test_pages import everything, log_in

Client = TestClient[Litestar]
NEW_PASSWORD = "a brand new secret"
REFUSED = "its CSRF token is missing or wrong"


@dataclass(frozen=True)
class Action:
    route: str  # as the app declares it
    path: str  # {link} and {sid} are filled in per test
    form: dict[str, str] | None = None  # a form's fields (its token goes in csrf_token) ...
    json: Any = None  # ... or a script's JSON body (its token goes in X-CSRF-Token)
    logged_in: bool = True  # sent by acme's logged-in admin, else by a visitor not logged in
    done: int = 303  # the answer when the token is right


ACCOUNT = "/accounts/{account}"
ACTIONS = [
    Action(
        "/login",
        "/login",
        {"account": "acme", "username": "admin", "password": PASSWORD},
        logged_in=False,
    ),
    Action("/logout", "/logout", {}),
    Action(
        f"{ACCOUNT}/settings",
        "/accounts/acme/settings",
        {"name": "Acme Renamed", "time_zone": "Asia/Tokyo", "session_timeout_minutes": "45"},
    ),
    Action(
        f"{ACCOUNT}/users",
        "/accounts/acme/users",
        {"username": "newcomer", "role": "agent", "password": NEW_PASSWORD},
    ),
    Action(
        f"{ACCOUNT}/users/{{username}}/role", "/accounts/acme/users/bob/role", {"role": "designer"}
    ),
    Action(f"{ACCOUNT}/users/{{username}}/disable", "/accounts/acme/users/bob/disable", {}),
    Action(f"{ACCOUNT}/users/{{username}}/enable", "/accounts/acme/users/carol/enable", {}),
    Action(
        f"{ACCOUNT}/users/{{username}}/password",
        "/accounts/acme/users/bob/password",
        {"password": NEW_PASSWORD},
    ),
    Action(
        f"{ACCOUNT}/keys", "/accounts/acme/keys", {"kind": "application", "name": "x"}, done=200
    ),
    Action(
        f"{ACCOUNT}/settings/sso",
        "/accounts/acme/settings/sso",
        {
            "issuer": "https://idp.example.com",
            "client_id": "x",
            "display_name": "Acme SSO",
            "client_secret": CLIENT_SECRET,
        },
    ),
    Action(f"{ACCOUNT}/settings/sso/remove", "/accounts/acme/settings/sso/remove", {}),
    Action(f"{ACCOUNT}/keys/{{key_id:int}}/revoke", "/accounts/acme/keys/1/revoke", {}),
    Action(f"{ACCOUNT}/keys/{{key_id:int}}/rotate", "/accounts/acme/keys/1/rotate", {}, done=200),
    Action(
        "/set-password",
        "/set-password",
        {"token": "{link}", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        logged_in=False,
    ),
    Action(
        "/console/{account}/sessions", "/console/acme/sessions", json={}, logged_in=False, done=201
    ),
    Action("/logins/end-others", "/logins/end-others", {}),
    Action(f"{ACCOUNT}/users/{{username}}/end-logins", "/accounts/acme/users/bob/end-logins", {}),
    # Group 1 is acme's Old Team, bob its member (made for these actions).
    Action(f"{ACCOUNT}/settings/groups", "/accounts/acme/settings/groups", {"name": "New Team"}),
    Action(
        f"{ACCOUNT}/settings/groups/guests",
        "/accounts/acme/settings/groups/guests",
        {"maximum": "2"},
    ),
    Action(
        f"{ACCOUNT}/settings/groups/{{group_id:int}}",
        "/accounts/acme/settings/groups/1",
        {"name": "Renamed Team", "reserved": "1", "maximum": ""},
    ),
    Action(
        f"{ACCOUNT}/settings/groups/{{group_id:int}}/delete",
        "/accounts/acme/settings/groups/1/delete",
        {},
    ),
    Action(f"{ACCOUNT}/users/{{username}}/groups", "/accounts/acme/users/bob/groups", {}),
]
# The admin API's calls a page's script makes with the login cookie take the same check.
SCRIPT_CALLS = [
    Action(
        "",
        "/api/v1/accounts/acme/active-sessions/terminate",
        json={"session_ids": ["{sid}"]},
        done=200,
    ),
]


def send(
    client: Client, action: Action, path: str, body: Any, token: str | None, link: str = ""
) -> Any:
    if action.form is not None:
        form = {k: v.replace("{link}", link) for k, v in action.form.items()}
        form = form if token is None else {**form, "csrf_token": token}
        return client.post(path, data=form, follow_redirects=False)
    headers = {} if token is None else {"X-CSRF-Token": token}
    return client.post(path, json=body, headers=headers, follow_redirects=False)


def back_to(action: Action) -> str:
    """Where a visitor sent to log in by this form comes back to: the form's page."""
    if action.route.startswith("/logins"):
        return "/login?next=/logins"
    return "/login?next=/accounts/acme/"


def test_the_table_covers_every_unsafe_page_route(app: Litestar) -> None:
    served = {
        (method, route.path.replace(":str", ""))
        for route in app.routes
        if not route.path.startswith(("/api/", "/docs"))
        for method in getattr(route, "methods", ())
        if method not in SAFE_METHODS
    }
    # Posted by an OpenID Provider, never by a browser: its signed logout token authorizes
    # it (tests/web/test_sso_flow.py refuses every forged one).
    from_providers = {("POST", "/sso/{account}/back-channel-logout")}
    assert served - from_providers == {("POST", action.route) for action in ACTIONS}
    assert from_providers <= served


@pytest.mark.parametrize("action", ACTIONS + SCRIPT_CALLS, ids=lambda a: a.path)
def test_a_request_from_another_site_is_refused_and_changes_nothing(
    app: Litestar,
    client: Client,
    world: World,
    db: Database,
    passwords: Passwords,
    clock: FrozenClock,
    action: Action,
    fake: FakeProvider,
) -> None:
    operator = access.Operator("test")
    if "/sso" in action.path:  # a provider to change or remove
        keep_provider(db, fake, now=clock.now())
    if "/groups" in action.path:  # a group to change or delete, bob its member
        team = groups.create_group(db, operator, "acme", name="Old Team", now=clock.now())
        groups.set_members(db, operator, "acme", team.id, ["bob"], now=clock.now())
        assert team.id == 1
    users.change_user(db, operator, "acme", "carol", enabled=False, now=clock.now())
    link = users.add_user(
        db, passwords, operator, "acme", username="frank", role=Role.AGENT, password=None,
        now=clock.now(),
    ).link_token  # fmt: skip
    assert link is not None
    sid = login(client, world, "alice")["session_id"]
    path = action.path.replace("{link}", link)
    body = {"session_ids": [sid]} if action.json and "session_ids" in action.json else action.json
    if action.logged_in:
        log_in(client, "admin")
    else:
        client.get("/login")  # a visitor's browser has its CSRF secret from the first page
    secret, own_login = client.cookies[CSRF_COOKIE], client.cookies.get(LOGIN_COOKIE)
    other_login = None if action.logged_in else "sk_login_of-someone-else"
    before = everything(db)

    forged = {
        "no token": None,
        "a made-up token": "0" * 64,
        "another browser's token": token_for("another browser's secret", own_login),
        "a token of another login": token_for(secret, other_login),
    }
    for case, token in forged.items():
        answer = send(client, action, path, body, token, link)
        assert answer.status_code == 403, (case, answer.status_code, answer.text[:300])
        if action.form is not None:  # a page that says why
            assert 'data-testid="error-403"' in answer.text, case
            assert REFUSED in answer.text, case
        else:
            assert error_of(answer) == (403, "csrf_refused"), case
        assert everything(db) == before, f"{case} changed something"

    # A browser sends no SameSite cookie with another site's form: the right token alone
    # is refused as well, or (a page's form, which a logged-in visitor sends) answered as a
    # visitor with no login is, sent to log in.
    with TestClient(app) as elsewhere:
        answer = send(elsewhere, action, path, body, token_for(secret, own_login), link)
        if action.route == "/logout":  # with no login there is nothing to end
            assert (answer.status_code, answer.headers["location"]) == (303, "/login")
        elif action.logged_in and action.form is not None:
            assert answer.status_code == 303, answer.text[:300]
            assert answer.headers["location"].startswith(back_to(action))
        else:
            assert 400 <= answer.status_code < 500, answer.text[:300]
        assert everything(db) == before

    # The very same request from seatkeeper's own page is done.
    answer = send(client, action, path, body, token_for(secret, own_login), link)
    assert answer.status_code == action.done, answer.text[:300]
    assert everything(db) != before


def test_every_admin_api_call_with_the_login_cookie_needs_the_token(
    app: Litestar, client: Client, world: World, db: Database
) -> None:
    unsafe = sorted(
        (method, route.path.replace(":str", "").replace(":int", "").replace(":path", ""))
        for route in app.routes
        if route.path.startswith("/api/v1/accounts/")
        for method in getattr(route, "methods", ())
        if method not in SAFE_METHODS
    )
    assert len(unsafe) >= 8
    log_in(client, "admin")
    before = everything(db)
    for method, route in unsafe:
        path = route.format(
            account="acme", username="bob", name="Old", webhook_id=1, key_id=1, group_id=1
        )
        answer = client.request(method, path, json={})
        assert error_of(answer) == (403, "csrf_refused"), (method, path)
    assert everything(db) == before


def test_each_browser_gets_one_secret_in_an_httponly_cookie(client: Client, world: World) -> None:
    first = client.get("/login")
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}=")
    for attribute in ("HttpOnly", "Path=/", "SameSite=lax"):
        assert attribute in cookie, cookie
    secret = client.cookies[CSRF_COOKIE]
    assert f'value="{token_for(secret, None)}"' in first.text
    again = client.get("/login")
    assert CSRF_COOKIE not in again.headers.get("set-cookie", "")  # kept, not handed anew
    log_in(client, "admin")
    assert client.cookies[CSRF_COOKIE] == secret
    page = client.get("/accounts/acme/users")
    token = token_for(secret, client.cookies[LOGIN_COOKIE])
    forms = page.text.count("<form")
    assert forms > 1 and page.text.count(f'name="csrf_token" value="{token}"') == forms
    active = client.get("/accounts/acme/active-agents")
    assert f'data-csrf="{token}"' in active.text


@pytest.mark.parametrize("action", [a for a in ACTIONS if a.logged_in], ids=lambda a: a.path)
def test_a_form_sent_after_the_login_is_gone_leads_to_logging_in_and_changes_nothing(
    client: Client, world: World, db: Database, action: Action
) -> None:
    log_in(client, "admin")
    page = client.get("/accounts/acme/settings")
    assert page.status_code == 200
    token = token_for(client.cookies[CSRF_COOKIE], client.cookies[LOGIN_COOKIE])
    client.cookies.delete(LOGIN_COOKIE)  # the browser dropped the expired login cookie
    before = everything(db)
    answer = send(client, action, action.path, action.json, token)
    assert answer.status_code == 303, answer.text[:300]
    if action.route == "/logout":
        assert answer.headers["location"] == "/login"
    else:
        assert answer.headers["location"].startswith(back_to(action))
    assert everything(db) == before
