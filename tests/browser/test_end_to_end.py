"""The whole story of issue 4, end to end: agent consoles and the admin's Active Agents
page, in browsers of their own, against one real server.

acme has 3 licenses and its Flows (Password Reset, Billing Dispute, New Order) are
registered before any console loads. The frozen clock moves a minute between the
agents' arrivals, so the grid's default order (Session Start) is theirs, and a few
seconds between alice's Interactions, so her second browser lists them as she opened
them (the server lists them oldest first).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from seatkeeper.clock import FrozenClock
from tests.browser.conftest import (
    Agents,
    console_log_in,
    interaction_tabs,
    open_active_agents,
    open_console,
    open_flow,
    start_console,
)
from tests.conftest import World

TERMINATED = "Your session was terminated by an administrator."


def row_of(page: Page, agent: str) -> Locator:
    return page.get_by_test_id("grid-row").filter(
        has=page.get_by_test_id("cell-agent").get_by_text(agent, exact=True)
    )


def refresh(admin: Page) -> None:
    """Click Refresh and wait for the grid's fresh answer to be in place."""
    with admin.expect_response(lambda r: "/active-agents/fragments?" in r.url) as answer:
        admin.get_by_test_id("refresh").click()
    assert answer.value.ok
    expect(admin.get_by_test_id("refresh")).to_be_enabled()


def tab_ids(page: Page) -> list[str]:
    ids: list[str] = interaction_tabs(page).evaluate_all(
        "tabs => tabs.map(tab => tab.dataset.interactionId)"
    )
    return ids


def expect_terminated_on_next(page: Page) -> None:
    """The console still shows its work until the agent acts: Next tells them."""
    expect(page.get_by_test_id("console-work")).to_be_visible()
    expect(page.get_by_test_id("interaction-panel")).to_be_visible()
    page.get_by_test_id("step-next").click()
    expect(page.get_by_test_id("console-ended")).to_be_visible()
    expect(page.get_by_test_id("console-ended-message")).to_have_text(TERMINATED)
    assert page.get_by_test_id("console-ended-message").inner_text() == TERMINATED
    expect(page.get_by_test_id("console-new-session")).to_be_visible()
    expect(page.get_by_test_id("console-new-session")).to_have_text("Start a new session")
    expect(page.get_by_test_id("console-work")).to_be_hidden()
    stored = page.evaluate("() => localStorage.length")
    assert stored == 0, "the ended session is forgotten"


