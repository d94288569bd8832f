"""Every page, in each of its states, meets WCAG 2.1 AA as axe-core checks it: no
serious or critical violation. And the usage chart's figures are there as a table too.

/docs is left out: it is Swagger UI's page (vendored, not ours), whose own theme and
markup axe faults (contrast of its method badges, controls nested in controls).

acme has 3 licenses; its agents are alice, bob, carol and dave, its admin is admin. The
frozen clock reads 2026-03-10 13:00 UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from seatkeeper.clock import FrozenClock
from seatkeeper.services import users
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database
from tests.browser.axe import describe, serious_violations
from tests.browser.conftest import (
    ACTIVE_AGENTS,
    Agents,
    flow_button,
    log_in,
    open_active_agents,
    open_console,
    open_flow,
    start_console,
)
from tests.conftest import PASSWORD, World, bearer

Accessible = Callable[[Page, str], None]
Figures = list[tuple[str, int, int, int, int]]  # a day: date, peak, denials, waited, licenses

# The admin's pages that show the same way whatever was done before: path -> its heading.
ADMIN_PAGES = {
    "usage report": ("/accounts/acme/usage-report", "Usage"),
    "usage report by month": ("/accounts/acme/usage-report?period=12m", "Usage"),
    "recently ended": ("/accounts/acme/recently-ended", "Recently"),
    "license holders": ("/accounts/acme/holders", "License"),
    "users": ("/accounts/acme/users", "Users"),
    "account settings": ("/accounts/acme/settings", "Settings"),
    "keys": ("/accounts/acme/keys", "keys"),
    "logins": ("/logins", "logins"),
}


def test_the_login_page_and_a_refused_login(
    page: Page, live_server: str, world: World, assert_accessible: Accessible
) -> None:
    page.goto(f"{live_server}/login")
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    assert_accessible(page, "the login page")

    page.get_by_test_id("login-account").fill("acme")
    page.get_by_test_id("login-username").fill("admin")
    page.get_by_test_id("login-password").fill(PASSWORD + "!")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_be_visible()
    assert_accessible(page, "a refused login")


def test_active_agents_empty_full_confirming_and_terminated(
    page: Page,
    live_server: str,
    world: World,
    agents: Agents,
    clock: FrozenClock,
    assert_accessible: Accessible,
) -> None:
    open_active_agents(page, live_server)
    expect(page.get_by_test_id("grid-empty")).to_be_visible()
    assert_accessible(page, "Active Agents with no agent")

    for username in ("alice", "bob", None):
        opened = agents.open(username)
        agents.interaction(opened, "Password Reset")
    agents.refused("carol")  # a denial today, drawn on the chart
    page.get_by_test_id("refresh").click()
    expect(page.get_by_test_id("select-row")).to_have_count(3)
    assert_accessible(page, "Active Agents with every license held")

    page.get_by_test_id("select-all").check()
    page.get_by_test_id("terminate").click()
    expect(page.get_by_test_id("confirm-dialog")).to_be_visible()
    assert_accessible(page, "the terminate confirmation")

    page.get_by_test_id("confirm-terminate").click()
    expect(page.get_by_test_id("status-message")).to_have_text("3 sessions terminated.")
    assert_accessible(page, "Active Agents after terminating")


@pytest.mark.usefixtures("live_server")  # which every test driving a page has (page_checks)
def test_the_check_finds_violations_and_names_them(page: Page, axe_js: str) -> None:
    # A page with a button of no name and text too faint to read: what the check is for.
    page.set_content(
        '<html lang="en"><title>t</title><body><main><h1>t</h1>'
        '<button id="nameless"></button><p id="faint" style="color: #bbb">faint</p>'
        "</main></body></html>"
    )
    found = serious_violations(page, axe_js)
    assert {v["id"] for v in found} == {"button-name", "color-contrast"}
    told = describe(found)
    assert "button-name (critical)" in told and "#nameless" in told
    assert "color-contrast (serious)" in told and "#faint" in told


@pytest.mark.parametrize("name", list(ADMIN_PAGES))
def test_the_admins_pages(
    page: Page,
    live_server: str,
    world: World,
    agents: Agents,
    name: str,
    assert_accessible: Accessible,
) -> None:
    path, heading = ADMIN_PAGES[name]
    ended = agents.open("alice")  # something to show on the history pages
    agents.interaction(ended, "Password Reset")
    agents.log_out(ended)
    agents.open("bob")
    page.goto(f"{live_server}/login?next={path}")
    log_in(page, "admin")
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    assert_accessible(page, name)


def test_the_menus_forms_and_their_answers(
    page: Page, live_server: str, world: World, agents: Agents, assert_accessible: Accessible
) -> None:
    agents.open("alice")
    open_active_agents(page, live_server)
    page.get_by_test_id("account-menu").locator("summary").click()
    expect(page.get_by_test_id("nav-keys")).to_be_visible()
    assert_accessible(page, "the Account menu, open")
    page.get_by_test_id("chart-day").last.hover()
    expect(page.get_by_test_id("chart-tooltip")).not_to_be_empty()
    page.get_by_test_id("period-custom").click()
    page.get_by_test_id("period-from").fill("2026-03-05")
    page.get_by_test_id("period-to").fill("2026-03-01")
    page.get_by_test_id("period-apply").click()
    expect(page.get_by_test_id("period-error")).to_be_visible()
    assert_accessible(page, "a day's tooltip and a refused period")

    page.goto(f"{live_server}/accounts/acme/users")
    form = page.get_by_test_id("create-user-form")
    form.get_by_test_id("new-username").fill("erin")
    form.get_by_test_id("create-user").click()
    expect(page.get_by_test_id("password-link")).to_be_visible()
    assert_accessible(page, "a user created, with a one-time link")
    form.get_by_test_id("new-username").fill("alice")
    form.get_by_test_id("create-user").click()
    expect(page.get_by_test_id("users-error")).to_be_visible()
    assert_accessible(page, "a refused new user")

    page.goto(f"{live_server}/accounts/acme/keys")
    page.get_by_test_id("new-key-name").fill("Billing")
    page.get_by_test_id("make-key").click()
    expect(page.get_by_test_id("new-key")).to_be_visible()
    page.get_by_test_id("key-row").first.get_by_test_id("rotate-open").click()
    assert_accessible(page, "a key made, and a rotation asked for")


def test_a_super_admins_settings_and_account_switcher(
    page: Page, live_server: str, world: World, assert_accessible: Accessible
) -> None:
    page.goto(f"{live_server}/login?next=/accounts/acme/settings")
    log_in(page, "root", account="ops")
    page.get_by_test_id("settings-licenses").fill("many")
    page.get_by_test_id("settings-save").click()
    expect(page.get_by_test_id("error-licenses")).to_be_visible()
    assert_accessible(page, "a super admin's refused license total")
    page.goto(f"{live_server}{ACTIVE_AGENTS}")
    expect(page.get_by_test_id("account-switcher")).to_be_visible()
    assert_accessible(page, "Active Agents with the account switcher")


def test_a_refused_settings_form(
    page: Page, live_server: str, world: World, assert_accessible: Accessible
) -> None:
    page.goto(f"{live_server}/login?next=/accounts/acme/settings")
    log_in(page, "admin")
    page.get_by_test_id("settings-time-zone").fill("Mars/Olympus_Mons")
    page.get_by_test_id("settings-timeout").fill("thirty")
    page.get_by_test_id("settings-save").click()
    expect(page.get_by_test_id("settings-error")).to_be_visible()
    assert_accessible(page, "a refused settings form")


def test_the_set_password_page_and_a_refused_password(
    page: Page,
    live_server: str,
    world: World,
    db: Database,
    passwords: Passwords,
    clock: FrozenClock,
    assert_accessible: Accessible,
) -> None:
    handed = users.reset_password(
        db, passwords, OPERATOR, "acme", "dan", password=None, now=clock.now()
    )
    page.goto(f"{live_server}/set-password#{handed.link_token}")
    expect(page.get_by_test_id("set-password")).to_be_visible()
    assert_accessible(page, "the set-password page")

    page.get_by_test_id("set-password").fill("a brand new secret")
    page.get_by_test_id("set-confirm").fill("another secret")
    page.get_by_test_id("set-password-submit").click()
    expect(page.get_by_test_id("set-password-error")).to_be_visible()
    assert_accessible(page, "a refused password")


def test_an_agent_at_an_admin_page_is_not_allowed(
    page: Page, live_server: str, world: World, assert_accessible: Accessible
) -> None:
    page.goto(f"{live_server}/login")
    log_in(page, "alice")
    expect(page.get_by_test_id("home")).to_be_visible()
    assert_accessible(page, "an agent's home page")

    page.goto(f"{live_server}{ACTIVE_AGENTS}")
    expect(page.get_by_test_id("error-403")).to_be_visible()
    assert_accessible(page, "the not-allowed page")

    page.goto(f"{live_server}/accounts/acme/no-such-page")
    expect(page.get_by_test_id("error-404")).to_be_visible()
    assert_accessible(page, "the not-found page")


@pytest.mark.usefixtures("console_flows")
def test_the_console_ready_working_and_full(
    page: Page, live_server: str, world: World, agents: Agents, assert_accessible: Accessible
) -> None:
    open_console(page, live_server)
    assert_accessible(page, "the console before starting")

    start_console(page, live_server, "alice")
    expect(flow_button(page, "Password Reset")).to_be_visible()
    assert_accessible(page, "the console, ready")

    open_flow(page, "Password Reset")
    assert_accessible(page, "the console with an Interaction open")

    agents.client.post(
        "/api/v1/accounts/acme/active-sessions/terminate",
        json={"session_ids": [agents.of_console(page).session_id]},
        headers=bearer(world.admin_token),
    ).raise_for_status()
    page.get_by_test_id("step-next").click()
    expect(page.get_by_test_id("console-ended-message")).to_contain_text("administrator")
    assert_accessible(page, "the console of a terminated session")
    page.get_by_test_id("console-new-session").click()

    expect(page.get_by_test_id("console-start")).to_be_visible()
    for username in ("bob", "carol", "dave"):
        agents.open(username)
    page.get_by_test_id("console-guest").click()
    expect(page.get_by_test_id("console-retry")).to_be_visible()
    assert_accessible(page, "the console when every license is held")


def usage_table(page: Page) -> Figures:
    """The usage table's rows, as a screen reader reads them."""
    figures: Figures = []
    for row in page.get_by_test_id("usage-table-row").all():
        day = row.locator("time").get_attribute("datetime") or ""
        peak, denials, waited, licenses = (int(c) for c in row.locator("td").all_inner_texts())
        figures.append((day, peak, denials, waited, licenses))
    return figures


