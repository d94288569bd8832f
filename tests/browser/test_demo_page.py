"""The demo in a browser: paused simulated agents leave the Active Agents grid empty."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from seatkeeper.clock import FrozenClock
from seatkeeper.demo import simulation as simulated
from seatkeeper.demo.account import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    AGENT_PASSWORD,
    DEMO_SLUG,
    provision,
)
from seatkeeper.demo.history import SIMULATED_AGENTS
from seatkeeper.demo.simulation import Simulation
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database
from tests.waiting import PATIENCE, wait_until

ACTIVE_AGENTS = f"/accounts/{DEMO_SLUG}/active-agents"


def log_in_as_demo_admin(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/login?next={ACTIVE_AGENTS}")
    page.get_by_test_id("login-account").fill(DEMO_SLUG)
    page.get_by_test_id("login-username").fill(ADMIN_USERNAME)
    page.get_by_test_id("login-password").fill(ADMIN_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(f"{live_server}{ACTIVE_AGENTS}")


def shown_after_reload(page: Page) -> int:
    """The grid's rows as the server renders them now."""
    page.reload()
    return page.get_by_test_id("grid-row").count()


def test_paused_agents_leave_the_grid_empty_until_resumed(
    page: Page,
    live_server: str,
    db: Database,
    passwords: Passwords,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(simulated, "HTTP_TIMEOUT_SECONDS", PATIENCE)  # a busy machine is slow
    demo = provision(db, passwords, now=clock.now())
    simulation = Simulation(
        live_server,
        demo.application_key,
        agents=[(name, AGENT_PASSWORD) for name in SIMULATED_AGENTS[:2]],
        guests=1,
        seed=3,
        speed=50,
    )
    simulation.start()
    try:
        log_in_as_demo_admin(page, live_server)
        wait_until(lambda: shown_after_reload(page) > 0, "the agents on the grid")
        rows = page.get_by_test_id("grid-row")
        simulation.pause()
        wait_until(lambda: simulation.parked == 3, "every simulated agent to log out")
        page.get_by_test_id("refresh").click()
        expect(page.get_by_test_id("grid-empty")).to_have_text(
            "There are currently no Agents connected."
        )
        expect(rows).to_have_count(0)
        simulation.resume()
        wait_until(lambda: shown_after_reload(page) > 0, "the agents back on the grid")
    finally:
        simulation.stop(timeout=PATIENCE)
