"""Who reaches the Active Agents page, how, and how it reads: login, roles, the Account
menu, the account switcher, the keyboard, and narrow windows."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

from seatkeeper.clock import FrozenClock
from tests.browser.conftest import ACTIVE_AGENTS, Agents, log_in, open_active_agents
from tests.conftest import PASSWORD, World


def menu_entries(page: Page) -> Locator:
    """Open the Account menu; its entries."""
    menu = page.get_by_test_id("account-menu")
    menu.locator("summary").click()
    expect(menu).to_have_js_property("open", True)
    return menu.locator("li")


def log_out(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/")
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(f"{live_server}/login")


def test_anonymous_visitor_is_sent_to_log_in_and_back(
    page: Page, live_server: str, world: World
) -> None:
    wanted = f"{ACTIVE_AGENTS}?sort=agent_id&order=desc"
    page.goto(f"{live_server}{wanted}")
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    address = urlsplit(page.url)
    assert address.path == "/login"
    assert parse_qs(address.query) == {"next": [wanted]}
    expect(page.get_by_test_id("account-menu")).to_have_count(0)  # nobody to show it to

    # A wrong password keeps the way back.
    page.get_by_test_id("login-account").fill("acme")
    page.get_by_test_id("login-username").fill("admin")
    page.get_by_test_id("login-password").fill(PASSWORD + "!")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_text(
        "The account, username or password is not correct."
    )
    address = urlsplit(page.url)
    assert (address.path, parse_qs(address.query)) == ("/login", {"next": [wanted]})
    expect(page.get_by_test_id("login-account")).to_have_value("acme")
    expect(page.get_by_test_id("login-username")).to_have_value("admin")
    expect(page.get_by_test_id("login-password")).to_have_value("")

    log_in(page, "admin")
    expect(page).to_have_url(f"{live_server}{wanted}")
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("admin")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Support")
    sorted_by = page.locator("th").filter(has=page.get_by_test_id("sort-agent_id"))
    expect(sorted_by).to_have_attribute("aria-sort", "descending")


def test_agents_and_designers_are_not_allowed_and_do_not_see_the_entry(
    page: Page, live_server: str, world: World
) -> None:
    for username in ("alice", "dan"):
        page.goto(f"{live_server}/login")
        log_in(page, username)
        expect(page.get_by_test_id("home")).to_be_visible()
        expect(page.get_by_test_id("signed-in-as")).to_contain_text(username)
        entries = menu_entries(page)
        expect(entries).to_have_text(["Your logins"])
        expect(page.get_by_test_id("nav-active-agents")).to_have_count(0)

        answer = page.goto(f"{live_server}{ACTIVE_AGENTS}")
        assert answer is not None
        assert answer.status == 403
        refused = page.get_by_test_id("error-403")
        expect(refused.get_by_role("heading")).to_have_text("Not allowed")
        expect(page.get_by_test_id("grid")).to_have_count(0)
        expect(page.get_by_test_id("figure-current")).to_have_count(0)
        answer = page.goto(f"{live_server}/accounts/acme/recently-ended")
        assert answer is not None
        assert answer.status == 403
        expect(page.get_by_test_id("ended-grid")).to_have_count(0)
        answer = page.goto(f"{live_server}/accounts/acme/holders")
        assert answer is not None
        assert answer.status == 403
        expect(page.get_by_test_id("holders-grid")).to_have_count(0)
        log_out(page, live_server)

    open_active_agents(page, live_server)
    entries = menu_entries(page)
    expect(entries).to_have_text(
        [
            "Active Agents",
            "Usage Report",
            "License Holders",
            "Recently ended",
            "Account Settings",
            "Users",
            "Applications and keys",
            "Your logins",
        ]
    )
    entry = page.get_by_test_id("nav-active-agents")
    expect(entry).to_have_attribute("href", ACTIVE_AGENTS)
    expect(entry).to_have_attribute("aria-current", "page")
    page.get_by_test_id("nav-recently-ended").click()  # the menu is still open
    expect(page).to_have_url(f"{live_server}/accounts/acme/recently-ended")
    expect(page.get_by_test_id("nav-recently-ended")).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("ended-empty")).to_have_text("No session ended in the past 7 days.")


def test_admins_see_their_own_account_and_a_super_admin_chooses(
    page: Page, live_server: str, world: World, agents: Agents
) -> None:
    agents.open("alice")  # something of acme's to recognize its page by

    # globex's admin: acme is answered as if it did not exist, and there is no switcher.
    page.goto(f"{live_server}/login")
    log_in(page, "gadmin", account="globex")
    expect(page).to_have_url(f"{live_server}/accounts/globex/active-agents")
    expect(page.get_by_test_id("account-switcher")).to_have_count(0)
    expect(page.get_by_test_id("grid-empty")).to_be_visible()
    answer = page.goto(f"{live_server}{ACTIVE_AGENTS}")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_test_id("error-404").get_by_role("heading")).to_have_text("Not found")
    expect(page.get_by_test_id("cell-agent")).to_have_count(0)
    log_out(page, live_server)

    # The super_admin lands on their own (ops) account and picks acme.
    page.goto(f"{live_server}/login")
    log_in(page, "root", account="ops")
    expect(page).to_have_url(f"{live_server}/accounts/ops/active-agents")
    switcher = page.get_by_test_id("account-switcher")
    expect(switcher).to_have_value("ops")
    expect(page.get_by_test_id("figure-current")).to_have_text("0 / 0")
    switcher.select_option("acme")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{live_server}{ACTIVE_AGENTS}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Support")
    expect(page.get_by_test_id("account-switcher")).to_have_value("acme")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["alice"])
    expect(page.get_by_test_id("figure-current")).to_have_text("1 / 3")
    expect(page.get_by_test_id("time-zone")).to_contain_text("Europe/Paris")


def tab_to(page: Page, target: Locator, *, backwards: bool = False, presses: int = 40) -> None:
    """Press Tab (or Shift+Tab) until `target` has the focus."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(presses):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press(key)
    expect(target).to_be_focused()


