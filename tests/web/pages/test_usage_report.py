"""The usage pages over HTTP: the period picker on Active Agents and the Usage Report, the
monthly graph, the true-up table, who may see them, and a period that cannot be.

The history is the one tests/web/api/test_usage_periods.py seeds (acme, 3 licenses,
Europe/Paris; today Tuesday 2026-03-10): every license and a refusal on 2026-01-20,
peaks of 1 on 02-14 and 03-03, of 2 on 02-27.
"""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.domain.trueup import months
from seatkeeper.domain.usage import DayUsage
from seatkeeper.storage.db import Database
from seatkeeper.web.pages import views
from tests.conftest import World
from tests.web.api.test_overdraft_usage import overdrawn  # noqa: F401 (a fixture)
from tests.web.api.test_usage_periods import history, kept_days  # noqa: F401 (a fixture)
from tests.web.pages.test_pages import log_in

Client = TestClient[Litestar]
AGENTS = "/accounts/acme/active-agents"
REPORT = "/accounts/acme/usage-report"


def texts_of(page: str, testid: str) -> list[str]:
    """The text of each element with this data-testid (its first line)."""
    found = re.findall(rf'data-testid="{testid}"[^>]*>([^<]*)<', page)
    return [html.unescape(text).strip() for text in found]


def attrs(page: str, testid: str, name: str) -> list[str]:
    return re.findall(rf'data-testid="{testid}"[^>]*?{name}="([^"]*)"', page)


@pytest.fixture
def admin(client: Client, world: World) -> Client:
    log_in(client, "admin")
    return client


@pytest.mark.usefixtures("history")
def test_active_agents_shows_the_last_30_days_by_default_with_the_picker(admin: Client) -> None:
    page = admin.get(AGENTS).text
    assert texts_of(page, "usage-title") == ["License usage, last 30 days"]
    assert page.count('data-testid="chart-day"') == 30
    assert 'data-testid="chart-month"' not in page
    assert re.search(r'data-testid="period-30d"\s+aria-current="true"', page)
    assert not re.search(r'data-testid="period-12m"\s+aria-current', page)
    # The picker keeps the grid's own parameters.
    assert 'href="?sort=session_start&amp;order=asc&amp;period=12m"' in page
    assert texts_of(page, "figure-average-period") == ["· last 30 days"]
    assert texts_of(page, "figure-max-period") == ["· last 30 days"]
    assert '<details class="period-dates" data-testid="period-dates"\n' in page  # closed


