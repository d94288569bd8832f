"""The usage graph and the three figures, against history seeded over HTTP and worked out
by hand.

acme has 3 licenses, shows Europe/Paris (UTC+1 all through this history: summer time
starts on 29 March 2026) and was created 60 days before the clock's start, so every
day of the window counts. The window is the 30 Paris days ending today, Tuesday
2026-03-10: 2026-02-09 to 2026-03-10.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from seatkeeper.clock import FrozenClock
from tests.browser.conftest import Agents, open_active_agents
from tests.conftest import START, World


def at(clock: FrozenClock, when: str) -> None:
    """Set the frozen clock to a UTC instant, "YYYY-MM-DD HH:MM"."""
    clock.set(datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=UTC))


def seed_history(agents: Agents, clock: FrozenClock) -> None:
    """Sessions over several past days, the clock moving back and forth between them."""
    # Tue 03-03, 10:00 Paris: all three licenses taken, then two opens refused.
    at(clock, "2026-03-03 09:00")
    full = [agents.open(name) for name in ("alice", "bob", "carol")]
    at(clock, "2026-03-03 09:05")
    agents.refused("dave")
    agents.refused()  # a Guest
    at(clock, "2026-03-03 09:15")
    for session in full:
        agents.log_out(session)

    # Back to Fri 02-20: 23:50 to 00:10 Paris, across midnight. In UTC (22:50 to 23:10)
    # it never leaves 02-20; in Paris it holds a license on 02-20 and on 02-21.
    at(clock, "2026-02-20 22:50")
    late = agents.open("alice")
    at(clock, "2026-02-20 23:10")
    agents.log_out(late)

    # Sun 02-08, before the window: three at once and a refusal, none of which count.
    at(clock, "2026-02-08 12:00")
    before = [agents.open("alice"), agents.open("carol"), agents.open("bob")]
    agents.refused("dave")
    at(clock, "2026-02-08 12:10")
    for session in before:
        agents.log_out(session)

    # Thu 03-05: bob opens at the very instant alice logs out: never two at once.
    at(clock, "2026-03-05 08:00")
    alice = agents.open("alice")
    at(clock, "2026-03-05 08:20")
    agents.log_out(alice)
    bob = agents.open("bob")
    at(clock, "2026-03-05 08:40")
    agents.log_out(bob)

    # Sun 03-08 23:30 UTC is Mon 03-09 00:30 in Paris.
    at(clock, "2026-03-08 23:30")
    night = agents.open("bob")
    at(clock, "2026-03-08 23:45")
    agents.log_out(night)

    # Sat 03-07: alice and a Guest together.
    at(clock, "2026-03-07 18:00")
    pair = [agents.open("alice")]
    at(clock, "2026-03-07 18:05")
    pair.append(agents.open())
    at(clock, "2026-03-07 18:20")
    for session in pair:
        agents.log_out(session)

    # Today, 08:00 Paris: bob and carol open and are left to time out (30 minutes).
    at(clock, "2026-03-10 07:00")
    agents.open("bob")
    agents.open("carol")

    # Now (14:00 Paris): alice is working.
    clock.set(START)
    agents.open("alice")


# Each day's peak of concurrent sessions, in Paris days; every other day of the window is 0.
PEAKS = {
    date(2026, 2, 20): 1,  # the midnight session, before midnight
    date(2026, 2, 21): 1,  # ... and after it
    date(2026, 3, 3): 3,  # all three licenses
    date(2026, 3, 5): 1,  # back to back is not at once
    date(2026, 3, 7): 2,
    date(2026, 3, 9): 1,  # the 23:30 UTC session
    date(2026, 3, 10): 2,  # bob and carol this morning (till they timed out); alice now
}
DENIALS = {date(2026, 3, 3): 2}
# Daily Average: (1 + 1 + 3 + 1 + 2 + 1 + 2) / 30 days = 11 / 30 = 0.3666... shown as "0.37".
# Daily Max: 3 (03-03). Current: alice alone, "1 / 3".
DAILY_AVERAGE = 11 / 30


def test_figures_and_chart_match_the_history_worked_out_by_hand(
    page: Page, live_server: str, world: World, agents: Agents, clock: FrozenClock
) -> None:
    seed_history(agents, clock)
    days = [date(2026, 2, 9) + timedelta(days=n) for n in range(30)]
    assert days[-1] == date(2026, 3, 10)

    open_active_agents(page, live_server)
    expect(page.get_by_test_id("figure-current")).to_have_text("1 / 3")
    expect(page.get_by_test_id("figure-daily-average")).to_have_text("0.37")
    expect(page.get_by_test_id("figure-daily-max")).to_have_text("3")
    expect(page.get_by_test_id("cell-agent")).to_have_text(["alice"])

    usage = agents.usage()  # the API serves the same figures
    assert usage["daily_average"] == pytest.approx(round(DAILY_AVERAGE, 2))  # 0.37
    assert (usage["current"], usage["total"], usage["daily_max"]) == (1, 3, 3)
    refused_day = next(d for d in usage["days"] if d["date"] == "2026-03-03")
    assert (refused_day["minutes_at_cap"], refused_day["peak_demand"]) == (15, 5)
    assert usage["licenses_needed"] == 5
    advice = (
        "2 opens were refused on 1 day of the past 30; 5 licenses would have avoided every "
        "refusal (2 more than the 3 the account has)."
    )
    assert usage["advice"] == advice
    expect(page.get_by_test_id("capacity-advice")).to_have_text(advice)

    # One bar per day, oldest first, with its peak and denials.
    bars = page.get_by_test_id("chart-day")
    expect(bars).to_have_count(30)
    shown = bars.evaluate_all(
        "bars => bars.map(b => [b.dataset.date, +b.dataset.peak, +b.dataset.denials])"
    )
    assert shown == [[d.isoformat(), PEAKS.get(d, 0), DENIALS.get(d, 0)] for d in days]

    # A denial marker on 03-03 only.
    denied_day = page.locator('[data-testid="chart-day"][data-date="2026-03-03"]')
    expect(page.get_by_test_id("chart-denial")).to_have_count(1)
    expect(denied_day.get_by_test_id("chart-denial")).to_have_count(1)

    # The license line is drawn at 3: level with the top of a full day's bar, above the rest.
    line = page.get_by_test_id("chart-license-line")
    # A horizontal line has no height, which Playwright calls hidden: check it is drawn.
    box = line.bounding_box()
    assert box is not None
    assert box["width"] > 600
    stroke, stroke_width, visibility = line.evaluate(
        "l => { const s = getComputedStyle(l); return [s.stroke, s.strokeWidth, s.visibility]; }"
    )
    assert stroke != "none"
    assert float(stroke_width.removesuffix("px")) > 0
    assert visibility == "visible"
    line_y = float(line.get_attribute("y1") or "nan")
    assert float(denied_day.locator("rect.bar").get_attribute("y") or "nan") == line_y
    lower = page.locator('[data-testid="chart-day"][data-date="2026-03-07"] rect.bar')
    assert float(lower.get_attribute("y") or "nan") > line_y
    expect(page.locator("#chart-summary")).to_have_text(
        "Daily peak of concurrent sessions over 30 days: highest 3 of 3 licenses; "
        "1 day with denials."
    )

    # Hovering a day describes it.
    tooltip = page.get_by_test_id("chart-tooltip")
    expect(tooltip).to_have_text("")
    denied_day.hover()
    # All three licenses in use 09:00-09:15 UTC; dave and a Guest refused: 5 wanted.
    expect(tooltip).to_have_text(
        "Tue 03 Mar: peak 3 of 3, 2 denied, 15 min at the cap, 5 wanted at once"
    )

    # Focusing one too; the arrow keys (and Home, End) move between days.
    today = bars.last
    expect(today).to_have_attribute("tabindex", "0")
    today.focus()
    expect(tooltip).to_have_text("Tue 10 Mar: peak 2 of 3, no denials")
    page.keyboard.press("ArrowLeft")
    expect(bars.nth(28)).to_be_focused()
    expect(tooltip).to_have_text("Mon 09 Mar: peak 1 of 3, no denials")
    page.keyboard.press("Home")
    expect(bars.first).to_be_focused()
    expect(tooltip).to_have_text("Mon 09 Feb: peak 0 of 3, no denials")
    page.keyboard.press("ArrowLeft")  # nothing before the first day
    expect(bars.first).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(bars.nth(1)).to_be_focused()
    expect(tooltip).to_have_text("Tue 10 Feb: peak 0 of 3, no denials")
    page.keyboard.press("End")
    expect(today).to_be_focused()
    # Only the focused day is in the Tab order.
    expect(page.locator('[data-testid="chart-day"][tabindex="0"]')).to_have_count(1)
    expect(today).to_have_attribute("tabindex", "0")

    # Terminating alice's session: Current drops, today's peak stays.
    page.get_by_test_id("select-all").check()
    page.get_by_test_id("terminate").click()
    page.get_by_test_id("confirm-terminate").click()
    expect(page.get_by_test_id("status-message")).to_have_text("1 session terminated.")
    expect(page.get_by_test_id("figure-current")).to_have_text("0 / 3")
    expect(page.get_by_test_id("figure-daily-average")).to_have_text("0.37")
    expect(page.get_by_test_id("grid-empty")).to_be_visible()
    expect(bars.last).to_have_attribute("data-peak", "2")
