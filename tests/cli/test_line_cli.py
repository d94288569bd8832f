"""`seatkeeper sessions waiting`: who waits for a license, on the database and through a
server, the same."""

from __future__ import annotations

import json

import httpx

from seatkeeper.clock import SystemClock
from seatkeeper.config import Settings
from seatkeeper.storage.db import Database
from seatkeeper.web.app import create_app
from tests.cli.test_operator import seatkeeper
from tests.conftest import PASSWORD, World, bearer
from tests.servers import served
from tests.waiting import PATIENCE


def test_who_waits_on_the_database_and_through_a_server(
    settings: Settings, db: Database, db_url: str, world: World
) -> None:
    nobody = seatkeeper("sessions", "waiting", "acme", db_url=db_url)
    assert (nobody.returncode, nobody.stdout.strip()) == (0, "Nobody waits for a license in acme.")
    with served(create_app(settings, clock=SystemClock(), database=db)) as url:

        def open_(**body: object) -> httpx.Response:
            return httpx.post(
                f"{url}/api/v1/sessions", json=body, headers=bearer(world.app_key), timeout=PATIENCE
            )

        assert [open_().status_code for _ in range(3)] == [201, 201, 201]
        assert open_(username="bob", password=PASSWORD, wait=True).status_code == 202
        assert open_(wait=True).status_code == 202
        table = seatkeeper("sessions", "waiting", "acme", db_url=db_url)
        lines = table.stdout.splitlines()
        assert lines[0].split()[:4] == ["POSITION", "AGENT", "WAITING", "SINCE"]
        assert "(Europe/Paris)" in lines[0]
        assert [line.split()[:2] for line in lines[1:3]] == [["1", "bob"], ["2", "Guest"]]
        assert lines[3] == "2 agents waiting for a license in acme."
        on_db = json.loads(
            seatkeeper("sessions", "waiting", "acme", "--json", db_url=db_url).stdout
        )
        remote = {"SEATKEEPER_SERVER_URL": url, "SEATKEEPER_TOKEN": world.admin_token}
        through = json.loads(seatkeeper("sessions", "waiting", "acme", "--json", env=remote).stdout)
        for body in (on_db, through):
            assert [(p["position"], p["agent_id"]) for p in body["places"]] == [
                (1, "bob"),
                (2, None),
            ]
        foreign = seatkeeper("sessions", "waiting", "globex", env=remote)
        assert foreign.returncode == 1 and "404: " in foreign.stderr
    unknown = seatkeeper("sessions", "waiting", "<b>nope</b>", db_url=db_url)
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr
