"""The grid's Group column and its seat group filter in a browser: the filter holds across
refreshes and sorts, and the filtered grid passes axe."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from seatkeeper.clock import FrozenClock
from seatkeeper.storage.db import Database
from tests.browser.conftest import open_active_agents
from tests.conftest import World
from tests.grid_groups import seed_groups


def test_the_grid_shows_each_group_and_one_group_at_a_time(
    page: Page,
    live_server: str,
    world: World,
    db: Database,
    clock: FrozenClock,
    assert_accessible: Callable[[Page, str], None],
) -> None:
    groups = seed_groups(db, world, clock.now())
    open_active_agents(page, live_server)
    rows = page.get_by_test_id("grid-row")
    expect(rows).to_have_count(4)
    expect(page.get_by_test_id("header-group")).to_have_text("Group")
    expect(page.get_by_test_id("cell-group")).to_have_text(
        ["Billing reserved", "Billing", "Guests", ""]
    )
    expect(page.get_by_test_id("reserved")).to_have_count(1)

    page.get_by_label("Group").select_option(label="Billing")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(
        f"{live_server}/accounts/acme/active-agents?sort=session_start&order=asc&group={groups['billing']}"
    )
    expect(page.get_by_test_id("cell-agent")).to_have_text(["alice", "bob"])
    page.get_by_test_id("sort-agent_id").click()
    page.get_by_test_id("sort-agent_id").click()
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob", "alice"])
    page.get_by_test_id("refresh").click()
    expect(page.get_by_test_id("connected")).to_have_text("2 agents connected.")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob", "alice"])
    csv = page.get_by_test_id("grid-csv")
    expect(csv).to_have_attribute(
        "href",
        f"/api/v1/accounts/acme/active-sessions/export?sort=agent_id&order=desc&group={groups['billing']}&format=csv",
    )
    assert_accessible(page, "the grid of one seat group")

    page.reload()  # the address kept the group: the select shows it
    expect(page.get_by_label("Group")).to_have_value(str(groups["billing"]))
    expect(rows).to_have_count(2)
    page.get_by_label("Group").select_option(label="All groups")
    expect(rows).to_have_count(4)
