"""Your logins in a real browser: reached from the Account menu, "This one" marked, and
"Log out everywhere else" sends the other browser to the login page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.test_account_settings_and_users import PageFactory, sign_in
from tests.conftest import World


def test_a_user_logs_out_everywhere_else_from_the_account_menu(
    page: Page, live_server: str, world: World, new_page: PageFactory
) -> None:
    phone = new_page("phone")
    sign_in(phone, live_server, "/", "dan")
    expect(phone.get_by_test_id("home")).to_be_visible()
    sign_in(page, live_server, "/", "dan")

    page.get_by_test_id("account-menu").locator("summary").click()
    page.get_by_test_id("nav-logins").click()
    expect(page).to_have_url(f"{live_server}/logins")
    expect(page.get_by_test_id("nav-logins")).to_have_attribute("aria-current", "page")
    rows = page.get_by_test_id("login-row")
    expect(rows).to_have_count(2)
    this_one = page.locator('[data-testid="login-row"][data-current="true"]')
    expect(this_one.get_by_test_id("this-one")).to_have_text("This one")
    expect(this_one.get_by_test_id("cell-source")).to_have_text("127.0.0.1")
    expect(this_one.get_by_test_id("cell-browser")).to_contain_text("Mozilla/5.0")

    page.get_by_test_id("end-others").click()
    expect(page).to_have_url(f"{live_server}/logins")
    expect(page.get_by_test_id("logins-notice")).to_have_text("1 other login ended.")
    expect(rows).to_have_count(1)
    expect(page.get_by_test_id("end-others")).to_be_disabled()

    phone.reload()
    expect(phone).to_have_url(f"{live_server}/login")
    page.reload()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("dan")
