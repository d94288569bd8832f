"""The demo account as an admin finds it: its alert levels, its keys, its users' last logins."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from seatkeeper.demo import DEFAULT_AGENTS, runner
from seatkeeper.demo.account import (
    ADMIN_PASSWORD,
    DEMO_ALERT_LEVELS,
    DEMO_LICENSES,
    DEMO_OPERATOR,
    DEMO_SLUG,
    DemoAccount,
    backfill_history,
    provision,
)
from seatkeeper.demo.history import DEMO_AGENTS, SIMULATED_AGENTS
from seatkeeper.domain import alerts
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.settings import change_settings
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions, users
from seatkeeper.web.presenters import MINUTES
from tests.web.pages.test_pages import log_in


def test_the_first_alert_level_is_above_the_live_crowd(demo: DemoAccount) -> None:
    assert demo.account.alert_levels == DEMO_ALERT_LEVELS == (80, 100)
    first = alerts.raised_at(min(DEMO_ALERT_LEVELS), DEMO_LICENSES)
    # The default crowd holds at most one license each: it never reaches the first level.
    assert first > DEFAULT_AGENTS


def test_an_earlier_demo_account_gets_the_new_levels(
    db: Database, passwords: Passwords, demo: DemoAccount, now: datetime
) -> None:
    change = SettingsChange(alert_levels=(40, 90, 100))  # what the demo once set
    change_settings(db, DEMO_OPERATOR, DEMO_SLUG, change, now=now)
    assert provision(db, passwords, now=now).account.alert_levels == DEMO_ALERT_LEVELS


def test_the_demo_says_its_token_is_new_at_each_run(
    demo: DemoAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    runner._announce(demo, base_url="http://h", named=SIMULATED_AGENTS[:2], guests=0, pause="p")
    printed = capsys.readouterr().out
    assert f"Admin API token    {demo.admin_token}\n" in printed
    assert "(a new one at each run: the previous run's no longer works)" in printed
    assert "  Capacity alerts    at 80% and 100% of the licenses\n" in printed


def last_logins(page: str) -> dict[str, str]:
    rows = re.findall(
        r'data-username="([^"]+)">.*?data-testid="cell-last-login">([^<]*)<', page, re.S
    )
    return dict(rows)


def test_the_users_page_shows_each_agents_latest_session_start_as_last_login(
    client: TestClient[Litestar], db: Database, demo: DemoAccount, now: datetime
) -> None:
    backfill_history(db, demo.account, now=now, seed=3)
    with db.read() as conn:
        latest = dict(
            conn.execute(
                select(users.c.username, func.max(agent_sessions.c.started_at))
                .join(agent_sessions, agent_sessions.c.user_id == users.c.id)
                .group_by(users.c.username)
            ).all()
        )
    assert set(latest) == set(DEMO_AGENTS)  # every agent worked in those 30 days
    assert log_in(client, "admin", account=DEMO_SLUG, password=ADMIN_PASSWORD).status_code == 303
    shown = last_logins(client.get(f"/accounts/{DEMO_SLUG}/users").text)
    zone = demo.account.zone
    expected = {
        name: started.replace(tzinfo=started.tzinfo or UTC).astimezone(zone).strftime(MINUTES)
        for name, started in latest.items()
    }
    assert {name: shown[name] for name in expected} == expected
    assert shown["admin"] == now.astimezone(zone).strftime(MINUTES)  # the login just made
