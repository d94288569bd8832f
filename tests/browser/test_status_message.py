"""What the Active Agents page says: after a termination (and for how long), in its live
region as the grid changes (never moving the focus), and the grid's download line.

acme has 3 licenses; sessions are opened over HTTP as Agent Applications open them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from seatkeeper.clock import FrozenClock
from tests.browser.conftest import Agents, open_active_agents
from tests.conftest import World
from tests.waiting import wait_until


def select(page: Page, *agents: str) -> None:
    for agent in agents:
        row = page.get_by_test_id("grid-row").filter(
            has=page.get_by_test_id("cell-agent").get_by_text(agent, exact=True)
        )
        row.get_by_test_id("select-row").check()


def terminate(page: Page) -> None:
    page.get_by_test_id("terminate").click()
    page.get_by_test_id("confirm-terminate").click()
    expect(page.get_by_test_id("confirm-dialog")).to_be_hidden()


@pytest.fixture
def go_live(page: Page, live_server: str) -> Iterator[Callable[[], None]]:
    """`go_live()` turns auto-refresh on and waits until the page hears of changes as they
    happen; at the end the page lets go of its event stream, which would hold the server."""

    def on() -> None:
        page.get_by_test_id("auto-refresh").check()
        expect(page.get_by_test_id("live-status")).to_have_text("Live")

    yield on
    page.get_by_test_id("auto-refresh").uncheck()


def test_auto_refresh_ticked_before_the_script_ran_goes_live(
    page: Page, live_server: str, world: World, agents: Agents
) -> None:
    """A click while the page's script still loads (or a box the browser restored on
    Back) is honoured when the script starts: the page goes Live, not a ticked box that
    does nothing."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/static/active-agents.js", hold)
    open_active_agents(page, live_server)
    page.get_by_test_id("auto-refresh").check()

    def asked() -> bool:
        page.wait_for_timeout(20)  # Playwright hands over held requests while it runs
        return bool(held)

    wait_until(asked, "the page to ask for its script")
    page.unroute("**/static/active-agents.js")
    for route in held:
        route.continue_()
    expect(page.get_by_test_id("live-status")).to_have_text("Live")
    agents.open("alice")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["alice"])
    page.get_by_test_id("auto-refresh").uncheck()


def expect_told(status: Locator, message: str, kind: str) -> None:
    """The status line says `message`, styled as `kind` (ok or warning) and as nothing else."""
    expect(status).to_have_text(message)
    expect(status).to_have_class(f"status {kind}")


def test_a_termination_is_told_until_the_grid_changes_after_it(
    page: Page,
    live_server: str,
    world: World,
    agents: Agents,
    clock: FrozenClock,
    go_live: Callable[[], None],
) -> None:
    agents.open("alice")
    clock.advance(timedelta(minutes=1))
    agents.open("bob")
    open_active_agents(page, live_server)
    go_live()
    status = page.get_by_test_id("status-message")
    select(page, "alice")
    terminate(page)
    expect_told(status, "1 session terminated.", "ok")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob"])

    # A refresh that brings the same grid leaves it said.
    with page.expect_response(lambda r: "/active-agents/fragments?" in r.url) as fetched:
        page.get_by_test_id("refresh").click()
    assert fetched.value.ok
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob"])
    expect_told(status, "1 session terminated.", "ok")

    # A session opened since changes the grid: the message no longer describes it, and goes.
    clock.advance(timedelta(minutes=1))
    agents.open("carol")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob", "carol"])
    expect(status).to_have_text("")
    expect(status).to_have_class("status")


