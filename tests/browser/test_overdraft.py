"""The overdraft in the browser: a Super Admin grants it on Account Settings (an account
admin only reads it); agents open beyond the licenses; the grid marks those sessions and
Current says by how much use is over; the console's refusal says the overdraft is used.

acme has 3 licenses; root is the installation's super_admin (of the ops account)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from seatkeeper.storage.db import Database
from tests.browser.conftest import ACTIVE_AGENTS, Agents, open_console
from tests.browser.test_account_settings_and_users import (
    SETTINGS,
    SETTINGS_REFUSED,
    acme_of,
    audited,
    send,
    sign_in,
)
from tests.conftest import World

FULL = (
    "All 3 licenses and the overdraft of 2 are in use. Try again when an agent logs out, "
    "or ask your administrator to free a session."
)


def test_an_account_admin_reads_the_overdraft_and_has_no_field_for_it(
    page: Page, live_server: str, world: World
) -> None:
    sign_in(page, live_server, SETTINGS)
    expect(page.get_by_test_id("settings-overdraft-readonly").locator("strong")).to_have_text("0")
    expect(page.locator('[name="overdraft"]')).to_have_count(0)


def test_a_super_admin_grants_an_overdraft_and_agents_open_beyond_the_licenses_marked(
    page: Page,
    live_server: str,
    world: World,
    db: Database,
    agents: Agents,
    new_page: Callable[[str], Page],
) -> None:
    sign_in(page, live_server, SETTINGS, "root", account="ops")
    overdraft = page.get_by_test_id("settings-overdraft")
    expect(overdraft).to_have_value("0")
    for typed, message in (
        ("<b>two</b>", "The overdraft is a whole number, such as 5."),
        ("100001", "The overdraft must be between 0 and 100,000; got 100,001."),
    ):
        overdraft.fill(typed)
        assert send(page, page.get_by_test_id("settings-save"), SETTINGS) == 303
        expect(page.get_by_test_id("settings-error")).to_have_text(SETTINGS_REFUSED)
        expect(page.get_by_test_id("error-overdraft")).to_have_text(message)
        expect(overdraft).to_have_value(typed)
        assert acme_of(db).overdraft == 0
    overdraft.fill("2")
    assert send(page, page.get_by_test_id("settings-save"), SETTINGS) == 303
    expect(page.get_by_test_id("settings-saved")).to_be_visible()
    expect(overdraft).to_have_value("2")
    assert audited(db, "setting_changed") == [
        ("setting_changed", "root", {"setting": "overdraft", "from": 0, "to": 2})
    ]

    for name in ("alice", "bob", "carol", "dave", None):  # 3 licenses, then 2 beyond
        agents.open(name)
    console = new_page("console")
    open_console(console, live_server)
    console.get_by_test_id("console-guest").click()
    expect(console.get_by_test_id("console-message")).to_have_text(FULL)

    page.goto(f"{live_server}{ACTIVE_AGENTS}")
    expect(page.get_by_test_id("figure-current")).to_have_text("5 / 3 (+2 overdraft)")
    rows = page.get_by_test_id("grid-row")
    expect(rows).to_have_count(5)
    expect(page.get_by_test_id("overdraft")).to_have_count(2)
    marked = rows.filter(has=page.get_by_test_id("overdraft"))
    # The frozen clock opened all five at one instant: the two opened last are marked.
    agents_marked = marked.get_by_test_id("cell-agent").all_inner_texts()
    assert sorted(agents_marked) == ["Guest overdraft", "dave overdraft"]
