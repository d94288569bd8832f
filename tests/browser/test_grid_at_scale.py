"""The Active Agents page with 10,000 open sessions: a page of rows at a time, search, sort."""

from __future__ import annotations

import random
from datetime import timedelta
from uuid import uuid4

from playwright.sync_api import Page, expect
from sqlalchemy import insert

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions, interactions, users
from tests.browser.conftest import open_active_agents
from tests.conftest import World

SESSIONS = 10_000
INTERACTIONS = 30_000
FLOWS = ["Password Reset", "Billing Dispute", "New Order", "Address Change", "Refund Request"]


def seed(db: Database, world: World, clock: FrozenClock) -> None:
    """10,000 open sessions (9,000 agents, 1,000 Guests) and 30,000 open interactions."""
    rng = random.Random(7)
    now = clock.now()
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=20_000), now=now)
    with db.write() as conn:
        conn.execute(
            insert(users),
            [
                {
                    "account_id": world.acme.id,
                    "username": f"agent{n:05}",
                    "username_key": f"agent{n:05}",
                    "password_hash": "x",
                    "role": "agent",
                    "created_at": now,
                }
                for n in range(9_000)
            ],
        )
        ids = dict(
            conn.execute(users.select().with_only_columns(users.c.username, users.c.id)).all()
        )
        sessions = [
            {
                "id": uuid4(),
                "account_id": world.acme.id,
                "user_id": ids[f"agent{n:05}"] if n < 9_000 else None,
                "started_at": now - timedelta(seconds=n),
                "last_activity_at": now,
                "expires_at": now + timedelta(hours=8),
            }
            for n in range(SESSIONS)
        ]
        conn.execute(insert(agent_sessions), sessions)
        conn.execute(
            insert(interactions),
            [
                {
                    "id": uuid4(),
                    "session_id": rng.choice(sessions)["id"],
                    "flow": rng.choice(FLOWS),
                    "opened_at": now,
                }
                for _ in range(INTERACTIONS)
            ],
        )


def test_ten_thousand_sessions_are_shown_a_page_at_a_time(
    page: Page, live_server: str, world: World, db: Database, clock: FrozenClock
) -> None:
    seed(db, world, clock)
    open_active_agents(page, live_server)
    rows = page.get_by_test_id("grid-row")
    expect(rows).to_have_count(50)  # not a 10,000-row page
    expect(page.get_by_test_id("pager-status")).to_have_text("1–50 of 10,000")
    expect(page.get_by_test_id("figure-current")).to_have_text("10000 / 20000")
    expect(page.get_by_test_id("cell-agent").first).to_have_text("Guest")  # the newest first

    page.get_by_test_id("pager-next").click()
    expect(page.get_by_test_id("pager-status")).to_have_text("51–100 of 10,000")
    expect(page.get_by_test_id("pager-page")).to_have_text("Page 2 of 200")
    expect(rows).to_have_count(50)

    page.get_by_test_id("sort-open_interactions_count").click()
    page.get_by_test_id("sort-open_interactions_count").click()  # the busiest first
    expect(page.get_by_test_id("pager-page")).to_have_text("Page 1 of 200")
    header = page.locator("th").filter(has=page.get_by_test_id("sort-open_interactions_count"))
    expect(header).to_have_attribute("aria-sort", "descending")
    counts = [int(c) for c in page.get_by_test_id("cell-count").all_inner_texts()]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 8

    page.get_by_test_id("grid-search").fill("agent04242")
    expect(rows).to_have_count(1)
    expect(page.get_by_test_id("cell-agent")).to_have_text("agent04242")
    expect(page.get_by_test_id("pager-status")).to_have_text("1–1 of 1 matching “agent04242”")

    page.get_by_test_id("grid-search").fill("refund")
    expect(page.get_by_test_id("pager-status")).to_contain_text("matching “refund”")
    flows = page.get_by_test_id("cell-flows").all_inner_texts()
    assert flows and all("Refund Request" in f for f in flows)
    count_rows = "() => document.querySelectorAll('[data-testid=grid] tr').length"
    assert page.evaluate(count_rows) <= 51  # a page of 50 and the header
