"""The seat groups on the pages: the grid's Group column and filter on Active Agents, and
the Usage Report of one group; group ids that are not the account's are refused."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlparse

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.storage.db import Database
from tests.conftest import World
from tests.grid_groups import add_group, seed_groups, session_in
from tests.web.pages.test_pages import everything, log_in
from tests.web.pages.test_usage_report import texts_of

Client = TestClient[Litestar]
AGENTS = "/accounts/acme/active-agents"
REPORT = "/accounts/acme/usage-report"


@pytest.fixture
def groups(db: Database, world: World, clock: FrozenClock) -> dict[str, int]:
    return seed_groups(db, world, clock.now())


@pytest.fixture
def admin(client: Client, world: World) -> Client:
    log_in(client, "admin")
    return client


def options(page: str, testid: str) -> list[tuple[str, str, bool]]:
    """The select's options: value, text, whether selected."""
    select = re.search(rf'data-testid="{testid}".*?</select>', page, re.S)
    assert select is not None
    return [
        (value, html.unescape(text).strip(), bool(chosen))
        for value, chosen, text in re.findall(
            r'<option value="([^"]*)"\s*(selected)?>([^<]*)</option>', select.group(0)
        )
    ]


def href(page: str, testid: str) -> dict[str, list[str]]:
    """The query of the one link with this data-testid."""
    (tag,) = re.findall(rf'<a [^>]*data-testid="{testid}"[^>]*>', page)
    found = re.search(r'href="([^"]*)"', tag)
    assert found is not None
    return parse_qs(urlparse(html.unescape(found.group(1))).query)


def test_the_grid_has_a_group_column_and_a_select_of_the_groups(
    admin: Client, groups: dict[str, int]
) -> None:
    page = admin.get(AGENTS).text
    assert texts_of(page, "header-group") == ["Group"]
    cells = re.findall(r'data-testid="cell-group">(.*?)</td>', page)
    assert [re.sub(r"<[^>]+>", "", c).strip() for c in cells] == [
        "Billing reserved",
        "Billing",
        "Guests",
        "",
    ]
    assert page.count('data-testid="reserved"') == 1
    billing, guests = str(groups["billing"]), str(groups["guests"])
    assert options(page, "grid-group") == [
        ("", "All groups", False),
        (billing, "Billing", False),
        (guests, "Guests", False),
    ]


def test_the_grid_of_one_group_keeps_it_in_its_links(admin: Client, groups: dict[str, int]) -> None:
    billing = str(groups["billing"])
    page = admin.get(AGENTS, params={"group": billing, "q": "b"}).text
    assert page.count('data-testid="grid-row"') == 1  # bob: Billing's, and matching "b"
    assert ("", "All groups", False) in options(page, "grid-group")
    assert (billing, "Billing", True) in options(page, "grid-group")
    assert f'data-group="{billing}"' in page
    for link in ("sort-agent_id", "grid-csv", "period-90d"):
        assert href(page, link)["group"] == [billing], link
    assert texts_of(page, "grid-downloads")[0].startswith("Download the 1 matching session:")
    fragments = admin.get(f"{AGENTS}/fragments", params={"group": billing}).text
    assert fragments.count('data-testid="grid-row"') == 2


def test_an_account_without_groups_shows_no_select(admin: Client, world: World) -> None:
    page = admin.get(AGENTS).text
    assert 'data-testid="grid-group"' not in page
    assert texts_of(page, "header-group") == ["Group"]


@pytest.mark.parametrize("path", [AGENTS, f"{AGENTS}/fragments", REPORT])
@pytest.mark.parametrize("value", ["<b>x</b>", "1.5", "theirs"])
def test_a_group_not_of_the_account_is_refused_on_the_pages(
    admin: Client, db: Database, groups: dict[str, int], path: str, value: str
) -> None:
    before = everything(db)
    asked = str(groups["theirs"]) if value == "theirs" else value
    answer = admin.get(path, params={"group": asked})
    assert answer.status_code == 400
    assert "<b>x</b>" not in answer.text
    if value == "theirs":
        assert f"The account acme has no seat group {asked}." in answer.text
    else:
        assert "The group must be a seat group&#39;s id, a number" in answer.text
    assert everything(db) == before


def test_the_usage_report_of_one_group(admin: Client, groups: dict[str, int]) -> None:
    whole = admin.get(REPORT).text
    assert 'data-testid="usage-group-note"' not in whole
    assert options(whole, "usage-group")[0] == ("", "The whole account", False)
    guests = str(groups["guests"])
    page = admin.get(REPORT, params={"group": guests, "period": "90d"}).text
    assert "Acme Support · Guests" in page
    assert texts_of(page, "usage-group-note")[0].startswith(
        "The figures of the sessions that counted under Guests"
    )
    assert texts_of(whole, "figure-current") == ["4 / 3 (+1 over)"]
    assert texts_of(page, "figure-current") == ["1 / 3"]
    assert (guests, "Guests", True) in options(page, "usage-group")
    for link in ("usage-csv", "trueup-json"):
        assert (href(page, link)["group"], href(page, link)["period"]) == ([guests], ["90d"])
    assert href(page, "period-12m")["group"] == [guests]
    form = re.search(r'data-testid="usage-group-form">.*?</form>', page, re.S)
    assert form is not None and 'name="period" value="90d"' in form.group(0)


def test_a_group_named_with_markup_is_shown_as_text(
    admin: Client, db: Database, world: World, clock: FrozenClock
) -> None:
    name = '<img src=x onerror="alert(1)">'
    hostile = add_group(db, world.acme.id, name, now=clock.now())
    session_in(db, world.acme.id, None, started=clock.now(), group_id=hostile)
    for page in (admin.get(AGENTS).text, admin.get(REPORT, params={"group": hostile}).text):
        assert "<img" not in page
        assert "&lt;img src=x onerror=" in page and name in html.unescape(page)
