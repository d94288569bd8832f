"""The pages over HTTP: login, cookies, CSRF, throttling, roles. (Browser tests are in browser/.)"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.errors import DomainError
from seatkeeper.services import logins
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database
from tests.conftest import PASSWORD, World, bearer
from tests.web.api.test_agent import error_of, login, open_session

Client = TestClient[Litestar]
PAGE = "/accounts/acme/active-agents"


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
    assert log_in(client, "admin", next=target).headers["location"] == PAGE


def test_a_login_form_from_elsewhere_is_refused(client: Client, world: World) -> None:
    forged = client.post(
        "/login",
        data={"account": "acme", "username": "admin", "password": PASSWORD, "csrf_token": "guess"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert "login form has expired, or came from another site" in forged.text
    assert "seatkeeper_login=" not in forged.headers.get("set-cookie", "")


def test_wrong_passwords_are_refused_then_throttled(
    client: Client, world: World, clock: FrozenClock
) -> None:
    for _ in range(5):
        wrong = log_in(client, "admin", password="not the password")
        assert wrong.status_code == 401
        assert "The account, username or password is not correct." in wrong.text
    locked = log_in(client, "admin")  # even the right password waits now
    assert locked.status_code == 429
    assert "Too many wrong passwords for &#39;admin&#39; from this address" in locked.text
    assert "Try again in 15 minutes." in locked.text
    assert log_in(client, "alice").status_code == 303  # another user is not affected
    clock.advance(timedelta(minutes=15))
    assert log_in(client, "admin").status_code == 303


def test_unknown_accounts_are_throttled_like_real_ones(client: Client, world: World) -> None:
    """Otherwise a 429 after five tries would tell that an account exists."""
    for account in ("acme", "no-such-account"):
        answers = [
            log_in(client, "admin", account=account, password="wrong password").status_code
            for _ in range(6)
        ]
        assert answers == [401] * 5 + [429], account


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
    assert answers == {"invalid_credentials": 5, "too_many_attempts": 25}


@pytest.mark.parametrize("username", ["a" * 101, "al\u0000ice", "alice\nbob", "x" * 5000])
def test_impossible_usernames_are_wrong_credentials_not_errors(
    client: Client, world: World, username: str
) -> None:
    answer = log_in(client, username)
    assert answer.status_code == 401
    assert "The account, username or password is not correct." in answer.text


def test_unknown_accounts_and_users_look_like_wrong_passwords(client: Client, world: World) -> None:
    for answer in (log_in(client, "admin", account="nope"), log_in(client, "nobody")):
        assert answer.status_code == 401
        assert "The account, username or password is not correct." in answer.text


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
    assert "Nothing here for your role." in home.text


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


def test_names_from_agents_are_shown_as_text(client: Client, world: World) -> None:
    alice = login(client, world, "alice")
    hostile = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
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
