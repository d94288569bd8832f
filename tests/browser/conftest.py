"""Browser tests: Debian's chromium driven by Playwright, against a real server.

Every request the page makes to anything but the server under test is aborted
and recorded, so a test fails if a page tries to load from a CDN.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from litestar import Litestar
from playwright.sync_api import Page, Route

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


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch the machine's chromium: Playwright cannot download a browser here."""
    if not shutil.which("chromium"):
        pytest.fail("Browser tests need Debian's chromium: run `make test`, which installs it.")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": FLAGS}


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
