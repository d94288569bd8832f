"""Logins when strangers knock: per-address pauses, bounded password checks, and the
client's address through the proxies the operator names (in-process; real servers in
test_proxies.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from argon2.exceptions import VerifyMismatchError
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from seatkeeper.clock import FrozenClock
from seatkeeper.config import Settings
from seatkeeper.domain import throttle
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import login_failures
from seatkeeper.web.app import create_app
from seatkeeper.web.deps import LOGIN_COOKIE, Runtime
from tests.conftest import PASSWORD, World
from tests.servers import served
from tests.waiting import PATIENCE, wait_until
from tests.web.api.test_agent import error_of, open_session
from tests.web.pages.test_pages import form_token

Client = TestClient[Litestar]
PAUSED = "Too many wrong passwords from this address"
BUSY = "The server is checking too many logins at once."


def app_with(settings: Settings, clock: FrozenClock, db: Database, **changes: Any) -> Litestar:
    return create_app(settings.model_copy(update=changes), clock=clock, database=db)


@pytest.fixture
def behind_proxy(settings: Settings, clock: FrozenClock, db: Database) -> Iterator[Client]:
    """A client through a named proxy (the test client's address is "testclient")."""
    with TestClient(app_with(settings, clock, db, forwarded_allow_ips="testclient")) as client:
        yield client


def log_in(client: Client, username: str, password: str, **headers: str) -> Any:
    form = client.get("/login")
    data = {"account": "acme", "username": username, "password": password}
    data["csrf_token"] = form_token(form.text)
    return client.post("/login", data=data, headers=headers, follow_redirects=False)


def sources(db: Database) -> set[str | None]:
    with db.read() as conn:
        return set(conn.execute(select(login_failures.c.source)).scalars())


def test_a_flood_of_usernames_from_one_address_is_paused_and_another_is_let_in(
    behind_proxy: Client, world: World, db: Database
) -> None:
    stranger = {"X-Forwarded-For": "203.0.113.7"}
    for n in range(throttle.FROM_ADDRESS):
        assert log_in(behind_proxy, f"guess-{n}", "wrong", **stranger).status_code == 303
    paused = log_in(behind_proxy, "admin", PASSWORD, **stranger)
    assert paused.status_code == 429
    assert int(paused.headers["retry-after"]) == int(throttle.WINDOW.total_seconds())
    assert PAUSED in paused.text and 'data-testid="login-error"' in paused.text
    assert LOGIN_COOKIE not in paused.headers.get("set-cookie", "")
    welcome = log_in(behind_proxy, "admin", PASSWORD, **{"X-Forwarded-For": "203.0.113.8"})
    assert welcome.status_code == 303 and LOGIN_COOKIE in welcome.headers["set-cookie"]
    assert sources(db) == {"203.0.113.7"}


@pytest.mark.parametrize(
    "forged",
    ["<script>alert(1)</script>", "unknown", "1" * 5000, "fe80::1%" + "x" * 80, "10.0.0.1, junk"],
)
def test_a_named_proxy_forwarding_no_address_leaves_the_peer_as_the_client(
    behind_proxy: Client, world: World, db: Database, forged: str
) -> None:
    assert log_in(behind_proxy, "admin", "wrong", **{"X-Forwarded-For": forged}).status_code == 303
    assert sources(db) == {"testclient"}


def test_an_unnamed_proxy_is_not_believed(client: Client, world: World, db: Database) -> None:
    for n in range(throttle.FROM_ADDRESS):  # each "from" another address, says the header
        forged = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
        assert log_in(client, f"guess-{n}", "wrong", **forged).status_code == 303
    assert sources(db) == {"testclient"}
    assert (
        log_in(client, "admin", PASSWORD, **{"X-Forwarded-For": "198.51.100.99"}).status_code == 429
    )


@pytest.fixture
def crowded(settings: Settings, clock: FrozenClock, db: Database) -> Iterator[Client]:
    """A server with one password check and no queue, whose check is taken."""
    app = app_with(settings, clock, db, login_checks=1, login_queue=0)
    runtime: Runtime = app.state.runtime
    with TestClient(app) as client, runtime.passwords.admitted():
        yield client


def test_a_login_beyond_the_checks_is_answered_503_at_once_on_the_form(
    crowded: Client, world: World, db: Database
) -> None:
    busy = log_in(crowded, "admin", PASSWORD)
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "2"
    assert BUSY in busy.text and 'data-testid="login-error"' in busy.text
    assert 'value="admin"' in busy.text  # what was typed stays (never the password)
    assert LOGIN_COOKIE not in busy.headers.get("set-cookie", "")
    assert sources(db) == set()  # not tried: nothing counted


def test_an_agent_login_beyond_the_checks_is_answered_503_in_json(
    crowded: Client, world: World
) -> None:
    busy = open_session(crowded, world.app_key, {"username": "alice", "password": PASSWORD})
    assert error_of(busy) == (503, "logins_busy")
    assert busy.headers["retry-after"] == "2"
    assert BUSY in busy.json()["error"]["message"]
    assert open_session(crowded, world.app_key).status_code == 201  # a Guest needs no check


def test_the_login_form_limits_are_settings(db_url: str) -> None:
    assert Settings(database_url=db_url).forwarded_allow_ips == ""  # no proxy is trusted
    with pytest.raises(ValueError, match="login_checks"):
        Settings(database_url=db_url, login_checks=0)
    with pytest.raises(ValueError, match="login_queue"):
        Settings(database_url=db_url, login_queue=-1)


class HeldHasher:
    """An argon2 hasher whose checks wait until the test lets them go."""

    def __init__(self) -> None:
        self.checking = threading.Event()
        self.go = threading.Event()

    def verify(self, _stored: str, _password: str) -> bool:
        self.checking.set()
        assert self.go.wait(PATIENCE)
        raise VerifyMismatchError

    def hash(self, password: str) -> str:
        return password

    def check_needs_rehash(self, _stored: str) -> bool:
        return False


def test_a_password_check_never_holds_up_the_server(
    settings: Settings, clock: FrozenClock, db: Database, world: World
) -> None:
    app = app_with(settings, clock, db)
    hasher = HeldHasher()
    app.state.runtime.passwords._hasher = hasher
    with served(app) as url, httpx.Client(base_url=url, timeout=PATIENCE) as client:
        form = client.get("/login").text
        data = {"account": "acme", "username": "admin", "password": "wrong"}
        data["csrf_token"] = form_token(form)
        with ThreadPoolExecutor(1) as pool:
            login = pool.submit(client.post, "/login", data=data)
            wait_until(hasher.checking.is_set, "the password check to start")
            # The check is running: the server answers meanwhile.
            assert client.get("/healthz", timeout=5).status_code == 200
            assert client.get("/login", timeout=5).status_code == 200
            hasher.go.set()
            assert login.result(PATIENCE).status_code == 303  # refused, back to the form
