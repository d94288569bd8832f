"""The License Holders page: who held licenses over a period, sorted by any column, and
the timeout-waste hint, against a history seeded over HTTP and worked out by hand.

acme has a 30-minute timeout and shows Europe/Paris. On Tuesday 2026-03-10 from 14:00:
alice works two hours and logs out; bob opens and is never heard from again (timed out
at 14:30); a Guest holds a license from 14:40 to 15:10. The page is looked at a day later.
"""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from seatkeeper.clock import FrozenClock
from tests.browser.conftest import Agents, open_active_agents


def seed(agents: Agents, clock: FrozenClock) -> None:
    alice = agents.open("alice")
    agents.open("bob")
    guest = None
    for minute in range(20, 121, 20):  # alice keeps her session alive
        clock.advance(timedelta(minutes=10))
        if minute == 80 and guest is not None:
            agents.log_out(guest)
        clock.advance(timedelta(minutes=10))
        if minute == 120:
            agents.log_out(alice)
            break
        agents.heartbeat(alice)
        if minute == 40:
            guest = agents.open()
        if minute == 60 and guest is not None:
            agents.heartbeat(guest)
    clock.advance(timedelta(days=1))


def agents_listed(page: Page) -> list[str]:
    return page.get_by_test_id("holder-row").get_by_test_id("cell-agent").all_inner_texts()


def test_the_page_lists_holders_sorts_them_and_says_what_timeouts_cost(
    page: Page, live_server: str, agents: Agents, clock: FrozenClock
) -> None:
    seed(agents, clock)
    open_active_agents(page, live_server)
    page.get_by_test_id("account-menu").locator("summary").click()
    page.get_by_test_id("nav-holders").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("License Holders")
    expect(page.get_by_test_id("period-label")).to_contain_text("Showing the last 30 days")

    # By license-hours, most first; bob and the Guests tie at half an hour: by name.
    expect(page.get_by_test_id("holder-row")).to_have_count(3)
    assert agents_listed(page) == ["alice", "bob", "Guests"]
    hours = page.get_by_test_id("cell-hours").all_inner_texts()
    assert hours == ["2.0", "0.5", "0.5"]
    assert page.get_by_test_id("cell-longest").all_inner_texts() == [
        "2 h 00 min",
        "30 min",
        "30 min",
    ]
    assert page.get_by_test_id("cell-idle").all_inner_texts() == ["0.0", "0.5", "0.0"]

    expect(page.get_by_test_id("waste-hint")).to_have_text(
        "Sessions waited 0.5 license-hours for their 30-minute timeout in this period; a "
        "20-minute timeout would have freed 0.2 of them, but the peak would have stayed at 2."
    )
    expect(page.get_by_test_id("waste-candidate")).to_have_count(4)

    # Sorting by clicking headers: Agent Id ascending, then descending.
    page.get_by_test_id("sort-agent").click()
    expect(page.get_by_test_id("sort-agent")).to_contain_text("▲")
    assert agents_listed(page) == ["alice", "bob", "Guests"]
    page.get_by_test_id("sort-agent").click()
    expect(page.get_by_test_id("sort-agent")).to_contain_text("▼")
    assert agents_listed(page) == ["Guests", "bob", "alice"]
    page.get_by_test_id("sort-idle").click()
    expect(page.get_by_test_id("sort-idle")).to_contain_text("▼")
    assert agents_listed(page)[0] == "bob"
    csv_link = page.get_by_test_id("holders-csv").get_attribute("href") or ""
    assert "sort=idle" in csv_link and "format=csv" in csv_link and "period=30d" in csv_link


def test_the_period_picker_changes_the_period(
    page: Page, live_server: str, agents: Agents, clock: FrozenClock
) -> None:
    seed(agents, clock)
    open_active_agents(page, live_server)
    page.goto(f"{live_server}/accounts/acme/holders")
    page.get_by_test_id("period-90d").click()
    expect(page.get_by_test_id("period-label")).to_contain_text("Showing the last 90 days")
    expect(page.get_by_test_id("holder-row")).to_have_count(3)

    # A period before any of it: nothing held, and the hint says so.
    page.get_by_test_id("period-from").fill("2026-02-01")
    page.get_by_test_id("period-to").fill("2026-02-28")
    page.get_by_test_id("period-apply").click()
    expect(page.get_by_test_id("period-label")).to_contain_text("1 Feb 2026 to 28 Feb 2026")
    expect(page.get_by_test_id("holders-empty")).to_be_visible()
    expect(page.get_by_test_id("waste-hint")).to_have_text(
        "No session held a license in this period."
    )
    page.get_by_test_id("period-12m").click()
    expect(page.get_by_test_id("period-label")).to_contain_text("Showing the last 12 months")
    assert agents_listed(page) == ["alice", "bob", "Guests"]
