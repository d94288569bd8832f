"""Who waits for a license, on the Active Agents page: with Auto-refresh on, a place asked
over the API appears without a click, in order, and goes when it is seated; Current
says how many wait; axe finds nothing serious with people waiting.

acme has 3 licenses; the server's clock is frozen, so no ticket runs out meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Agents, open_active_agents
from tests.conftest import PASSWORD, bearer


def ask(agents: Agents, username: str | None = None) -> dict[str, Any]:
    """Ask for a license, ready to wait for one: every license is held, so a place."""
    body: dict[str, Any] = {"wait": True}
    if username is not None:
        body |= {"username": username, "password": PASSWORD}
    answer = agents.client.post("/api/v1/sessions", json=body, headers=bearer(agents.world.app_key))
    assert answer.status_code == 202, answer.text
    place: dict[str, Any] = answer.json()
    return place


def test_places_appear_live_in_order_and_go_when_seated(
    page: Page,
    live_server: str,
    agents: Agents,
    assert_accessible: Callable[[Page, str], None],
    screenshot: Callable[[Page, str], Any],
) -> None:
    held = [agents.open() for _ in range(3)]
    open_active_agents(page, live_server)
    expect(page.get_by_test_id("waiting-none")).to_have_text("Nobody is waiting for a license.")
    expect(page.get_by_test_id("figure-current")).to_have_text("3 / 3")
    page.get_by_test_id("auto-refresh").check()
    expect(page.get_by_test_id("live-status")).to_have_text("Live")

    ask(agents, "bob")
    rows = page.get_by_test_id("waiting-row")
    expect(rows.get_by_test_id("waiting-agent")).to_have_text(["bob"])
    ask(agents)  # a Guest, behind bob
    expect(rows.get_by_test_id("waiting-agent")).to_have_text(["bob", "Guest"])
    expect(rows.get_by_test_id("waiting-position")).to_have_text(["1", "2"])
    expect(rows.get_by_test_id("waiting-since").first).to_contain_text(":")
    expect(page.get_by_test_id("figure-current")).to_have_text("3 / 3 · 2 waiting")
    expect(page.get_by_test_id("waiting-none")).to_have_count(0)
    assert_accessible(page, "the Active Agents page with two agents waiting")
    screenshot(page, "two-waiting")

    agents.log_out(held[0])  # bob is seated: the Guest moves up
    expect(rows.get_by_test_id("waiting-agent")).to_have_text(["Guest"])
    expect(rows.get_by_test_id("waiting-position")).to_have_text(["1"])
    expect(page.get_by_test_id("figure-current")).to_have_text("3 / 3 · 1 waiting")
    agents.log_out(held[1])
    expect(page.get_by_test_id("waiting-none")).to_be_visible()
    expect(page.get_by_test_id("figure-current")).to_have_text("3 / 3")
    expect(page.get_by_test_id("live-status")).to_have_text("Live")  # pushed, not polled
