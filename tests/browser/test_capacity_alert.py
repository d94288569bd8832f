"""The capacity alert banner on the Active Agents page says how many licenses are in use
now, as the Current figure beside it does, and goes as use falls back, without a reload.

acme has 3 licenses; its alert levels here are 50% (raised at 2 sessions, cleared at 1)
and 100% (raised at 3, cleared at 2). The frozen clock is 14:00 in Paris."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage.db import Database
from tests.browser.conftest import Agents, open_active_agents
from tests.conftest import World, bearer
from tests.waiting import PATIENCE

RAISED_AT_3 = "Capacity alert: 100% level reached at 14:00 Tue 10 Mar (3 of 3 licenses); "
RAISED_AT_2 = "Capacity alert: 50% level reached at 14:00 Tue 10 Mar (2 of 3 licenses); "


def test_the_banner_shows_use_now_and_goes_when_terminations_take_use_below_it(
    page: Page, live_server: str, world: World, agents: Agents, db: Database, clock: FrozenClock
) -> None:
    change_settings(db, OPERATOR, "acme", SettingsChange(alert_levels=(50, 100)), now=clock.now())
    held = [agents.open() for _ in range(3)]
    open_active_agents(page, live_server)
    banner = page.get_by_test_id("capacity-alert")
    current = page.get_by_test_id("figure-current")
    expect(banner).to_have_text(RAISED_AT_3 + "3 of 3 in use now.")
    expect(current).to_have_text("3 / 3")

    # The admin terminates one from the page: 100% clears, 50% shows, with use now.
    page.get_by_test_id("select-row").first.check()
    page.get_by_test_id("terminate").click()
    page.get_by_test_id("confirm-terminate").click()
    expect(current).to_have_text("2 / 3")
    expect(banner).to_have_text(RAISED_AT_2 + "2 of 3 in use now.")

    # Live: another admin terminates one more through the API; the page hears of it and
    # the banner goes, as the 50% alert cleared in that termination's transaction.
    with page.expect_response(lambda r: "/active-agents/fragments?" in r.url):
        page.get_by_test_id("auto-refresh").check()
    expect(page.get_by_test_id("live-status")).to_have_text("Live")
    victim = next(s.session_id for s in held if s.session_id in agents.active_ids())
    httpx.post(
        f"{live_server}/api/v1/accounts/acme/active-sessions/terminate",
        json={"session_ids": [victim]},
        headers=bearer(world.admin_token),
        timeout=PATIENCE,
    ).raise_for_status()
    expect(current).to_have_text("1 / 3")
    expect(banner).to_have_count(0)