def usage_of(agents: Agents) -> Figures:
    """The same figures from the usage API."""
    usage = agents.usage()
    return [
        (d["date"], d["max_concurrent"], d["denials"], d["waited"], usage["total"])
        for d in usage["days"]
    ]


def test_the_usage_chart_has_its_figures_as_a_table_kept_in_step_live(
    page: Page,
    live_server: str,
    world: World,
    agents: Agents,
    clock: FrozenClock,
) -> None:
    # No axe here: the table is checked by what it says, so this runs without Node.js too.
    first = agents.open("alice")
    clock.advance(timedelta(minutes=5))
    agents.log_out(first)
    open_active_agents(page, live_server)
    table = page.get_by_test_id("usage-table")
    expect(table.locator("caption")).to_have_text("Daily peak of concurrent sessions, as a table")
    expect(table.locator("thead th")).to_have_text(
        ["Day", "Maximum concurrent sessions", "Denials", "Waited", "Licenses"]
    )
    shown = usage_table(page)
    assert len(shown) == 30
    assert shown == usage_of(agents)
    assert shown[-1][1:] == (1, 0, 0, 3)  # today: alice's session, no denial, 3 licenses

    page.get_by_test_id("auto-refresh").check()
    expect(page.get_by_test_id("live-status")).to_have_text("Live")
    for username in ("alice", "bob", "carol"):
        agents.open(username)
    agents.refused("dave")
    # Live, the page hears of it by itself and redraws the table with the chart.
    today = page.get_by_test_id("usage-table-row").last
    expect(today.locator("td")).to_have_text(["3", "1", "0", "3"])
    assert usage_table(page) == usage_of(agents)
    # Closed, the event stream does not hold the server up on stopping.
    page.get_by_test_id("auto-refresh").uncheck()
    expect(page.get_by_test_id("live-status")).to_have_text("")


def test_by_month_the_table_has_a_row_a_month_as_the_chart_has_a_bar(
    page: Page, live_server: str, world: World, agents: Agents
) -> None:
    agents.open("alice")
    page.goto(f"{live_server}/login?next=/accounts/acme/usage-report?period=12m")
    log_in(page, "admin")
    expect(page.get_by_test_id("usage-table").locator("thead th")).to_have_text(
        ["Month", "Highest daily peak", "Denials", "Waited", "Licenses"]
    )
    bars = page.get_by_test_id("chart-month")
    expect(bars).to_have_count(12)
    charted = [
        (bar.get_attribute("data-date"), int(bar.get_attribute("data-peak") or ""))
        for bar in bars.all()
    ]
    assert [(day, peak) for day, peak, *_ in usage_table(page)] == charted
    assert charted[-1] == ("2026-03", 1)
