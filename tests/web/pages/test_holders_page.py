"""The License Holders page: for the account's admins, in the Account menu, and bad
periods or sorts refused on a page that says why."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient

from tests.conftest import World
from tests.web.pages.test_pages import log_in

Client = TestClient[Litestar]
PAGE = "/accounts/acme/holders"


def test_admins_find_it_in_the_account_menu_and_others_are_refused(
    client: Client, world: World
) -> None:
    log_in(client, "alice")
    refused = client.get(PAGE)
    assert refused.status_code == 403
    assert 'data-testid="nav-holders"' not in refused.text
    client.cookies.clear()
    log_in(client, "admin")
    home = client.get("/accounts/acme/active-agents")
    assert f'href="{PAGE}" data-testid="nav-holders"' in home.text
    shown = client.get(PAGE)
    assert shown.status_code == 200
    assert 'data-testid="waste-hint">No session held a license in this period.<' in shown.text
    assert "No session held a license over the last 30 days." in shown.text
    assert client.get("/accounts/globex/holders").status_code == 404


def test_bad_periods_and_sorts_are_refused_with_a_sentence(client: Client, world: World) -> None:
    log_in(client, "admin")
    for query, sentence in (
        ("from=2026-03-05&to=2026-03-01", "The from date must not be after the to date."),
        ("period=<b>x</b>", "The period must be one of 30d, 90d, 12m"),
        ("sort=<i>agent</i>", "The holders can be sorted by agent, license_hours"),
        ("from=1900-01-01&to=1900-01-02", "The from date must not be before 2000-01-01."),
    ):
        answer = client.get(f"{PAGE}?{query}")
        assert answer.status_code == 400, query
        assert sentence in answer.text, query
        assert "<b>x" not in answer.text and "<i>agent" not in answer.text
