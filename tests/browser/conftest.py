"""Browser tests: Debian's chromium driven by Playwright, against a real server.

Every request the page makes to anything but the server under test is aborted
and recorded, so a test fails if a page tries to load from a CDN. Every test that
drives a page also fails on a JavaScript error, and leaves a full-page screenshot
of where it ended in `test-artifacts/screenshots/` for a person to look at.

That holds for the default `page` (through `page_checks`) and for every page a test
opens in browsers of its own through `new_page(name)` (one browser context each,
screenshot `<test>-<name>.png`).

Every expectation, action and wait of every page is given PATIENCE (Playwright's own
defaults are 5 s for an expectation, 30 s for the rest): the suite runs several browsers
at once on busy machines, and a page that is right only takes longer there. Tests set no
timeouts of their own.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import pytest
from litestar import Litestar
from playwright.sync_api import BrowserContext, Locator, Page, Route, expect
from playwright.sync_api import Error as PlaywrightError
from pytest_playwright import CreateContextCallback

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.errors import Conflict
from seatkeeper.services import flows
from seatkeeper.services.access import OPERATOR
from seatkeeper.storage.db import Database
from tests.browser.axe import axe_source, describe, serious_violations
from tests.conftest import PASSWORD, WORLD_FLOWS, World, bearer, offer
from tests.servers import served
from tests.waiting import PATIENCE

PATIENCE_MS = PATIENCE * 1000
expect.set_options(timeout=PATIENCE_MS)  # every expect() in the browser tests

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
CONSOLE = "/console/acme"
CONSOLE_STORAGE_KEY = "seatkeeper-console:acme"  # where the console keeps its session

# acme's Flows for the console tests: name -> ordered step titles.
FLOWS: dict[str, tuple[str, ...]] = {
    "Password Reset": (
        "Verify the caller's identity",
        "Check the account status",
        "Send the reset link",
        "Confirm the new password works",
    ),
    "Billing Dispute": (
        "Find the invoice",
        "Record the disputed amount",
        "Agree on a resolution",
    ),
    "New Order": (
        "Choose the products",
        "Enter the delivery address",
        "Take the payment",
        "Confirm the order",
        "Send the confirmation email",
    ),
}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch the machine's chromium: Playwright cannot download a browser here."""
    if not shutil.which("chromium"):
        pytest.fail("Browser tests need Debian's chromium: run `make test`, which installs it.")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": FLAGS,
        "timeout": PATIENCE_MS,
    }


@pytest.fixture
def new_context(new_context: CreateContextCallback) -> CreateContextCallback:
    """pytest-playwright's `new_context` (which `context` and `page` come from), its
    contexts' actions and waits given PATIENCE."""

    def patient(**kwargs: Any) -> BrowserContext:
        context = new_context(**kwargs)
        context.set_default_timeout(PATIENCE_MS)
        return context

    return cast(CreateContextCallback, patient)


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
def trusted_servers(live_server: str) -> tuple[str, ...]:
    """The servers pages may reach: the one under test (and, for single sign-on, the
    account's OpenID Provider)."""
    return (live_server,)


def guard_outside(target: Page | BrowserContext, servers: tuple[str, ...]) -> list[str]:
    """Abort every request of `target` to anything but `servers`; the list of what was
    tried fills as they happen."""
    ours = {urlsplit(server).netloc for server in servers}
    tried: list[str] = []

    def guard(route: Route) -> None:
        if urlsplit(route.request.url).netloc in ours:
            route.continue_()
        else:
            tried.append(route.request.url)
            route.abort()

    target.route("**/*", guard)
    return tried


@pytest.fixture
def outside_requests(page: Page, trusted_servers: tuple[str, ...]) -> list[str]:
    """Requests the page tried to make anywhere but the server under test (all aborted)."""
    return guard_outside(page, trusted_servers)


def _screenshot_stem(request: pytest.FixtureRequest) -> str:
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
    return re.sub(r"[^\w.-]+", "_", "-".join(parts))


def _screenshot_name(request: pytest.FixtureRequest, label: str | None = None) -> str:
    stem = _screenshot_stem(request)
    if label is not None:
        stem += "-" + re.sub(r"[^\w.-]+", "_", label)
    return stem + ".png"