@pytest.mark.usefixtures("history")
def test_twelve_months_draw_a_bar_a_month_and_keep_the_grid_order(admin: Client) -> None:
    page = admin.get(f"{AGENTS}?sort=agent_id&order=desc&period=12m").text
    assert texts_of(page, "usage-title") == ["License usage, last 12 months"]
    assert 'data-testid="chart-day"' not in page
    assert attrs(page, "chart-month", "data-date") == [
        *(f"2025-{m:02d}" for m in range(4, 13)),
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    assert attrs(page, "chart-month", "data-peak")[-3:] == ["3", "2", "1"]
    assert 'data-step="month"' in page
    assert "Monthly peak of concurrent sessions over 12 months: highest 3 of 3" in page
    jan = re.search(r'data-date="2026-01"[^>]*data-description="([^"]*)"', page)
    assert jan is not None
    assert html.unescape(jan.group(1)) == (
        "Jan 2026: peak 3 of 3 on Tue 20 Jan, 1 day at the cap, 1 denied, 4 licenses needed"
    )
    assert 'href="?sort=agent_id&amp;order=desc"' in page  # back to 30 days, same order
    assert 'data-period-query="period=12m"' in page
    assert '<input type="hidden" name="sort" value="agent_id">' in page
    assert "usage/export?format=csv&amp;period=12m" in page
    assert texts_of(page, "figure-daily-max") == ["3"]
    fragments = admin.get(f"{AGENTS}/fragments?sort=agent_id&order=desc&period=12m").text
    assert fragments.count('data-testid="chart-month"') == 12
    assert texts_of(fragments, "usage-title") == ["License usage, last 12 months"]


@pytest.mark.usefixtures("history")
def test_a_period_that_cannot_be_is_told_on_the_page_over_the_last_30_days(
    admin: Client, db: Database
) -> None:
    admin.get(AGENTS)
    before = kept_days(db)
    for path in (AGENTS, REPORT, f"{AGENTS}/fragments"):
        answer = admin.get(f"{path}?from=2026-03-05&to=2026-03-01")
        assert answer.status_code == (200 if path.endswith("fragments") else 400)
        assert texts_of(answer.text, "period-error") == [
            "The from date must not be after the to date. Showing the last 30 days."
        ]
        assert answer.text.count('data-testid="chart-day"') == 30
    for query in ("?period=%3Cscript%3E", "?from=" + "9" * 5000 + "&to=2026-03-01"):
        answer = admin.get(f"{REPORT}{query}")
        assert answer.status_code == 400
        assert "<script>" not in answer.text
        assert texts_of(answer.text, "period-error")
    assert kept_days(db) == before


@pytest.mark.usefixtures("history")
def test_the_usage_report_shows_the_true_up_table(admin: Client) -> None:
    home = admin.get("/").text
    assert 'href="/accounts/acme/usage-report" data-testid="nav-usage-report"' in home
    page = admin.get(f"{REPORT}?from=2026-01-15&to=2026-03-10").text
    assert re.search(r'data-testid="nav-usage-report"\s+aria-current="page"', page)
    assert texts_of(page, "usage-title") == ["License usage, 15 Jan 2026 to 10 Mar 2026"]
    assert re.search(r'data-testid="period-custom"\s+aria-current="true"', page)
    assert texts_of(page, "period-custom") == ["15 Jan 2026 to 10 Mar 2026"]
    assert 'value="2026-01-15" max="2026-03-10"' in page
    assert texts_of(page, "trueup-month") == ["Jan 2026", "Feb 2026", "Mar 2026"]
    assert texts_of(page, "trueup-days") == ["15–31 Jan only", "All 28", "1–10 Mar only"]
    assert texts_of(page, "trueup-peak") == ["3", "2", "1"]
    assert texts_of(page, "trueup-peak-day") == ["Tue 20 Jan", "Fri 27 Feb", "Tue 03 Mar"]
    assert texts_of(page, "trueup-average") == ["0.18", "0.11", "0.1"]  # 3/17, 3/28, 1/10
    assert texts_of(page, "trueup-minutes-at-cap") == ["25", "0", "0"]
    assert texts_of(page, "trueup-refusals") == ["1", "0", "0"]
    assert texts_of(page, "trueup-needed") == ["4", "2", "1"]
    assert texts_of(page, "trueup-overdraft-peak") == ["0", "0", "0"]
    assert texts_of(page, "trueup-overdraft-minutes") == ["0", "0", "0"]
    assert "usage/export?format=csv&amp;by=month&amp;from=2026-01-15&amp;to=2026-03-10" in page
    assert 'id="timeout-waste"' in page


@pytest.mark.usefixtures("history")
def test_a_month_without_sessions_or_before_the_account_shows_dashes(admin: Client) -> None:
    page = admin.get(f"{REPORT}?period=12m").text
    assert texts_of(page, "trueup-peak-day")[0] == "–"
    assert texts_of(page, "trueup-needed")[0] == "–"  # April 2025: before the account
    assert page.count('data-testid="trueup-row"') == 12


@pytest.mark.usefixtures("overdrawn")
def test_the_true_up_table_shows_the_use_beyond_the_licenses(admin: Client) -> None:
    page = admin.get(f"{REPORT}?from=2026-02-01&to=2026-03-10").text
    assert '<th scope="col" class="num">Overdraft peak</th>' in page
    assert '<th scope="col" class="num">Overdraft minutes</th>' in page
    assert texts_of(page, "trueup-month") == ["Feb 2026", "Mar 2026"]
    # One beyond the license for 25 minutes on the 14th, two for 20 on the 27th.
    assert texts_of(page, "trueup-overdraft-peak") == ["2", "0"]
    assert texts_of(page, "trueup-overdraft-minutes") == ["65", "0"]


def test_an_overdraft_not_known_shows_a_dash() -> None:
    (month,) = months(
        [
            DayUsage(
                date(2026, 1, 5),
                4,
                0,
                account_existed=True,
                overdraft_peak=1,
                overdraft_minutes=None,
            )
        ]
    )
    row = views.trueup_row(month)
    assert (row.overdraft_peak, row.overdraft_minutes) == (1, "–")


@pytest.mark.parametrize(
    ("username", "account", "status"),
    [("alice", "acme", 403), ("dan", "acme", 403), ("gadmin", "globex", 404)],
)
def test_the_usage_report_checks_role_and_account(
    client: Client, world: World, username: str, account: str, status: int
) -> None:
    log_in(client, username, account=account)
    answer = client.get(f"{REPORT}?period=12m")
    assert answer.status_code == status
    assert f'data-testid="error-{status}"' in answer.text
    assert 'data-testid="trueup-table"' not in answer.text
    # A wrong period does not tell more than who they are.
    assert client.get(f"{REPORT}?period=7d").status_code == status


def test_a_super_admin_sees_any_accounts_report(client: Client, world: World) -> None:
    log_in(client, "root", account="ops")
    answer: Any = client.get("/accounts/globex/usage-report?period=90d")
    assert answer.status_code == 200
    assert texts_of(answer.text, "usage-title") == ["License usage, last 90 days"]