def test_the_page_works_with_the_keyboard_alone(
    page: Page, live_server: str, world: World, agents: Agents, clock: FrozenClock
) -> None:
    bob = agents.open("bob")
    clock.advance(timedelta(minutes=1))
    alice = agents.open("alice")

    page.goto(f"{live_server}/login")
    tab_to(page, page.get_by_test_id("login-account"))
    page.keyboard.type("acme")
    page.keyboard.press("Tab")
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}{ACTIVE_AGENTS}")  # an admin's home

    # Through the Account menu: a new page load (the marker set here is gone).
    page.evaluate("() => { window.beforeTheMenu = true; }")
    tab_to(page, page.get_by_test_id("account-menu").locator("summary"))
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("account-menu")).to_have_js_property("open", True)
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("nav-active-agents")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}{ACTIVE_AGENTS}")
    page.wait_for_function("() => window.beforeTheMenu === undefined")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob", "alice"])

    # Sort with Enter.
    tab_to(page, page.get_by_test_id("sort-agent_id"))
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["alice", "bob"])
    sorted_by = page.locator("th").filter(has=page.get_by_test_id("sort-agent_id"))
    expect(sorted_by).to_have_attribute("aria-sort", "ascending")

    # Check a row with Space, then terminate its session from the keyboard.
    alice_box = page.get_by_test_id("select-row").first
    expect(alice_box).to_have_attribute("data-label", "alice")
    tab_to(page, alice_box)
    page.keyboard.press("Space")
    expect(alice_box).to_be_checked()
    terminate = page.get_by_test_id("terminate")
    expect(terminate).to_be_enabled()
    tab_to(page, terminate, backwards=True)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("confirm-dialog")).to_be_visible()
    expect(page.get_by_test_id("confirm-text")).to_have_text("Terminate 1 session: alice?")
    expect(page.get_by_test_id("confirm-cancel")).to_be_focused()
    page.keyboard.press("Escape")  # closing the dialog is cancelling
    expect(page.get_by_test_id("confirm-dialog")).to_be_hidden()
    assert agents.active_ids() == {alice.session_id, bob.session_id}

    tab_to(page, terminate)
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("confirm-terminate")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("status-message")).to_have_text("1 session terminated.")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob"])
    assert agents.active_ids() == {bob.session_id}


@pytest.mark.parametrize("width", [1280, 800])
def test_the_page_fits_the_window(
    page: Page, live_server: str, world: World, agents: Agents, clock: FrozenClock, width: int
) -> None:
    alice = agents.open("alice")
    for flow in ("Password Reset", "Billing Dispute", "Address Change", "New Order"):
        agents.interaction(alice, flow)
    clock.advance(timedelta(minutes=3))
    agents.interaction(agents.open(), "Subscription Cancellation Request")
    clock.advance(timedelta(minutes=3))
    agents.open("bob")

    page.set_viewport_size({"width": width, "height": 900})
    open_active_agents(page, live_server)
    expect(page.get_by_test_id("grid-row")).to_have_count(3)
    overflow = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert overflow[1] == width
    assert overflow[0] <= overflow[1], f"{overflow[0]} px of content in a {width} px window"
    # Nor does the grid hide columns behind a scroll bar of its own.
    table = page.evaluate(
        "() => { const w = document.querySelector('.table-wrap');"
        " return [w.scrollWidth, w.clientWidth]; }"
    )
    assert table[0] <= table[1], f"the grid is {table[0]} px wide in {table[1]} px"
    for testid in ("terminate", "refresh", "auto-refresh", "usage-chart", "figure-daily-max"):
        expect(page.get_by_test_id(testid)).to_be_visible()
    expect(page.get_by_test_id("terminate")).to_be_in_viewport()
    page.get_by_test_id("select-row").first.check()
    expect(page.get_by_test_id("terminate")).to_be_enabled()