def test_end_to_end(
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
    live_server: str,
    world: World,
    agents: Agents,
    clock: FrozenClock,
    console_flows: dict[str, tuple[str, ...]],
) -> None:
    admin = new_page("admin")
    open_active_agents(admin, live_server)
    expect(admin.get_by_test_id("grid-empty")).to_be_visible()
    expect(admin.get_by_test_id("figure-current")).to_have_text("0 / 3")

    # alice logs in and opens Password Reset twice and Billing Dispute once.
    alice = new_page("alice")
    start_console(alice, live_server, "alice")
    for flow in ("Password Reset", "Password Reset", "Billing Dispute"):
        clock.advance(timedelta(seconds=5))  # the server lists Interactions oldest first
        open_flow(alice, flow)
    expect(interaction_tabs(alice)).to_have_text(
        ["Password Reset (1)", "Password Reset (2)", "Billing Dispute"]
    )
    alice_session = agents.of_console(alice)
    assert alice_session.agent_id == "alice"

    # A Guest, a minute later, opens New Order.
    clock.advance(timedelta(minutes=1))
    guest = new_page("guest")
    start_console(guest, live_server, None)
    open_flow(guest, "New Order")
    expect(interaction_tabs(guest)).to_have_text(["New Order"])

    # alice's second browser joins her session: her three Interactions, no second license.
    clock.advance(timedelta(minutes=1))
    alice_again = new_page("alice-second-browser")
    start_console(alice_again, live_server, "alice")
    expect(interaction_tabs(alice_again)).to_have_count(3)
    assert sorted(tab_ids(alice_again)) == sorted(tab_ids(alice))
    expect(interaction_tabs(alice_again)).to_have_text(
        ["Password Reset (1)", "Password Reset (2)", "Billing Dispute"]
    )
    assert agents.of_console(alice_again).session_id == alice_session.session_id
    assert len(agents.active_sessions()) == 2

    # The admin's page: exactly two rows, and 2 of 3 licenses in use.
    refresh(admin)
    expect(admin.get_by_test_id("grid-row")).to_have_count(2)
    expect(admin.get_by_test_id("cell-agent")).to_have_text(["alice", "Guest"])
    expect(row_of(admin, "alice").get_by_test_id("cell-flows")).to_have_text(
        "Billing Dispute, Password Reset"
    )
    expect(row_of(admin, "alice").get_by_test_id("cell-count")).to_have_text("3")
    expect(row_of(admin, "Guest").get_by_test_id("cell-flows")).to_have_text("New Order")
    expect(row_of(admin, "Guest").get_by_test_id("cell-count")).to_have_text("1")
    expect(admin.get_by_test_id("figure-current")).to_have_text("2 / 3")

    # bob logs in from his Agent Application: 3 of 3.
    clock.advance(timedelta(minutes=1))
    agents.open("bob")
    refresh(admin)
    expect(admin.get_by_test_id("figure-current")).to_have_text("3 / 3")
    expect(admin.get_by_test_id("cell-agent")).to_have_text(["alice", "Guest", "bob"])
    today = admin.get_by_test_id("chart-day").last
    expect(today).to_have_attribute("data-date", "2026-03-10")
    expect(today).to_have_attribute("data-denials", "0")

    # A fourth agent, carol, is refused: the pool is full, and she may try again.
    carol = new_page("carol")
    open_console(carol, live_server)
    console_log_in(carol, "carol")
    expect(carol.get_by_test_id("console-message")).to_contain_text("All 3 licenses are in use")
    expect(carol.get_by_test_id("console-retry")).to_be_visible()
    expect(carol.get_by_test_id("console-retry")).to_have_text("Try again")
    expect(carol.get_by_test_id("console-retry")).to_be_focused()
    expect(carol.get_by_test_id("console-work")).to_be_hidden()
    expect(carol.get_by_test_id("console-start")).to_be_visible()

    # The refusal is today's denial, on the chart and in the usage API.
    refresh(admin)
    expect(today).to_have_attribute("data-denials", "1")
    expect(admin.get_by_test_id("chart-denial")).to_have_count(1)
    usage = agents.usage()
    assert usage["current"] == 3
    assert usage["days"][-1]["date"] == "2026-03-10"
    assert usage["days"][-1]["denials"] == 1

    # The admin terminates alice.
    row_of(admin, "alice").get_by_test_id("select-row").check()
    admin.get_by_test_id("terminate").click()
    expect(admin.get_by_test_id("confirm-text")).to_have_text("Terminate 1 session: alice?")
    admin.get_by_test_id("confirm-terminate").click()
    expect(admin.get_by_test_id("status-message")).to_have_text("1 session terminated.")
    expect(admin.get_by_test_id("cell-agent")).to_have_text(["Guest", "bob"])
    expect(admin.get_by_test_id("figure-current")).to_have_text("2 / 3")
    assert alice_session.session_id not in agents.active_ids()

    # alice learns it at her next step, in each of her browsers.
    expect_terminated_on_next(alice)
    screenshot(alice, "alice-terminated")
    expect_terminated_on_next(alice_again)
    alice_again.get_by_test_id("console-new-session").click()  # she may start again
    expect(alice_again.get_by_test_id("console-start")).to_be_visible()
    expect(alice_again.get_by_test_id("console-username")).to_be_visible()

    # carol's retry now takes the freed license.
    clock.advance(timedelta(minutes=1))
    carol.get_by_test_id("console-retry").click()
    expect(carol.get_by_test_id("console-work")).to_be_visible()
    expect(carol.get_by_test_id("console-agent")).to_have_text("Logged in as carol")
    expect(carol.get_by_test_id("console-message")).to_be_hidden()

    # The Guest worked on, untouched.
    expect(guest.get_by_test_id("console-work")).to_be_visible()
    guest.get_by_test_id("step-next").click()
    expect(guest.get_by_test_id("interaction-step")).to_have_text(
        "Step 2 of 5: Enter the delivery address"
    )

    refresh(admin)
    expect(admin.get_by_test_id("cell-agent")).to_have_text(["Guest", "bob", "carol"])
    expect(admin.get_by_test_id("figure-current")).to_have_text("3 / 3")
    expect(admin.get_by_test_id("figure-daily-max")).to_have_text("3")