def _screenshot_folder(request: pytest.FixtureRequest) -> Path:
    folder = request.config.rootpath / SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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
    _watch(page, errors)
    yield
    folder = _screenshot_folder(request)
    try:
        page.screenshot(path=folder / _screenshot_name(request), full_page=True)
    except PlaywrightError as exc:  # a closed page must not hide the test's own result
        errors.append(f"screenshot failed: {exc}")
    assert outside == [], f"the page tried to reach other servers: {outside}"
    assert errors == [], f"JavaScript errors on the page: {errors}"


def _watch(page: Page, errors: list[str]) -> None:
    """Note every JavaScript error on `page`, and everything its content security policy
    refused (Chromium reports those on the console)."""
    page.on("pageerror", lambda exc: errors.append(f"{exc.name}: {exc.message}"))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )


@dataclass
class _Watched:
    """A page opened through `new_page`, with what went wrong on it."""

    name: str
    page: Page
    outside: list[str]
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def new_page(
    request: pytest.FixtureRequest,
    new_context: CreateContextCallback,
    trusted_servers: tuple[str, ...],
) -> Iterator[Callable[[str], Page]]:
    """`new_page(name)`: a page in a browser of its own (a fresh context: its own cookies
    and localStorage), checked as `page_checks` checks the default page. At the end
    of the test each is screenshotted as `<test>-<name>.png`; then the test fails if
    any of them had a JavaScript error or tried to reach another server."""
    watched: list[_Watched] = []

    def make(name: str) -> Page:
        if any(w.name == name for w in watched):
            raise ValueError(f"a page named {name!r} is open already: names make screenshots")
        context = new_context()
        outside = guard_outside(context, trusted_servers)
        page = context.new_page()
        entry = _Watched(name, page, outside)
        _watch(page, entry.errors)
        watched.append(entry)
        return page

    yield make
    folder = _screenshot_folder(request)
    for entry in watched:  # every screenshot first: a failure must not lose the others
        try:
            path = folder / _screenshot_name(request, entry.name)
            entry.page.screenshot(path=path, full_page=True)
        except PlaywrightError as exc:
            entry.errors.append(f"screenshot failed: {exc}")
    outside = {w.name: w.outside for w in watched if w.outside}
    errors = {w.name: w.errors for w in watched if w.errors}
    assert outside == {}, f"pages tried to reach other servers: {outside}"
    assert errors == {}, f"JavaScript errors on pages: {errors}"


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """`screenshot(page, label)`: keep the page as it is now, as `<test>-<label>.png`."""

    def take(page: Page, label: str) -> Path:
        path = _screenshot_folder(request) / _screenshot_name(request, label)
        page.screenshot(path=path, full_page=True)
        return path

    return take


# --- accessibility ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def axe_js() -> str:
    """axe-core's source, read once (the test skips, or fails on CI, without it)."""
    return axe_source()


