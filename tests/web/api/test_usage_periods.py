"""Usage over any period through the API and its downloads: the period asked for, the
true-up table, and every wrong period refused with a sentence, changing nothing.

acme (3 licenses, Europe/Paris) was created 2026-01-09 at 14:00 Paris; today is Tuesday
2026-03-10. Its history, seeded through the agent API:
- Tue 2026-01-20, 10:00-10:25: alice, bob and carol (every license); dave refused at 10:10.
- Sat 2026-02-14, 11:00-11:25: alice.
- Fri 2026-02-27, 11:00-11:20: alice and bob.
- Tue 2026-03-03, 11:00-11:05: alice.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from seatkeeper.clock import FrozenClock
from seatkeeper.storage import tables
from seatkeeper.storage.db import Database
from tests.conftest import PASSWORD, START, World, bearer
from tests.web.api.test_agent import call, error_of, login, open_session

Client = TestClient[Litestar]
API = "/api/v1/accounts/acme"


def at(clock: FrozenClock, when: str) -> None:
    clock.set(datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=UTC))


@pytest.fixture
def history(client: Client, world: World, clock: FrozenClock) -> None:
    at(clock, "2026-01-20 09:00")
    full = [login(client, world, name) for name in ("alice", "bob", "carol")]
    at(clock, "2026-01-20 09:10")
    assert error_of(
        open_session(client, world.app_key, {"username": "dave", "password": PASSWORD})
    ) == (
        409,
        "license_limit_reached",
    )
    at(clock, "2026-01-20 09:25")
    for s in full:
        assert call(client, "DELETE", s["session_id"], s["token"]).status_code == 204
    for start, minutes, names in [
        ("2026-02-14 10:00", 25, ("alice",)),
        ("2026-02-27 10:00", 20, ("alice", "bob")),
        ("2026-03-03 10:00", 5, ("alice",)),
    ]:
        at(clock, start)
        opened = [login(client, world, name) for name in names]
        clock.advance(timedelta(minutes=minutes))
        for s in opened:
            assert call(client, "DELETE", s["session_id"], s["token"]).status_code == 204
    clock.set(START)


def usage(client: Client, query: str = "", token: str | None = None, path: str = "/usage") -> Any:
    return client.get(f"{API}{path}{query}", headers=bearer(token) if token else {})


def body_of(client: Client, world: World, query: str = "") -> dict[str, Any]:
    answer = usage(client, query, world.admin_token)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_the_default_period_answers_as_before_with_the_period_and_its_months(
    client: Client, world: World, history: None
) -> None:
    body = body_of(client, world)
    assert body == body_of(client, world, "?period=30d")
    assert len(body["days"]) == 30
    assert (body["days"][0]["date"], body["days"][-1]["date"]) == ("2026-02-09", "2026-03-10")
    assert (body["current"], body["total"], body["daily_max"]) == (0, 3, 2)
    assert body["daily_average"] == round(4 / 30, 2)
    assert body["advice"] == (
        "No open was refused in the past 30 days; at most 2 of the 3 licenses were in use at once."
    )
    assert body["period"] == {
        "first": "2026-02-09",
        "last": "2026-03-10",
        "name": "30d",
        "label": "the last 30 days",
        "by": "day",
    }
    assert [(m["month"], m["first"], m["last"], m["partial"]) for m in body["months"]] == [
        ("2026-02", "2026-02-09", "2026-02-28", True),
        ("2026-03", "2026-03-01", "2026-03-10", True),
    ]


def test_twelve_months_show_the_true_up_table(client: Client, world: World, history: None) -> None:
    body = body_of(client, world, "?period=12m")
    assert body["period"] == {
        "first": "2025-04-01",
        "last": "2026-03-10",
        "name": "12m",
        "label": "the last 12 months",
        "by": "month",
    }
    assert len(body["days"]) == 344
    # Over the period: 61 days since the account was created, peaks 3 + 1 + 2 + 1.
    assert (body["daily_max"], body["daily_average"], body["licenses_needed"]) == (
        3,
        round(7 / 61, 2),
        4,
    )
    assert body["current"] == 0
    assert body["advice"] == (
        "1 open was refused on 1 day over the last 12 months; 4 licenses would have avoided "
        "every refusal (1 more than the 3 the account has)."
    )
    months = body["months"]
    assert [m["month"] for m in months] == [f"2025-{m:02d}" for m in range(4, 13)] + [
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    assert all(not m["account_existed"] and m["peak"] == 0 for m in months[:9])
    assert months[9] == {
        "month": "2026-01",
        "first": "2026-01-01",
        "last": "2026-01-31",
        "partial": False,
        "peak": 3,
        "peak_date": "2026-01-20",
        "average_daily_peak": round(3 / 23, 2),  # from the 9th, when the account was created
        "minutes_at_cap": 25,
        "days_at_cap": 1,
        "denials": 1,
        "licenses_needed": 4,  # the three, and dave
        "account_existed": True,
        "overdraft_peak": 0,
        "overdraft_minutes": 0,
        "waited": 0,
        "longest_wait_seconds": None,
        "longest_seating_seconds": None,
    }
    february, march = months[10], months[11]
    assert (february["peak"], february["peak_date"], february["licenses_needed"]) == (
        2,
        "2026-02-27",
        2,
    )
    assert february["average_daily_peak"] == round(3 / 28, 2)
    assert (march["partial"], march["last"], march["peak"], march["average_daily_peak"]) == (
        True,
        "2026-03-10",
        1,
        0.1,
    )


def test_from_and_to_dates_in_the_account_zone_by_day_or_by_month(
    client: Client, world: World, history: None
) -> None:
    body = body_of(client, world, "?from=2026-01-15&to=2026-02-20")
    assert body["period"] == {
        "first": "2026-01-15",
        "last": "2026-02-20",
        "name": "custom",
        "label": "15 Jan 2026 to 20 Feb 2026",
        "by": "day",
    }
    assert len(body["days"]) == 37
    assert (body["daily_max"], body["licenses_needed"]) == (3, 4)
    assert body["advice"].startswith("1 open was refused on 1 day from 15 Jan 2026 to 20 Feb")
    assert [m["month"] for m in body["months"]] == ["2026-01", "2026-02"]
    by_month = body_of(client, world, "?from=2026-01-15&to=2026-02-20&by=month")
    assert by_month["period"]["by"] == "month"
    assert by_month["months"] == body["months"]
    assert body_of(client, world, "?period=12m&by=day")["period"]["by"] == "day"
    one_day = body_of(client, world, "?from=2026-03-10&to=2026-03-10")
    assert [d["date"] for d in one_day["days"]] == ["2026-03-10"]


def kept_days(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(tables.usage_days)).scalar_one())


HUGE = "9" * 100_000
REFUSED = [
    ("?period=7d", "invalid_period", "The period must be one of 30d, 90d, 12m"),
    ("?period=%3Cscript%3Ealert(1)%3C/script%3E", "invalid_period", "must be one of"),
    ("?period=" + HUGE, "invalid_period", "must be one of"),
    ("?period=30d&from=2026-01-01&to=2026-01-02", "invalid_period", "not both"),
    ("?from=2026-01-01", "invalid_period", "both from and to"),
    ("?to=2026-01-01", "invalid_period", "both from and to"),
    ("?from=2026-02-01&to=2026-01-01", "invalid_period", "must not be after the to date"),
    ("?from=2026-01-01&to=2026-03-11", "invalid_period", "not be after today (2026-03-10)"),
    ("?from=2026-02-30&to=2026-03-01", "invalid_period", "The from date must be a date"),
    ("?from=2026-01-01&to=%3Cb%3Ex%3C/b%3E", "invalid_period", "The to date must be a date"),
    ("?from=" + HUGE + "&to=2026-03-01", "invalid_period", "The from date must be a date"),
    ("?from=2026-W01-1&to=2026-03-01", "invalid_period", "The from date must be a date"),
    ("?from=2022-01-01&to=2026-03-01", "invalid_period", "at most 1096 days"),
    ("?by=week", "invalid_request", "by must be day or month"),
    ("?by=%3Cb%3E", "invalid_request", "by must be day or month"),
    ("?by=" + HUGE, "invalid_request", "by must be day or month"),
    ("?period=30d&period=12m", "invalid_request", "'period' is given more than once"),
    ("?from=2026-01-01&from=2026-01-02&to=2026-03-01", "invalid_request", "more than once"),
    ("?from=2026-01-01%00&to=2026-03-01", "invalid_request", "control characters"),
    ("?by=month%0A", "invalid_request", "control characters"),
]


@pytest.mark.parametrize("path", ["/usage", "/usage/export?format=json"])
@pytest.mark.parametrize(("query", "code", "sentence"), REFUSED, ids=[r[0][:40] for r in REFUSED])
def test_a_wrong_period_is_refused_saying_why_and_changes_nothing(
    client: Client,
    world: World,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    query: str,
    code: str,
    sentence: str,
) -> None:
    # The test client would refuse a 100 KB address itself; the server must be the one.
    monkeypatch.setattr(httpx._urlparse, "MAX_URL_LENGTH", 1_000_000)
    body_of(client, world)  # the last 30 days are kept
    before = kept_days(db)
    if "?" in path:
        path, query = path.split("?", maxsplit=1)[0], query + "&" + path.split("?")[1]
    answer = usage(client, query, world.admin_token, path)
    assert error_of(answer) == (400, code)
    message = answer.json()["error"]["message"]
    assert sentence in message
    assert "<" not in message and len(message) < 200
    assert kept_days(db) == before


@pytest.mark.parametrize("query", ["?period=12m", "?from=2026-01-01&to=2026-03-01&by=month"])
@pytest.mark.parametrize("path", ["/usage", "/usage/export"])
def test_role_and_account_are_checked_for_any_period(
    client: Client, world: World, query: str, path: str
) -> None:
    for token, expected in [
        (world.agent_token, (403, "not_allowed")),
        (world.designer_token, (403, "not_allowed")),
        (world.globex_admin_token, (404, "account_not_found")),
    ]:
        assert error_of(usage(client, query, token, path)) == expected
    assert error_of(usage(client, query, None, path))[0] == 401
    assert usage(client, query, world.super_token, path).status_code == 200
    # A wrong period from someone who may not look is refused for who they are.
    assert error_of(usage(client, "?period=7d", world.agent_token, path)) == (403, "not_allowed")


def csv_rows(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(answer.text)))


def test_the_true_up_table_downloads_as_csv_and_json(
    client: Client, world: World, history: None
) -> None:
    body = body_of(client, world, "?period=12m")
    answer = usage(client, "?period=12m", world.admin_token, "/usage/export")
    assert answer.headers["content-disposition"] == (
        'attachment; filename="acme-usage-2025-04-01-to-2026-03-10-by-month.csv"'
    )
    rows = csv_rows(answer)
    assert list(rows[0]) == [
        "month",
        "first_day",
        "last_day",
        "whole_month",
        "peak_concurrent",
        "peak_date",
        "average_daily_peak",
        "minutes_at_cap",
        "days_at_cap",
        "denials",
        "licenses_needed",
        "account_existed",
        "overdraft_peak",
        "overdraft_minutes",
        "waited",
        "longest_wait_seconds",
        "longest_seating_seconds",
    ]
    assert len(rows) == 12
    for row, month in zip(rows, body["months"], strict=True):
        assert row["month"] == month["month"]
        assert (row["first_day"], row["last_day"]) == (month["first"], month["last"])
        assert row["whole_month"] == str(not month["partial"]).lower()
        assert int(row["peak_concurrent"]) == month["peak"]
        assert row["peak_date"] == month["peak_date"]
        assert float(row["average_daily_peak"]) == month["average_daily_peak"]
        for key in (
            "minutes_at_cap",
            "days_at_cap",
            "denials",
            "licenses_needed",
            "overdraft_peak",
            "overdraft_minutes",
            "waited",
        ):
            assert int(row[key]) == month[key]
    assert rows[9]["peak_concurrent"] == "3" and rows[9]["licenses_needed"] == "4"
    as_json = usage(client, "?period=12m&format=json", world.admin_token, "/usage/export")
    assert as_json.json() == body
    assert as_json.headers["content-disposition"].endswith('-by-month.json"')


def test_a_custom_period_downloads_a_row_a_day_unless_asked_by_month(
    client: Client, world: World, history: None
) -> None:
    query = "?from=2026-01-19&to=2026-01-21"
    answer = usage(client, query, world.admin_token, "/usage/export")
    assert answer.headers["content-disposition"] == (
        'attachment; filename="acme-usage-2026-01-19-to-2026-01-21.csv"'
    )
    rows = csv_rows(answer)
    assert [(r["date"], r["max_concurrent"], r["denials"]) for r in rows] == [
        ("2026-01-19", "0", "0"),
        ("2026-01-20", "3", "1"),
        ("2026-01-21", "0", "0"),
    ]
    monthly = csv_rows(usage(client, query + "&by=month", world.admin_token, "/usage/export"))
    assert [(r["month"], r["whole_month"], r["peak_concurrent"]) for r in monthly] == [
        ("2026-01", "false", "3")
    ]
    default = usage(client, "", world.admin_token, "/usage/export")
    assert 'filename="acme-usage-2026-03-10.csv"' in default.headers["content-disposition"]
