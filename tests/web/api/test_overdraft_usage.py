"""Use beyond the licenses through the usage API, its downloads and its documentation.

acme (Europe/Paris) ends with 1 license, lowered while sessions held more (lowering the
total terminates no one); the figures count against it:
- Sat 2026-02-14, 11:00-11:25 Paris: alice and bob, one beyond the license for 25 minutes.
- Fri 2026-02-27, 11:00-11:20 Paris: alice, bob and carol, two beyond it for 20 minutes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage.db import Database
from tests.conftest import START, World
from tests.web.api.test_agent import call, login
from tests.web.api.test_usage_periods import Client, at, body_of, csv_rows, usage

FEBRUARY = "?from=2026-02-01&to=2026-03-10"


@pytest.fixture
def overdrawn(client: Client, world: World, clock: FrozenClock, db: Database) -> None:
    for start, minutes, names in [
        ("2026-02-14 10:00", 25, ("alice", "bob")),
        ("2026-02-27 10:00", 20, ("alice", "bob", "carol")),
    ]:
        at(clock, start)
        change_settings(db, OPERATOR, "acme", SettingsChange(licenses=3), now=clock.now())
        opened = [login(client, world, name) for name in names]
        change_settings(db, OPERATOR, "acme", SettingsChange(licenses=1), now=clock.now())
        clock.advance(timedelta(minutes=minutes))
        for s in opened:
            assert call(client, "DELETE", s["session_id"], s["token"]).status_code == 204
    clock.set(START)


@pytest.mark.usefixtures("overdrawn")
def test_days_and_months_say_the_overdraft_peak_and_minutes(client: Client, world: World) -> None:
    body = body_of(client, world, FEBRUARY)
    assert body["total"] == 1
    over = {
        d["date"]: (d["overdraft_peak"], d["overdraft_minutes"])
        for d in body["days"]
        if d["overdraft_peak"] or d["overdraft_minutes"]
    }
    assert over == {"2026-02-14": (1, 25), "2026-02-27": (2, 40)}
    february, march = body["months"]
    assert (february["overdraft_peak"], february["overdraft_minutes"]) == (2, 25 + 40)
    assert (march["overdraft_peak"], march["overdraft_minutes"]) == (0, 0)
    again = body_of(client, world, FEBRUARY)  # from the kept days
    assert again["days"] == body["days"] and again["months"] == body["months"]


@pytest.mark.usefixtures("overdrawn")
def test_the_downloads_carry_the_overdraft(client: Client, world: World) -> None:
    days = csv_rows(usage(client, f"{FEBRUARY}&by=day", world.admin_token, "/usage/export"))
    by_date = {r["date"]: (r["overdraft_peak"], r["overdraft_minutes"]) for r in days}
    assert by_date["2026-02-14"] == ("1", "25")
    assert by_date["2026-02-27"] == ("2", "40")
    assert by_date["2026-02-28"] == ("0", "0")
    months = csv_rows(usage(client, f"{FEBRUARY}&by=month", world.admin_token, "/usage/export"))
    assert [(m["month"], m["overdraft_peak"], m["overdraft_minutes"]) for m in months] == [
        ("2026-02", "2", "65"),
        ("2026-03", "0", "0"),
    ]
    as_json = usage(client, f"{FEBRUARY}&by=month&format=json", world.admin_token, "/usage/export")
    assert as_json.json()["months"][0]["overdraft_minutes"] == 65


def test_the_docs_say_what_the_overdraft_figures_are(client: Client) -> None:
    schemas = client.get("/docs/openapi.json").json()["components"]["schemas"]
    for schema in ("UsageDay", "UsageMonth"):
        fields = schemas[schema]["properties"]
        assert "beyond the license total" in str(fields["overdraft_peak"]), schema
        assert "Session-minutes beyond" in str(fields["overdraft_minutes"]), schema
        assert {"overdraft_peak", "overdraft_minutes"} <= set(schemas[schema]["required"])
