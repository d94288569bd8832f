"""The period picker, the monthly graph and the true-up table, in a real browser, against a
history seeded over HTTP and worked out by hand.

acme: 3 licenses, Europe/Paris (UTC+1 all through this history), created 2026-01-09 at
14:00 Paris. Today is Tuesday 2026-03-10; now is 14:00 Paris. Its history:
- Tue 2026-01-20, 10:00-10:25 Paris: alice, bob and carol (every license); dave is
  refused at 10:10: 25 minutes at the cap, 4 licenses would have refused no one.
- Fri 2026-02-27, 11:00-11:20: alice and bob.
- Tue 2026-03-03, 11:00-11:05: alice.
- Now: alice is working.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from seatkeeper.clock import FrozenClock
from tests.browser.conftest import Agents, open_active_agents
from tests.conftest import START

TWELVE_MONTHS = [f"2025-{m:02d}" for m in range(4, 13)] + ["2026-01", "2026-02", "2026-03"]
MONTH_PEAKS = [0] * 9 + [3, 2, 1]


def at(clock: FrozenClock, when: str) -> None:
    clock.set(datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=UTC))


def seed(agents: Agents, clock: FrozenClock) -> None:
    at(clock, "2026-01-20 09:00")
    full = [agents.open(name) for name in ("alice", "bob", "carol")]
    at(clock, "2026-01-20 09:10")
    agents.refused("dave")
    at(clock, "2026-01-20 09:25")
    for session in full:
        agents.log_out(session)
    at(clock, "2026-02-27 10:00")
    pair = [agents.open("alice"), agents.open("bob")]
    at(clock, "2026-02-27 10:20")
    for session in pair:
        agents.log_out(session)
    at(clock, "2026-03-03 10:00")
    alone = agents.open("alice")
    at(clock, "2026-03-03 10:05")
    agents.log_out(alone)
    clock.set(START)
    agents.open("alice")


def bars_of(page: Page, testid: str) -> list[list[object]]:
    shown: list[list[object]] = page.get_by_test_id(testid).evaluate_all(
        "bars => bars.map(b => [b.dataset.date, +b.dataset.peak])"
    )
    return shown


def test_the_picker_goes_from_30_days_to_12_months_to_dates_and_refreshes_keep_it(
    page: Page, live_server: str, agents: Agents, clock: FrozenClock
) -> None:
    seed(agents, clock)
    open_active_agents(page, live_server)
    title = page.get_by_test_id("usage-title")
    expect(title).to_have_text("License usage, last 30 days")
    expect(page.get_by_test_id("period-30d")).to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("chart-day")).to_have_count(30)
    expect(page.get_by_test_id("figure-daily-max")).to_have_text("2")  # 01-20 is too long ago

    # Twelve months: a bar a month, each the month's highest daily peak.
    page.get_by_test_id("period-12m").click()
    expect(title).to_have_text("License usage, last 12 months")
    expect(page).to_have_url(
        f"{live_server}/accounts/acme/active-agents?sort=session_start&order=asc&period=12m"
    )
    expect(page.get_by_test_id("period-12m")).to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("period-30d")).not_to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("chart-day")).to_have_count(0)
    expect(page.get_by_test_id("chart-month")).to_have_count(12)
    assert bars_of(page, "chart-month") == [
        [month, peak] for month, peak in zip(TWELVE_MONTHS, MONTH_PEAKS, strict=True)
    ]
    expect(page.get_by_test_id("figure-daily-max")).to_have_text("3")
    expect(page.get_by_test_id("figure-average-period")).to_have_text("· last 12 months")
    expect(page.get_by_test_id("figure-max-period")).to_have_text("· last 12 months")
    january = page.locator('[data-testid="chart-month"][data-date="2026-01"]')
    expect(january).to_have_attribute("data-days-at-cap", "1")
    expect(january).to_have_attribute("data-needed", "4")
    january.hover()
    expect(page.get_by_test_id("chart-tooltip")).to_have_text(
        "Jan 2026: peak 3 of 3 on Tue 20 Jan, 1 day at the cap, 1 denied, 4 licenses needed"
    )
    expect(page.get_by_test_id("capacity-advice")).to_have_text(
        "1 open was refused on 1 day over the last 12 months; 4 licenses would have avoided "
        "every refusal (1 more than the 3 the account has)."
    )

    # Sorting the grid, then a refresh, keep the twelve months.
    page.get_by_role("link", name="Agent Id").click()
    expect(page).to_have_url(
        f"{live_server}/accounts/acme/active-agents?sort=agent_id&order=asc&period=12m"
    )
    page.get_by_test_id("refresh").click()
    expect(page.get_by_test_id("chart-month")).to_have_count(12)
    expect(title).to_have_text("License usage, last 12 months")

    # From and to dates: days again, and the grid keeps its order.
    expect(page.get_by_test_id("period-from")).to_be_hidden()
    page.get_by_test_id("period-custom").click()
    page.get_by_test_id("period-from").fill("2026-01-15")
    page.get_by_test_id("period-to").fill("2026-02-20")
    page.get_by_test_id("period-apply").click()
    expect(title).to_have_text("License usage, 15 Jan 2026 to 20 Feb 2026")
    expect(page).to_have_url(
        f"{live_server}/accounts/acme/active-agents?sort=agent_id&order=asc"
        "&from=2026-01-15&to=2026-02-20"
    )
    expect(page.get_by_test_id("period-custom")).to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("period-custom")).to_have_text("15 Jan 2026 to 20 Feb 2026")
    expect(page.get_by_test_id("chart-day")).to_have_count(37)
    expect(page.locator('[data-testid="chart-day"][data-date="2026-01-20"]')).to_have_attribute(
        "data-peak", "3"
    )
    expect(page.get_by_test_id("figure-current")).to_have_text("1 / 3")  # now, always
    page.get_by_test_id("refresh").click()
    expect(page.get_by_test_id("chart-day")).to_have_count(37)
    expect(page.get_by_test_id("period-from")).to_have_value("2026-01-15")

    # Back to the last 30 days.
    page.get_by_test_id("period-30d").click()
    expect(title).to_have_text("License usage, last 30 days")
    expect(page.get_by_test_id("chart-day")).to_have_count(30)


def test_a_range_that_cannot_be_shows_its_sentence(
    page: Page, live_server: str, agents: Agents, clock: FrozenClock
) -> None:
    seed(agents, clock)
    open_active_agents(page, live_server)
    page.get_by_test_id("period-custom").click()
    page.get_by_test_id("period-from").fill("2026-03-05")
    page.get_by_test_id("period-to").fill("2026-03-01")
    page.get_by_test_id("period-apply").click()
    expect(page.get_by_test_id("period-error")).to_have_text(
        "The from date must not be after the to date. Showing the last 30 days."
    )
    expect(page.get_by_test_id("usage-title")).to_have_text("License usage, last 30 days")
    expect(page.get_by_test_id("chart-day")).to_have_count(30)
    expect(page.get_by_test_id("grid-row")).to_have_count(1)  # the rest of the page is there


def test_the_usage_report_shows_the_true_up_table_of_a_known_history(
    page: Page, live_server: str, agents: Agents, clock: FrozenClock
) -> None:
    seed(agents, clock)
    open_active_agents(page, live_server)
    page.get_by_test_id("account-menu").locator("summary").click()
    page.get_by_test_id("nav-usage-report").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Usage Report")
    expect(page.locator("#timeout-waste")).to_have_count(1)
    page.get_by_test_id("period-12m").click()
    expect(page.get_by_test_id("usage-title")).to_have_text("License usage, last 12 months")
    assert bars_of(page, "chart-month") == [
        [month, peak] for month, peak in zip(TWELVE_MONTHS, MONTH_PEAKS, strict=True)
    ]

    rows = page.get_by_test_id("trueup-row")
    expect(rows).to_have_count(12)
    expect(page.get_by_test_id("trueup-month")).to_have_text(
        [
            "Apr 2025",
            "May 2025",
            "Jun 2025",
            "Jul 2025",
            "Aug 2025",
            "Sep 2025",
            "Oct 2025",
            "Nov 2025",
            "Dec 2025",
            "Jan 2026",
            "Feb 2026",
            "Mar 2026",
        ]
    )
    january = page.locator('[data-testid="trueup-row"][data-month="2026-01"]')
    cells = [
        ("trueup-days", "All 31"),
        ("trueup-peak", "3"),
        ("trueup-peak-day", "Tue 20 Jan"),
        ("trueup-average", "0.13"),  # 3 over the 23 days from the 9th
        ("trueup-minutes-at-cap", "25"),
        ("trueup-refusals", "1"),
        ("trueup-needed", "4"),
    ]
    for testid, text in cells:
        expect(january.get_by_test_id(testid)).to_have_text(text)
    march = page.locator('[data-testid="trueup-row"][data-month="2026-03"]')
    expect(march.get_by_test_id("trueup-days")).to_have_text("1–10 Mar only")
    expect(march.get_by_test_id("trueup-peak")).to_have_text("1")
    april = page.locator('[data-testid="trueup-row"][data-month="2025-04"]')
    expect(april.get_by_test_id("trueup-needed")).to_have_text("–")  # before the account

    # The table downloads as CSV: the same months.
    href = page.get_by_test_id("trueup-csv").get_attribute("href")
    assert href == "/api/v1/accounts/acme/usage/export?format=csv&by=month&period=12m"
    answer = page.request.get(f"{live_server}{href}")
    assert answer.ok
    months = list(csv.DictReader(io.StringIO(answer.text())))
    assert [(m["month"], int(m["peak_concurrent"])) for m in months] == list(
        zip(TWELVE_MONTHS, MONTH_PEAKS, strict=True)
    )
    assert months[9]["licenses_needed"] == "4" and months[9]["peak_date"] == "2026-01-20"
