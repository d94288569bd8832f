"""The Active Agents page from the keyboard alone: selecting, sorting and terminating, the
focus always somewhere an admin can see it (never lost to <body>).

Past logging in, these tests press keys only: no clicks, no checks.
"""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Locator, Page, expect

from seatkeeper.clock import FrozenClock
from tests.browser.conftest import Agents, open_active_agents
from tests.conftest import World

TAB_STOPS = 100  # more than the page has: a key press that never gets there fails the test


def focused(page: Page) -> str:
    """The focused element's data-testid, or its tag name when it has none."""
    found: str = page.evaluate(
        "() => document.activeElement.dataset.testid || document.activeElement.tagName"
    )
    return found


def press_until(page: Page, key: str, testid: str) -> None:
    """Press `key` until the element `testid` has the focus."""
    for _ in range(TAB_STOPS):
        page.keyboard.press(key)
        if focused(page) == testid:
            return
    raise AssertionError(f"{key} never reached {testid!r}")


def header(page: Page, key: str) -> Locator:
    """The grid's <th> whose sort link is `key`."""
    return page.locator("th").filter(has=page.get_by_test_id(f"sort-{key}"))


def expect_visible_focus(page: Page, testid: str) -> None:
    """`testid` has the focus, and shows it with an outline (the page's :focus-visible)."""
    expect(page.get_by_test_id(testid).and_(page.locator(":focus"))).to_have_count(1)
    shown = page.evaluate(
        """() => {
            const element = document.activeElement;
            const style = getComputedStyle(element);
            return {visible: element.matches(":focus-visible"), style: style.outlineStyle,
                    width: style.outlineWidth};
        }"""
    )
    assert shown["visible"], f"{testid} is focused but not :focus-visible"
    assert shown["style"] != "none" and shown["width"] != "0px", shown


def test_the_whole_terminate_flow_works_from_the_keyboard_alone(
    page: Page, live_server: str, world: World, agents: Agents, clock: FrozenClock
) -> None:
    alice = agents.open("alice")
    clock.advance(timedelta(minutes=1))
    bob = agents.open("bob")
    open_active_agents(page, live_server)
    terminate = page.get_by_test_id("terminate")
    dialog = page.get_by_test_id("confirm-dialog")
    alice_box = page.get_by_test_id("select-row").first  # oldest first
    expect(page.get_by_test_id("cell-agent")).to_have_text(["alice", "bob"])

    # Tab to alice's checkbox, Space selects it.
    press_until(page, "Tab", "select-row")
    expect(alice_box).to_be_focused()
    expect_visible_focus(page, "select-row")
    page.keyboard.press("Space")
    expect(alice_box).to_be_checked()
    expect(terminate).to_be_enabled()

    # Back to Terminate Session (it sits above the grid); Enter asks, on Cancel.
    press_until(page, "Shift+Tab", "terminate")
    expect_visible_focus(page, "terminate")
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("confirm-text")).to_have_text("Terminate 1 session: alice?")
    expect_visible_focus(page, "confirm-cancel")

    # Escape cancels: nothing ends, the focus is back on Terminate Session.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect_visible_focus(page, "terminate")
    # Enter on Cancel does the same.
    page.keyboard.press("Enter")
    expect_visible_focus(page, "confirm-cancel")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect_visible_focus(page, "terminate")
    assert agents.active_ids() == {alice.session_id, bob.session_id}
    expect(alice_box).to_be_checked()

    # Enter, Tab to Terminate, Enter: alice's session ends, the focus is on the message.
    page.keyboard.press("Enter")
    expect_visible_focus(page, "confirm-cancel")
    page.keyboard.press("Tab")
    expect_visible_focus(page, "confirm-terminate")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("status-message")).to_have_text("1 session terminated.")
    expect_visible_focus(page, "status-message")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob"])
    expect(terminate).to_be_disabled()
    assert agents.active_ids() == {bob.session_id}
    assert agents.heartbeat(alice).json()["error"]["code"] == "session_terminated"

    # From the message, Tab goes on into the grid: the keyboard has not lost its place.
    press_until(page, "Tab", "select-row")
    expect(page.get_by_test_id("select-row")).to_be_focused()


def test_sortable_headers_are_reached_and_sorted_from_the_keyboard(
    page: Page, live_server: str, world: World, agents: Agents, clock: FrozenClock
) -> None:
    agents.open("bob")
    clock.advance(timedelta(minutes=1))
    agents.open("alice")
    open_active_agents(page, live_server)
    agent_header = header(page, "agent_id")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob", "alice"])

    press_until(page, "Tab", "sort-agent_id")
    expect_visible_focus(page, "sort-agent_id")
    page.keyboard.press("Enter")
    expect(agent_header).to_have_attribute("aria-sort", "ascending")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["alice", "bob"])
    # The header was drawn again: the focus is on the new one, so Enter sorts once more.
    expect_visible_focus(page, "sort-agent_id")
    page.keyboard.press("Enter")
    expect(agent_header).to_have_attribute("aria-sort", "descending")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob", "alice"])
    expect_visible_focus(page, "sort-agent_id")

    # The next header is the next Tab stop.
    page.keyboard.press("Tab")
    expect_visible_focus(page, "sort-session_start")
    page.keyboard.press("Enter")
    expect(header(page, "session_start")).to_have_attribute("aria-sort", "ascending")
    expect(agent_header).to_have_attribute("aria-sort", "none")
