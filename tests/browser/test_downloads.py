"""The Active Agents page's download links, clicked in a real browser."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Agents, open_active_agents
from tests.conftest import World


def test_the_grid_and_the_usage_download_from_the_page(
    page: Page, live_server: str, world: World, agents: Agents, tmp_path: Path
) -> None:
    alice = agents.open("alice")
    agents.interaction(alice, "Password Reset")
    agents.open()  # a Guest
    open_active_agents(page, live_server)
    expect(page.get_by_test_id("grid-downloads")).to_contain_text("Download all 2 open sessions")

    with page.expect_download() as grid_download:
        page.get_by_test_id("grid-csv").click()
    saved = tmp_path / grid_download.value.suggested_filename
    grid_download.value.save_as(saved)
    assert saved.name.startswith("acme-active-sessions-") and saved.suffix == ".csv"
    with saved.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["agent_id"] for r in rows} == {"alice", ""}
    assert (
        next(r for r in rows if r["agent_id"] == "alice")["open_interactions"] == "Password Reset"
    )

    with page.expect_download() as usage_download:
        page.get_by_test_id("usage-json").click()
    saved = tmp_path / usage_download.value.suggested_filename
    usage_download.value.save_as(saved)
    usage = json.loads(saved.read_text())
    assert (usage["account"], usage["current"], len(usage["days"])) == ("acme", 2, 30)
