"""Browser tests: Debian's chromium driven by Playwright, against a real server.

Every request the page makes to anything but the server under test is aborted
and recorded, so a test fails if a page tries to load from a CDN. Every test that
drives a page also fails on a JavaScript error, and leaves a full-page screenshot
of where it ended in `test-artifacts/screenshots/` for a person to look at.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from litestar import Litestar
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Route, expect

from tests.conftest import PASSWORD, World, bearer
from tests.servers import served

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path("test-artifacts") / "screenshots"  # under the repository's root
ACTIVE_AGENTS = "/accounts/acme/active-agents"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch the machine's chromium: Playwright cannot download a browser here."""
    if not shutil.which("chromium"):
        pytest.fail("Browser tests need Debian's chromium: run `make test`, which installs it.")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": FLAGS}


@pytest.fixture(params=["sqlite"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, template_db: Path) -> Iterator[str]:
    """Browser tests prove the pages, not the backends: SQLite only, a fresh copy per test."""
    path = tmp_path / "seatkeeper.db"
    shutil.copy(template_db, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def live_server(app: Litestar) -> Iterator[str]:
    """The test's app, served on a free port."""
    with served(app) as url:
        yield url


@pytest.fixture
def outside_requests(page: Page, live_server: str) -> list[str]:
    """Requests the page tried to make anywhere but the server under test (all aborted)."""
    ours = urlsplit(live_server).netloc
    tried: list[str] = []

    def guard(route: Route) -> None:
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:
            tried.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return tried


def _screenshot_name(request: pytest.FixtureRequest) -> str:
    """The test's name, with its own parameters (not the database's or the browser's)."""
    node = request.node
    parts = [getattr(node, "originalname", node.name)]
    callspec = getattr(node, "callspec", None)
    if callspec is not None:
        parts += [
            str(value)
            for name, value in callspec.params.items()
            if name not in {"db_url", "browser_name"}
        ]
    return re.sub(r"[^\w.-]+", "_", "-".join(parts)) + ".png"


@pytest.fixture(autouse=True)
def page_checks(request: pytest.FixtureRequest) -> Iterator[None]:
    """For every test that drives a page: no request leaves the server under test, no
    JavaScript error happens, and a screenshot of the final page is kept."""
    if "page" not in request.fixturenames:
        yield
        return
    # Requested here, these are set up before the test and torn down after this fixture.
    page: Page = request.getfixturevalue("page")
    outside: list[str] = request.getfixturevalue("outside_requests")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc.name}: {exc.message}"))
    yield
    folder = request.config.rootpath / SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=folder / _screenshot_name(request), full_page=True)
    except PlaywrightError as exc:  # a closed page must not hide the test's own result
        errors.append(f"screenshot failed: {exc}")
    assert outside == [], f"the page tried to reach other servers: {outside}"
    assert errors == [], f"JavaScript errors on the page: {errors}"


# --- agents, over the HTTP API -------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """An agent session opened over HTTP, as an Agent Application holds it."""

    session_id: str
    token: str
    agent_id: str | None


class Agents:
    """Agent Applications (the application key) and an admin script (an API token),
    talking to the live server over HTTP."""

    def __init__(self, client: httpx.Client, world: World) -> None:
        self.client = client
        self.world = world

    def try_open(self, username: str | None = None) -> httpx.Response:
        body = {} if username is None else {"username": username, "password": PASSWORD}
        return self.client.post("/api/v1/sessions", json=body, headers=bearer(self.world.app_key))

    def open(self, username: str | None = None) -> Opened:
        """Open a new session (a Guest's when no username): it must take a license."""
        response = self.try_open(username)
        assert response.status_code == 201, response.text
        body = response.json()
        return Opened(body["session_id"], body["token"], body["agent_id"])

    def refused(self, username: str | None = None) -> None:
        """Try to open a session with every license taken: refused, and recorded."""
        response = self.try_open(username)
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "license_limit_reached"

    def _call(self, method: str, session: Opened, path: str = "", json: Any = None) -> Any:
        return self.client.request(
            method,
            f"/api/v1/sessions/{session.session_id}{path}",
            json=json,
            headers=bearer(session.token),
        )

    def interaction(self, session: Opened, flow: str) -> str:
        response = self._call("POST", session, "/interactions", {"flow": flow})
        assert response.status_code == 201, response.text
        interaction_id: str = response.json()["interaction_id"]
        return interaction_id

    def close_interaction(self, session: Opened, interaction_id: str) -> None:
        response = self._call("DELETE", session, f"/interactions/{interaction_id}")
        assert response.status_code == 204, response.text

    def heartbeat(self, session: Opened) -> httpx.Response:
        response: httpx.Response = self._call("POST", session, "/heartbeat")
        return response

    def log_out(self, session: Opened) -> None:
        response = self._call("DELETE", session)
        assert response.status_code == 204, response.text

    def _admin(self, path: str) -> Any:
        response = self.client.get(
            f"/api/v1/accounts/acme{path}", headers=bearer(self.world.admin_token)
        )
        assert response.status_code == 200, response.text
        return response.json()

    def active_ids(self) -> set[str]:
        """The ids of acme's open sessions, from the admin API."""
        return {row["session_id"] for row in self._admin("/active-sessions")["sessions"]}

    def usage(self) -> dict[str, Any]:
        body: dict[str, Any] = self._admin("/usage")
        return body


@pytest.fixture
def agents(live_server: str, world: World) -> Iterator[Agents]:
    with httpx.Client(base_url=live_server, timeout=10) as client:
        yield Agents(client, world)


# --- the pages --------------------------------------------------------------------------


def log_in(page: Page, username: str, *, account: str = "acme") -> None:
    """Fill in and send the login form the page shows."""
    page.get_by_test_id("login-account").fill(account)
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-submit")).to_have_count(0)


def open_active_agents(page: Page, live_server: str, username: str = "admin") -> None:
    """Log in from the login page and land on acme's Active Agents page."""
    page.goto(f"{live_server}/login?next={ACTIVE_AGENTS}")
    log_in(page, username)
    expect(page).to_have_url(f"{live_server}{ACTIVE_AGENTS}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Active Agents")
