"""The pages over HTTP: login, cookies, CSRF, throttling, roles. (Browser tests are in browser/.)"""

from __future__ import annotations

import base64
import html
import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.errors import DomainError
from seatkeeper.services import logins
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import metadata
from seatkeeper.web.deps import CSRF_COOKIE, LOGIN_COOKIE, token_for
from seatkeeper.web.pages import common
from tests.conftest import PASSWORD, World, bearer, offer
from tests.web.api.test_agent import error_of, login, open_session

Client = TestClient[Litestar]
PAGE = "/accounts/acme/active-agents"
WRONG = "The account, username or password is not correct."


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def log_in(
    client: Client,
    username: str,
    *,
    account: str = "acme",
    password: str = PASSWORD,
    next: str = "",
) -> Any:
    form = client.get("/login")
    return client.post(
        "/login",
        data={
            "account": account,
            "username": username,
            "password": password,
            "next": next,
            "csrf_token": form_token(form.text),
        },
        follow_redirects=False,
    )


def everything(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: what a refused request must leave as it was. Only when
    each key was last used may move: a valid key that asked for too much was still used."""
    with db.read() as conn:
        return {
            t.name: sorted(map(tuple, conn.execute(select(t))), key=repr)
            for t in metadata.sorted_tables
            if t.name != "api_key_uses"
        }


def refused_login(client: Client, answer: Any, *, back_to: str = "/login") -> str:
    """A refused login goes back to the login form (303) and logs nobody in; the form,
    with the refusal on it. A throttled one is the form at once (429, Retry-After)."""
    assert "seatkeeper_login=" not in answer.headers.get("set-cookie", "")
    if answer.status_code == 429:
        assert int(answer.headers["retry-after"]) > 0
        form = answer
    else:
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == back_to
        form = client.get(back_to)
        assert form.status_code == 200
    text: str = form.text
    assert text.count('data-testid="login-error"') == 1
    return text


@pytest.fixture
def https(app: Litestar) -> Iterator[Client]:
    with TestClient(app, base_url="https://testserver.local") as client:
        yield client


def test_an_anonymous_visitor_is_sent_to_log_in_and_back(client: Client, world: World) -> None:
    visit = client.get(f"{PAGE}?sort=agent_id&order=desc", follow_redirects=False)
    assert visit.status_code == 303
    assert (
        visit.headers["location"]
        == "/login?next=/accounts/acme/active-agents%3Fsort%3Dagent_id%26order%3Ddesc"
    )
    back = log_in(client, "admin", next="/accounts/acme/active-agents?sort=agent_id&order=desc")
    assert back.status_code == 303
    assert back.headers["location"] == "/accounts/acme/active-agents?sort=agent_id&order=desc"
    page = client.get(back.headers["location"])
    assert page.status_code == 200
    assert 'aria-sort="descending"' in page.text


def test_the_login_cookie_is_httponly_samesite_and_lasts_the_login_lifetime(
    client: Client, https: Client, world: World
) -> None:
    cookie = log_in(client, "admin").headers["set-cookie"]
    assert cookie.startswith("seatkeeper_login=sk_login_")
    for attribute in ("HttpOnly", "SameSite=lax", "Path=/", "Max-Age=43200"):
        assert attribute in cookie, cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    assert "Secure" in log_in(https, "admin").headers["set-cookie"]


def test_a_login_ends_after_its_lifetime(client: Client, world: World, clock: FrozenClock) -> None:
    log_in(client, "admin")
    assert client.get(PAGE, follow_redirects=False).status_code == 200
    clock.advance(timedelta(hours=12))
    assert client.get(PAGE, follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "\\\\evil", "x", "/\t/evil.example", "/\\evil"],
)
def test_after_login_only_local_pages_are_a_destination(
    client: Client, world: World, target: str
) -> None:
    answer = log_in(client, "admin", next=target)
    if "\t" in target:  # a control character: refused at the door, nobody logged in
        assert answer.status_code == 400 and "location" not in answer.headers
        assert "seatkeeper_login=" not in answer.headers.get("set-cookie", "")
    else:
        assert answer.headers["location"] == PAGE


def test_a_login_form_from_elsewhere_is_refused(client: Client, world: World) -> None:
    form = {"account": "acme", "username": "admin", "password": PASSWORD}
    for token in ({}, {"csrf_token": "guess"}):  # with no CSRF secret yet, then a wrong token
        forged = client.post("/login", data={**form, **token}, follow_redirects=False)
        assert forged.status_code == 403
        assert 'data-testid="error-403"' in forged.text
        assert "This form has expired" in forged.text
        assert "its CSRF token is missing or wrong" in forged.text
        assert "seatkeeper_login=" not in forged.headers.get("set-cookie", "")
        client.get("/login")  # the browser has its CSRF secret from now on
    assert client.get(PAGE, follow_redirects=False).status_code == 303  # nobody logged in


def test_a_refused_login_keeps_what_was_typed_but_the_password_and_says_it_once(
    client: Client, world: World
) -> None:
    target = "/accounts/acme/recently-ended?reason=timeout"
    answer = log_in(client, "admin", password="not the password", next=target)
    form = refused_login(client, answer, back_to=f"/login?{urlencode({'next': target})}")
    assert WRONG in form
    assert 'value="acme"' in form and 'value="admin"' in form
    assert "not the password" not in form
    assert f'name="next" value="{html.escape(target)}"' in form
    again = client.get("/login")
    assert "login-error" not in again.text  # said once
    assert 'value="admin"' not in again.text
    # The right password takes the admin where they were going.
    assert log_in(client, "admin", next=target).headers["location"] == target


def test_wrong_passwords_are_refused_then_throttled(
    client: Client, world: World, clock: FrozenClock
) -> None:
    for _ in range(5):
        wrong = refused_login(client, log_in(client, "admin", password="not the password"))
        assert WRONG in wrong
    locked = refused_login(client, log_in(client, "admin"))  # even the right password waits now
    assert "Too many wrong passwords for &#39;admin&#39; from this address" in locked
    assert "Try again in 15 minutes." in locked
    assert WRONG not in locked
    alice = log_in(client, "alice")  # another user is not affected
    assert alice.status_code == 303 and alice.headers["location"] == "/"
    client.cookies.clear()
    clock.advance(timedelta(minutes=15))
    assert log_in(client, "admin").status_code == 303


def test_unknown_accounts_are_throttled_like_real_ones(client: Client, world: World) -> None:
    """Otherwise a 429 after five tries would tell that an account exists."""
    for account in ("acme", "no-such-account"):
        answers = [
            refused_login(
                client, log_in(client, "admin", account=account, password="wrong password")
            )
            for _ in range(6)
        ]
        told = ["throttled" if "Too many wrong passwords" in a else "wrong" for a in answers]
        assert told == ["wrong"] * 5 + ["throttled"], account
        assert all(WRONG in a for a in answers[:5]), account


def test_parallel_guesses_cannot_slip_past_the_limit(
    db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    def guess(_: int) -> str:
        try:
            logins.log_in(
                db,
                passwords,
                account_slug="acme",
                username="admin",
                password="a wrong guess",
                source="10.0.0.9",
                now=clock.now(),
            )
        except DomainError as refused:
            return refused.code
        return "in"

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = Counter(pool.map(guess, range(30)))
    # Five guesses are checked, no more; the others are paused, or, while some of those
    # five were still being checked, told to wait a moment (unchecked either way).
    assert answers["invalid_credentials"] == 5, answers
    assert set(answers) <= {"invalid_credentials", "too_many_attempts", "logins_busy"}, answers
    assert guess(31) == "too_many_attempts"


@pytest.mark.parametrize("username", ["a" * 101, "x" * 5000])
def test_impossible_usernames_are_wrong_credentials_not_errors(
    client: Client, world: World, username: str
) -> None:
    assert WRONG in refused_login(client, log_in(client, username))


@pytest.mark.parametrize("username", ["al\u0000ice", "alice\nbob"])
def test_a_username_with_a_control_character_is_refused_at_the_door(
    client: Client, world: World, db: Database, username: str
) -> None:
    before = everything(db)
    answer = log_in(client, username)
    assert answer.status_code == 400 and 'data-testid="error-400"' in answer.text
    assert "The field &#39;username&#39; must not contain control characters" in answer.text
    assert "seatkeeper_login=" not in answer.headers.get("set-cookie", "")
    assert everything(db) == before  # not even a failed login is counted


def test_unknown_accounts_and_users_look_like_wrong_passwords(client: Client, world: World) -> None:
    for account, username in (("nope", "admin"), ("acme", "nobody")):
        answer = log_in(client, username, account=account)
        assert WRONG in refused_login(client, answer)


@pytest.mark.parametrize(
    ("username", "status", "testid"), [("alice", 403, "error-403"), ("dan", 403, "error-403")]
)
def test_agents_and_designers_are_not_allowed(
    client: Client, world: World, username: str, status: int, testid: str
) -> None:
    log_in(client, username)
    page = client.get(PAGE)
    assert page.status_code == status
    assert f'data-testid="{testid}"' in page.text
    assert "not allowed" in page.text
    home = client.get("/")
    assert 'data-testid="nav-active-agents"' not in home.text
    assert 'data-testid="nav-logins"' in home.text  # their own logins, whatever the role


def test_an_admin_sees_only_their_own_account(client: Client, world: World) -> None:
    log_in(client, "gadmin", account="globex")
    assert client.get("/accounts/globex/active-agents").status_code == 200
    foreign = client.get(PAGE)
    assert foreign.status_code == 404
    assert 'data-testid="error-404"' in foreign.text
    assert 'data-testid="account-switcher"' not in client.get("/accounts/globex/active-agents").text


def test_a_super_admin_chooses_the_account(client: Client, world: World) -> None:
    log_in(client, "root", account="ops")
    page = client.get("/accounts/globex/active-agents")
    assert page.status_code == 200
    assert 'data-testid="account-switcher"' in page.text
    chosen = client.get("/active-agents?account=acme", follow_redirects=False)
    assert chosen.headers["location"] == PAGE
    assert client.get(PAGE).status_code == 200


def test_the_page_and_the_api_show_the_same_sessions(client: Client, world: World) -> None:
    alice = login(client, world, "alice")
    for flow in ("Password Reset", "Password Reset", "Billing Dispute"):
        client.post(
            f"/api/v1/sessions/{alice['session_id']}/interactions",
            json={"flow": flow},
            headers=bearer(alice["token"]),
        )
    open_session(client, world.app_key)
    log_in(client, "admin")
    page = client.get(PAGE).text
    assert page.count('data-testid="grid-row"') == 2
    assert "Billing Dispute, Password Reset" in page
    assert '<dd data-testid="figure-current">2 / 3</dd>' in page
    assert "2026-03-10 14:00:00" in page  # 13:00 UTC, in Paris
    fragments = client.get(f"{PAGE}/fragments?sort=agent_id&order=desc")
    assert fragments.text.count('data-testid="grid-row"') == 2
    assert fragments.text.index(">Guest<") < fragments.text.index(">alice<")


def test_the_api_accepts_the_login_cookie_but_changes_need_its_csrf_token(
    client: Client, world: World
) -> None:
    alice = login(client, world, "alice")
    log_in(client, "admin")
    assert client.get("/api/v1/accounts/acme/active-sessions").status_code == 200
    body = {"session_ids": [alice["session_id"]]}
    url = "/api/v1/accounts/acme/active-sessions/terminate"
    assert error_of(client.post(url, json=body)) == (403, "csrf_refused")
    assert error_of(client.post(url, json=body, headers={"X-CSRF-Token": "guess"})) == (
        403,
        "csrf_refused",
    )
    assert client.get("/api/v1/accounts/acme/active-sessions").json()["count"] == 1
    token = form_token(client.get(PAGE).text)
    done = client.post(url, json=body, headers={"X-CSRF-Token": token})
    assert done.json()["terminated"] == 1


def test_logging_out_ends_the_login(client: Client, world: World) -> None:
    log_in(client, "admin")
    token = form_token(client.get(PAGE).text)
    refused = client.post("/logout", data={"csrf_token": "guess"}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get(PAGE, follow_redirects=False).status_code == 200
    cookie = client.cookies.get("seatkeeper_login")
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get(PAGE, follow_redirects=False).status_code == 303
    # The old cookie, kept by someone, opens nothing any more.
    client.cookies.clear()
    stale = client.get(
        "/api/v1/accounts/acme/active-sessions", headers={"Cookie": f"seatkeeper_login={cookie}"}
    )
    assert error_of(stale) == (401, "invalid_token")


def test_an_unknown_page_is_a_page(client: Client) -> None:
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert 'data-testid="error-404"' in missing.text
    assert error_of(client.get("/api/v1/no/such")) == (404, "not_found")


def test_agent_logins_are_throttled_too(client: Client, world: World, clock: FrozenClock) -> None:
    for _ in range(5):
        wrong = open_session(
            client, world.app_key, {"username": "bob", "password": "not it at all"}
        )
        assert error_of(wrong) == (401, "invalid_credentials")
    locked = open_session(client, world.app_key, {"username": "bob", "password": PASSWORD})
    assert error_of(locked) == (429, "too_many_attempts")
    assert locked.headers["retry-after"] == "900"
    assert login(client, world, "carol")["agent_id"] == "carol"
    clock.advance(timedelta(minutes=15))
    assert login(client, world, "bob")["agent_id"] == "bob"


def test_names_from_agents_are_shown_as_text(client: Client, world: World, db: Database) -> None:
    alice = login(client, world, "alice")
    hostile = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    offer(db, hostile)
    opened = client.post(
        f"/api/v1/sessions/{alice['session_id']}/interactions",
        json={"flow": hostile},
        headers=bearer(alice["token"]),
    )
    assert opened.status_code == 201
    log_in(client, "admin")
    page = client.get(PAGE).text
    assert "<script>alert(2)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page


def test_pages_are_not_cached_nor_framed(client: Client, world: World) -> None:
    log_in(client, "admin")
    page = client.get(PAGE)
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


# --- the visitor every page is given -------------------------------------------------------

USERS = "/accounts/acme/users"
NEEDS_LOGIN = [  # (method, address, where logging in leads back to)
    ("GET", f"{PAGE}?sort=agent_id&order=desc", f"{PAGE}?sort=agent_id&order=desc"),
    ("GET", f"{PAGE}/fragments?q=bob", f"{PAGE}/fragments?q=bob"),
    ("GET", f"{PAGE}/events", f"{PAGE}/events"),
    ("GET", "/accounts/acme/recently-ended?reason=timeout", None),
    ("GET", "/accounts/acme/usage-report?period=12m", None),
    ("GET", "/accounts/acme/holders?period=90d", None),
    ("GET", "/accounts/acme/settings", None),
    ("GET", USERS, None),
    ("POST", "/accounts/acme/settings", "/accounts/acme/settings"),
    ("POST", "/accounts/acme/settings/sso", "/accounts/acme/settings"),
    ("POST", "/accounts/acme/settings/sso/remove", "/accounts/acme/settings"),
    ("POST", "/accounts/acme/settings/groups", "/accounts/acme/settings"),
    ("POST", "/accounts/acme/settings/groups/guests", "/accounts/acme/settings"),
    ("POST", "/accounts/acme/settings/groups/1", "/accounts/acme/settings"),
    ("POST", "/accounts/acme/settings/groups/1/delete", "/accounts/acme/settings"),
    ("POST", USERS, USERS),
    ("POST", f"{USERS}/bob/groups", USERS),
    ("POST", f"{USERS}/bob/role", USERS),
    ("POST", f"{USERS}/bob/disable", USERS),
    ("POST", f"{USERS}/bob/enable", USERS),
    ("POST", f"{USERS}/bob/password", USERS),
    ("POST", f"{USERS}/bob/end-logins", USERS),
    ("GET", "/accounts/acme/keys", None),
    ("POST", "/accounts/acme/keys", "/accounts/acme/keys"),
    ("POST", "/accounts/acme/keys/1/revoke", "/accounts/acme/keys"),
    ("POST", "/accounts/acme/keys/1/rotate", "/accounts/acme/keys"),
]


def test_the_table_covers_every_page_of_an_account(app: Litestar) -> None:
    served = {
        (method, route.path.replace(":str", ""))
        for route in app.routes
        if route.path.startswith("/accounts/{account")
        for method in getattr(route, "methods", ())
        if method not in ("OPTIONS", "HEAD")
    }
    listed = {
        (
            method,
            path.split("?")[0]
            .replace("acme", "{account}")
            .replace("bob", "{username}")
            .replace("/keys/1/", "/keys/{key_id:int}/")
            .replace("/groups/1", "/groups/{group_id:int}"),
        )
        for method, path, _ in NEEDS_LOGIN
    }
    assert served == listed


@pytest.mark.parametrize(("method", "path", "back"), NEEDS_LOGIN, ids=str)
def test_every_page_sends_a_visitor_who_is_not_logged_in_to_log_in_and_back(
    client: Client, world: World, db: Database, method: str, path: str, back: str | None
) -> None:
    client.get("/login")  # the browser's CSRF secret, so that only the login is missing
    token = token_for(client.cookies[CSRF_COOKIE], None)
    before = everything(db)
    data = {"csrf_token": token, "role": "designer"} if method == "POST" else None
    answer = client.request(method, path, data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    assert answer.headers["location"] == f"/login?next={quote(back or path, safe='/')}"
    assert everything(db) == before


def test_page_handlers_declare_their_visitor_and_forms_the_account_they_manage(
    app: Litestar,
) -> None:
    for route in app.routes:
        if not route.path.startswith("/accounts/{account"):
            continue
        for handler in getattr(route, "route_handlers", ()):
            if handler.http_methods == {"OPTIONS"}:  # Litestar's own answer to OPTIONS
                continue
            given = set(handler.parsed_fn_signature.parameters)
            assert "visitor" in given, route.path
            assert ("managed" in given) == ("POST" in handler.http_methods), route.path
    assert not hasattr(common, "required_visitor")


def test_the_home_page_is_for_anyone_and_knows_who_is_logged_in(
    client: Client, world: World
) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    log_in(client, "dan")
    home = client.get("/")
    assert home.status_code == 200 and "Hello, dan" in home.text
    client.cookies.clear()
    log_in(client, "admin")
    assert client.get("/", follow_redirects=False).headers["location"] == PAGE


# --- what a form's answer carries to its page ----------------------------------------------


def test_a_refused_form_comes_back_once_and_only_to_its_own_browser_and_page(
    app: Litestar, client: Client, world: World
) -> None:
    log_in(client, "admin")
    token = token_for(client.cookies[CSRF_COOKIE], client.cookies[LOGIN_COOKIE])
    settings = "/accounts/acme/settings"
    typed = {"name": "", "time_zone": "Mars/Olympus_Mons", "session_timeout_minutes": "45"}
    answer = client.post(settings, data={**typed, "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == settings
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("seatkeeper_flash=")
    for attribute in ("HttpOnly", f"Path={settings}", "Max-Age=60", "SameSite=lax"):
        assert attribute in cookie, cookie
    sealed = client.cookies["seatkeeper_flash"]

    shown = client.get(settings).text
    assert 'data-testid="settings-error"' in shown
    assert 'data-testid="error-name"' in shown and 'data-testid="error-time-zone"' in shown
    assert 'value="Mars/Olympus_Mons"' in shown
    assert "seatkeeper_flash" not in client.cookies  # dropped once shown
    assert 'data-testid="settings-error"' not in client.get(settings).text

    def believed(browser: Client, value: str, path: str = settings) -> bool:
        browser.cookies.set("seatkeeper_flash", value, domain="testserver.local", path=path)
        page = browser.get(path).text
        browser.cookies.delete("seatkeeper_flash")
        return 'class="alert error"' in page

    assert believed(client, sealed)  # the genuine one, while it lasts
    forged = base64.urlsafe_b64encode(b'{"error":"Your account is closed."}').decode()
    assert not believed(client, f"{forged}.{sealed.rsplit('.', 1)[1]}")  # another text
    assert not believed(client, sealed, "/accounts/acme/users")  # another page
    with TestClient(app) as other:
        log_in(other, "admin")
        assert not believed(other, sealed)  # another browser


@pytest.mark.parametrize("size", [4_000, 60_000])
def test_a_huge_refused_form_still_says_why_in_a_cookie_a_browser_keeps(
    client: Client, world: World, db: Database, size: int
) -> None:
    log_in(client, "admin")
    token = token_for(client.cookies[CSRF_COOKIE], client.cookies[LOGIN_COOKIE])
    settings = "/accounts/acme/settings"
    before = everything(db)
    typed = {"name": "N" * size, "time_zone": "Z" * size, "session_timeout_minutes": "9" * 50}
    answer = client.post(settings, data={**typed, "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert len(cookie) < 4_000, len(cookie)  # a browser drops a cookie over 4 KB
    shown = client.get(settings).text
    for field in ("name", "time-zone", "timeout"):
        assert f'data-testid="error-{field}"' in shown, field
    assert everything(db) == before