@pytest.fixture
def assert_accessible(axe_js: str) -> Callable[[Page, str], None]:
    """`assert_accessible(page, state)`: axe finds no serious or critical WCAG 2.1 A/AA
    violation on the page as it is now; the message names each rule and where it fails."""

    def check(page: Page, state: str) -> None:
        found = serious_violations(page, axe_js)
        assert found == [], f"accessibility violations on {state}:\n{describe(found)}"

    return check


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

    def __init__(self, client: httpx.Client, world: World, db: Database) -> None:
        self.client = client
        self.world = world
        self.db = db

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
        """Open `flow` (registered first, as a Designer would, if acme does not offer it)."""
        response = self._call("POST", session, "/interactions", {"flow": flow})
        if response.status_code == 400 and response.json()["error"]["code"] == "unknown_flow":
            offer(self.db, flow)
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

    def state(self, session: Opened) -> httpx.Response:
        """GET the session as it stands (its open Interactions and their steps)."""
        response: httpx.Response = self._call("GET", session)
        return response

    def of_console(self, page: Page) -> Opened:
        """The session the console in `page` holds, from its localStorage."""
        stored = page.evaluate("key => localStorage.getItem(key)", CONSOLE_STORAGE_KEY)
        assert stored is not None, "the console holds no session"
        held = json.loads(stored)
        session = Opened(held["id"], held["token"], None)
        answer = self.state(session)
        assert answer.status_code == 200, answer.text
        return Opened(session.session_id, session.token, answer.json()["agent_id"])

    def steps(self, session: Opened) -> dict[str, str | None]:
        """interaction id -> the step the server has recorded for it, open ones only."""
        answer = self.state(session)
        assert answer.status_code == 200, answer.text
        return {i["interaction_id"]: i["step"] for i in answer.json()["interactions"]}

    def _admin(self, path: str) -> Any:
        response = self.client.get(
            f"/api/v1/accounts/acme{path}", headers=bearer(self.world.admin_token)
        )
        assert response.status_code == 200, response.text
        return response.json()

    def active_sessions(self) -> list[dict[str, Any]]:
        """acme's open sessions (the grid's rows), from the admin API."""
        rows: list[dict[str, Any]] = self._admin("/active-sessions")["sessions"]
        return rows

    def active_ids(self) -> set[str]:
        """The ids of acme's open sessions, from the admin API."""
        return {row["session_id"] for row in self.active_sessions()}

    def usage(self) -> dict[str, Any]:
        body: dict[str, Any] = self._admin("/usage")
        return body


@pytest.fixture
def agents(live_server: str, world: World, db: Database) -> Iterator[Agents]:
    with httpx.Client(base_url=live_server, timeout=PATIENCE) as client:
        yield Agents(client, world, db)


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


# --- the agent console ----------------------------------------------------------------


@pytest.fixture
def console_flows(db: Database, world: World, clock: FrozenClock) -> dict[str, tuple[str, ...]]:
    """acme's Flows (FLOWS, in place of the world's), registered before any console page
    loads them."""
    for name in WORLD_FLOWS:
        flows.remove_flow(db, OPERATOR, "acme", name=name, now=clock.now())
    for name, steps in FLOWS.items():
        with contextlib.suppress(Conflict):
            flows.add_flow(db, OPERATOR, "acme", name=name, steps=steps, now=clock.now())
    return FLOWS


def open_console(page: Page, live_server: str) -> None:
    """Load acme's console: nothing held yet, it offers to start a session."""
    page.goto(f"{live_server}{CONSOLE}")
    expect(page.get_by_test_id("console-start")).to_be_visible()


def console_log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Send the console's login form (the outcome is the caller's to check)."""
    page.get_by_test_id("console-username").fill(username)
    page.get_by_test_id("console-password").fill(password)
    page.get_by_test_id("console-login").click()


def start_console(page: Page, live_server: str, username: str | None) -> None:
    """Open acme's console and start working: as `username`, or as a Guest (None)."""
    open_console(page, live_server)
    if username is None:
        page.get_by_test_id("console-guest").click()
    else:
        console_log_in(page, username)
    expect(page.get_by_test_id("console-work")).to_be_visible()
    expect(page.get_by_test_id("console-agent")).to_have_text(
        "Guest" if username is None else f"Logged in as {username}"
    )


def interaction_tabs(page: Page) -> Locator:
    return page.get_by_test_id("interaction-tab")


def selected_tab(page: Page) -> Locator:
    return page.locator('[data-testid="interaction-tab"][aria-selected="true"]')


def flow_button(page: Page, name: str) -> Locator:
    """The Open button of the Flow `name`."""
    return page.locator(f'[data-testid="flow-open"][data-flow="{name}"]')


def open_flow(page: Page, name: str) -> None:
    """Click the Flow's Open button; returns once its tab shows and the server has
    recorded its first step (the console sends it just after opening)."""
    before = interaction_tabs(page).count()
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/steps")
    ) as stepped:
        flow_button(page, name).click()
    assert stepped.value.status == 200, stepped.value.text()
    expect(interaction_tabs(page)).to_have_count(before + 1)
    expect(selected_tab(page)).to_have_attribute("data-flow", name)


def step_text(name: str, index: int) -> str:
    """What the console shows on step `index` (0-based) of the Flow `name`."""
    steps = FLOWS[name]
    return f"Step {index + 1} of {len(steps)}: {steps[index]}"
