"""Two server processes on one database: a page served by one shows, without a click,
a session opened through the other.

While the page is Live it does not poll (it polls only while its event stream is down,
and says so): so a change that shows up while the page has stayed Live on the one stream
it opened came through that stream, however long a busy machine took to bring it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import open_active_agents
from tests.conftest import World, bearer, fresh_database
from tests.servers import running_servers
from tests.waiting import PATIENCE


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, template_db: Path) -> Iterator[str]:
    """Both backends: on PostgreSQL the instances hear of changes by NOTIFY, on SQLite by
    following the change rows."""
    with fresh_database(request, tmp_path, template_db) as url:
        yield url


@pytest.fixture
def instances(db_url: str, world: World, tmp_path: Path) -> Iterator[list[str]]:
    with running_servers(db_url, 2, tmp_path) as urls:
        yield urls


@pytest.fixture
def live_server(instances: list[str]) -> str:
    """The page is served by instance A."""
    return instances[0]


def test_a_session_opened_through_b_appears_on_a_page_served_by_a(
    page: Page, instances: list[str], world: World
) -> None:
    a, b = instances
    streams: list[str] = []  # the event streams the page opened
    page.on("request", lambda r: streams.append(r.url) if r.url.endswith("/events") else None)
    httpx.post(
        f"{b}/api/v1/sessions",
        json={"username": "bob", "password": "correct horse battery"},
        headers=bearer(world.app_key),
        timeout=PATIENCE,
    ).raise_for_status()
    open_active_agents(page, a)
    agent_header = page.locator("th").filter(has=page.get_by_test_id("sort-agent_id"))
    # Agent Id, descending: each click waits for the grid it asked for, so the second
    # is not made on the header the first one's answer replaces.
    for order in ("ascending", "descending"):
        page.get_by_test_id("sort-agent_id").click()
        expect(agent_header).to_have_attribute("aria-sort", order)
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob"])
    page.get_by_test_id("select-row").first.check()
    # Live, and the grid it fetched on going Live is in: what shows next was pushed.
    with page.expect_response(lambda r: "/active-agents/fragments?" in r.url) as fetched:
        page.get_by_test_id("auto-refresh").check()
        expect(page.get_by_test_id("live-status")).to_have_text("Live")
    assert fetched.value.ok
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob"])

    opened = httpx.post(
        f"{b}/api/v1/sessions", json={}, headers=bearer(world.app_key), timeout=PATIENCE
    )
    assert opened.status_code == 201
    expect(page.get_by_test_id("cell-agent")).to_have_text(["Guest", "bob"])
    expect(page.get_by_test_id("figure-current")).to_have_text("2 / 3")
    expect(agent_header).to_have_attribute("aria-sort", "descending")
    bob_row = page.get_by_test_id("grid-row").filter(has_text="bob")
    expect(bob_row.get_by_test_id("select-row")).to_be_checked()

    # An Interaction opened through B shows up too.
    token, sid = opened.json()["token"], opened.json()["session_id"]
    httpx.post(
        f"{b}/api/v1/sessions/{sid}/interactions",
        json={"flow": "New Order"},
        headers=bearer(token),
        timeout=PATIENCE,
    ).raise_for_status()
    guest_row = page.get_by_test_id("grid-row").filter(has_text="Guest")
    expect(guest_row.get_by_test_id("cell-flows")).to_have_text("New Order")

    # Both came through the page's one stream, which never went down (so it never polled).
    expect(page.get_by_test_id("live-status")).to_have_text("Live")
    assert len(streams) == 1, streams
