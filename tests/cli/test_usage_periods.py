"""`seatkeeper usage` over any period, by day or by month, as a table, CSV or JSON: on the
database and through a server, the same; a wrong period is a usage error (exit 2) that
changes nothing.

The command reads the real clock, so the history is seeded relative to today (in acme's
zone, Europe/Paris): alice and bob together for 20 minutes on the 15th of last month.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from seatkeeper.clock import FrozenClock, SystemClock
from seatkeeper.config import Settings
from seatkeeper.services import agents
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage import tables
from seatkeeper.storage.db import Database
from seatkeeper.web.api.export import MONTH_HEADER
from seatkeeper.web.app import create_app
from tests.cli.test_operator import seatkeeper
from tests.conftest import PASSWORD, World
from tests.servers import served

PARIS = ZoneInfo("Europe/Paris")


def today() -> date:
    return SystemClock().now().astimezone(PARIS).date()


def last_months_15th() -> date:
    first = today().replace(day=1)
    return (first - timedelta(days=1)).replace(day=15)


@pytest.fixture
def history(db: Database, passwords: Passwords, world: World) -> date:
    day = last_months_15th()
    clock = FrozenClock(datetime.combine(day, time(10), PARIS).astimezone(UTC))
    opened = [
        agents.open_session(
            db, passwords, application_key=world.app_key, credentials=(name, PASSWORD), clock=clock
        )
        for name in ("alice", "bob")
    ]
    clock.advance(timedelta(minutes=20))
    for s in opened:
        agents.logout(db, token=s.token, session_id=str(s.session.id), clock=clock)
    return day


def run(db_url: str, *args: str) -> str:
    done = seatkeeper("usage", "acme", *args, db_url=db_url)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_twelve_months_print_the_true_up_table(db_url: str, history: date) -> None:
    lines = run(db_url, "--period", "12m").splitlines()
    assert lines[0].startswith("acme: monthly peaks over the last 12 months: ")
    assert lines[2].split() == [
        "MONTH",
        "DAYS",
        "PEAK",
        "ON",
        "AVG",
        "PEAK",
        "MIN",
        "AT",
        "CAP",
        "OVER",
        "PEAK",
        "OVER",
        "MIN",
        "REFUSED",
        "NEEDED",
    ]
    months = [line.split() for line in lines if line[:4].isdigit()]
    assert len(months) == 12
    assert months[-1][0] == f"{today():%Y-%m}" and months[-1][2] == "only"
    peak = next(m for m in months if m[0] == f"{history:%Y-%m}")
    assert peak[2:4] == ["2", history.isoformat()]  # 1-30 (or 31), peak 2, on the 15th
    assert lines[-1].startswith("No open was refused over the last 12 months; at most 2 of")


def test_the_true_up_table_shows_the_use_beyond_the_licenses(db_url: str, history: date) -> None:
    done = seatkeeper("accounts", "set", "acme", "--licenses", "1", db_url=db_url)
    assert done.returncode == 0, done.stderr
    lines = run(db_url, "--period", "12m").splitlines()
    peak = next(line.split() for line in lines if line.startswith(f"{history:%Y-%m}"))
    # MONTH DAYS PEAK ON AVG-PEAK MIN-AT-CAP OVER-PEAK OVER-MIN REFUSED NEEDED: two agents
    # for 20 minutes against one license are one session beyond it for 20 minutes.
    assert peak[2:4] == ["2", history.isoformat()]
    assert peak[6:8] == ["1", "20"]
    quiet = next(line.split() for line in lines if line.startswith(f"{today():%Y-%m}"))
    assert quiet[7:9] == ["0", "0"]  # this month: its DAYS column has two words ("1-n only")


def test_by_month_as_csv_and_json_say_the_same(db_url: str, history: date) -> None:
    first = history.replace(day=1).isoformat()
    query = ("--from", first, "--to", today().isoformat(), "--by", "month")
    rows = list(csv.DictReader(io.StringIO(run(db_url, *query, "--format", "csv"))))
    body = json.loads(run(db_url, *query, "--format", "json"))
    assert body["period"] == {
        "first": first,
        "last": today().isoformat(),
        "name": "custom",
        "label": body["period"]["label"],
        "by": "month",
    }
    assert list(rows[0]) == list(MONTH_HEADER)
    assert [(r["month"], int(r["peak_concurrent"]), r["peak_date"]) for r in rows] == [
        (m["month"], m["peak"], m["peak_date"]) for m in body["months"]
    ]
    assert rows[0]["peak_concurrent"] == "2" and rows[0]["whole_month"] == "true"
    by_day = list(csv.DictReader(io.StringIO(run(db_url, *query[:4], "--format", "csv"))))
    assert [r["max_concurrent"] for r in by_day if r["date"] == history.isoformat()] == ["2"]
    assert len(by_day) == (today() - history.replace(day=1)).days + 1
    chart = run(db_url, *query[:4])  # a line a day
    assert f"{history.isoformat()}  " in chart and "days in Europe/Paris" in chart.splitlines()[0]


def kept_days(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(tables.usage_days)).scalar_one())


TOMORROW = (today() + timedelta(days=1)).isoformat()
WRONG = [
    (("--period", "7d"), "'7d' is not one of '30d', '90d', '12m'"),
    (("--by", "week"), "'week' is not one of 'day', 'month'"),
    (("--format", "xml"), "'xml' is not one of"),
    (("--from", "2026-02-30", "--to", "2026-03-01"), "The from date must be a date as YYYY"),
    (("--from", "<script>", "--to", "2026-03-01"), "The from date must be a date as YYYY"),
    (("--from", "2026-01-01"), "Give both from and to dates"),
    (("--period", "30d", "--from", "2026-01-01", "--to", "2026-01-02"), "not both"),
    (("--from", "2026-01-01", "--to", TOMORROW), "The to date must not be after today"),
]


def test_a_wrong_period_is_a_usage_error_that_changes_nothing(
    db_url: str, db: Database, world: World
) -> None:
    run(db_url)  # the last 30 days are kept
    before = kept_days(db)
    for args, sentence in WRONG:
        done = seatkeeper("usage", "acme", *args, db_url=db_url)
        assert done.returncode == 2, (args, done.stderr)
        assert sentence in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert kept_days(db) == before


def test_the_same_through_a_server(
    settings: Settings, db: Database, db_url: str, world: World, history: date
) -> None:
    on_db = json.loads(run(db_url, "--period", "90d", "--json"))
    csv_on_db = run(db_url, "--period", "12m", "--format", "csv")
    with served(create_app(settings, clock=SystemClock(), database=db)) as url:
        remote = {"SEATKEEPER_SERVER_URL": url, "SEATKEEPER_TOKEN": world.admin_token}

        def over_http(*args: str) -> Any:
            return seatkeeper("usage", "acme", *args, env=remote)

        through = json.loads(over_http("--period", "90d", "--format", "json").stdout)
        assert {**through, "as_of": None} == {**on_db, "as_of": None}
        assert over_http("--period", "12m", "--format", "csv").stdout == csv_on_db
        table = over_http("--period", "12m").stdout
        assert table.startswith("acme: monthly peaks over the last 12 months")
        wrong = over_http("--from", "2026-01-01", "--to", TOMORROW)
        assert wrong.returncode == 2
        assert "The to date must not be after today" in wrong.stderr
        foreign = seatkeeper("usage", "globex", "--period", "12m", env=remote)
        assert foreign.returncode == 1 and "404: " in foreign.stderr