def test_sessions_that_had_already_ended_are_not_told_as_a_success(
    page: Page, live_server: str, world: World, agents: Agents, clock: FrozenClock
) -> None:
    agents.open("alice")
    bob = agents.open("bob")
    carol = agents.open("carol")
    open_active_agents(page, live_server)  # not live: the grid stays as it was loaded
    status = page.get_by_test_id("status-message")

    select(page, "alice", "bob")
    agents.log_out(bob)  # while the admin looks at the grid
    terminate(page)
    expect_told(status, "1 session terminated. 1 had already ended.", "warning")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["carol"])

    select(page, "carol")
    agents.log_out(carol)
    terminate(page)
    expect_told(status, "0 sessions terminated. 1 had already ended.", "warning")
    expect(page.get_by_test_id("grid-empty")).to_be_visible()

    # The two look different: a warning has a wash behind its words, a success none.
    washed = "e => getComputedStyle(e).backgroundColor"
    warning = status.evaluate(washed)
    dave = agents.open("dave")
    page.get_by_test_id("refresh").click()
    expect(page.get_by_test_id("cell-agent")).to_have_text(["dave"])
    select(page, "dave")
    terminate(page)
    expect_told(status, "1 session terminated.", "ok")
    assert status.evaluate(washed) != warning
    assert agents.active_ids() == set()
    assert agents.heartbeat(dave).status_code == 410


def test_the_download_line_shows_only_when_there_is_something_to_download(
    page: Page, live_server: str, world: World, agents: Agents, go_live: Callable[[], None]
) -> None:
    open_active_agents(page, live_server)
    downloads = page.get_by_test_id("grid-downloads")
    expect(page.get_by_test_id("grid-empty")).to_be_visible()
    expect(downloads).to_be_hidden()
    go_live()

    alice = agents.open("alice")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["alice"])
    expect(downloads).to_be_visible()
    expect(page.get_by_test_id("grid-csv")).to_be_visible()
    expect(page.get_by_test_id("grid-json")).to_be_visible()

    agents.log_out(alice)
    expect(page.get_by_test_id("grid-empty")).to_be_visible()
    expect(downloads).to_be_hidden()

    # A search that matches nobody has nothing to download either.
    agents.open("bob")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob"])
    page.get_by_test_id("grid-search").fill("nobody")
    expect(page.get_by_test_id("grid-no-match")).to_be_visible()
    expect(downloads).to_be_hidden()
    page.get_by_test_id("grid-search").fill("bo")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob"])
    expect(downloads).to_be_visible()


def test_live_changes_are_announced_politely_and_leave_the_focus_where_it_was(
    page: Page,
    live_server: str,
    world: World,
    agents: Agents,
    clock: FrozenClock,
    go_live: Callable[[], None],
) -> None:
    agents.open("alice")
    clock.advance(timedelta(minutes=1))
    bob = agents.open("bob")
    open_active_agents(page, live_server)
    region = page.get_by_test_id("connected")
    expect(region).to_have_attribute("role", "status")
    expect(region).to_have_attribute("aria-live", "polite")
    expect(region).to_have_text("2 agents connected.")
    go_live()
    boxes = page.get_by_test_id("select-row")
    bob_box = page.get_by_test_id("grid-row").nth(1).get_by_test_id("select-row")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["alice", "bob"])
    bob_box.focus()
    page.keyboard.press("Space")
    expect(bob_box).to_be_checked()

    clock.advance(timedelta(minutes=1))
    agents.open("carol")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["alice", "bob", "carol"])
    expect(region).to_have_text("3 agents connected.")
    expect(bob_box).to_be_focused()  # bob's checkbox, drawn again
    expect(bob_box).to_be_checked()

    # bob's session ends while his checkbox has the focus: the row now in its place has it.
    agents.log_out(bob)
    expect(page.get_by_test_id("cell-agent")).to_have_text(["alice", "carol"])
    expect(region).to_have_text("2 agents connected.")
    expect(boxes.nth(1)).to_be_focused()
    expect(boxes.nth(1)).not_to_be_checked()
    expect(page.get_by_test_id("terminate")).to_be_disabled()


def test_the_live_region_says_a_search_as_text(
    page: Page, live_server: str, world: World, agents: Agents
) -> None:
    agents.open("alice")
    open_active_agents(page, live_server)
    region = page.get_by_test_id("connected")
    hostile = '<img src=x onerror="document.title=1">al'
    page.get_by_test_id("grid-search").fill(hostile)
    expect(page.get_by_test_id("grid-no-match")).to_be_visible()
    expect(region).to_have_text(f"No connected agent matches “{hostile}”.")
    expect(page.locator("img[src=x]")).to_have_count(0)
    page.get_by_test_id("grid-search").fill("al")
    expect(region).to_have_text("1 connected agent matches “al”.")
