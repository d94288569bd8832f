"""The operator commands, run as a subprocess: on the database, and through a server."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from typing import Any

import pytest

from seatkeeper.clock import SystemClock
from seatkeeper.config import Settings
from seatkeeper.services import access, agents, expiry
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database
from seatkeeper.web.app import create_app
from tests.conftest import PASSWORD, World
from tests.servers import served
from tests.waiting import PATIENCE


def seatkeeper(
    *args: str, db_url: str = "", stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "seatkeeper"]
    if db_url:
        command += ["--database-url", db_url]
    return subprocess.run(
        [*command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture
def open_now(db: Database, passwords: Passwords, world: World) -> dict[str, Any]:
    """alice (with a Flow open) and a Guest, opened now by the real clock."""
    clock = SystemClock()
    alice = agents.open_session(
        db,
        passwords,
        application_key=world.app_key,
        credentials=("alice", PASSWORD),
        clock=clock,
    )
    agents.open_interaction(
        db, token=alice.token, session_id=str(alice.session.id), flow="New Order", clock=clock
    )
    guest = agents.open_session(
        db, passwords, application_key=world.app_key, credentials=None, clock=clock
    )
    return {"alice": str(alice.session.id), "guest": str(guest.session.id)}


def test_sessions_list_on_the_database(db_url: str, open_now: dict[str, Any]) -> None:
    listed = seatkeeper("sessions", "list", "acme", "--sort", "agent_id", "--json", db_url=db_url)
    assert listed.returncode == 0, listed.stderr
    body = json.loads(listed.stdout)
    assert (body["account"], body["count"]) == ("acme", 2)
    assert [s["agent_id"] for s in body["sessions"]] == ["alice", None]  # "Guest" sorts after
    assert body["sessions"][0]["open_interactions"] == ["New Order"]

    table = seatkeeper("sessions", "list", "acme", "--search", "order", db_url=db_url)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["SESSION", "AGENT", "STARTED", "(Europe/Paris)", "OPEN", "FLOWS"]
    assert lines[1].split()[:2] == [open_now["alice"], "alice"]
    assert lines[1].split()[-3:] == ["1", "New", "Order"]
    assert lines[-1] == "1 open session in acme."


def test_sessions_terminate_asks_first_and_records_the_operator(
    db_url: str, open_now: dict[str, Any], db: Database
) -> None:
    alice = open_now["alice"]
    declined = seatkeeper("sessions", "terminate", "acme", alice, stdin="n\n", db_url=db_url)
    assert declined.returncode == 1
    assert "Terminate 1 session of acme? Their agents are told at once." in declined.stdout
    assert "Aborted!" in declined.stderr
    still = seatkeeper("sessions", "list", "acme", "--json", db_url=db_url)
    assert json.loads(still.stdout)["count"] == 2

    done = seatkeeper("sessions", "terminate", "acme", alice, "--yes", db_url=db_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1 of 1 session terminated."
    again = seatkeeper("sessions", "terminate", "acme", alice, "--yes", db_url=db_url)
    assert f"{alice}: had already ended." in again.stdout
    left = json.loads(seatkeeper("sessions", "list", "acme", "--json", db_url=db_url).stdout)
    assert [s["agent_id"] for s in left["sessions"]] == [None]

    from seatkeeper.services import admin

    ended = admin.recently_ended(
        db,
        access.Operator("test"),
        "acme",
        reason=None,
        page=1,
        per_page=10,
        now=SystemClock().now(),
    )
    (row,) = ended.rows
    assert row.ended_by is not None and row.ended_by.endswith("(operator command)")
    assert row.open_at_end == ("New Order",)


def test_operator_commands_refuse_clearly_and_change_nothing(
    db_url: str, open_now: dict[str, Any]
) -> None:
    unknown = "00000000-0000-0000-0000-000000000000"
    missing = seatkeeper("sessions", "terminate", "acme", unknown, "--yes", db_url=db_url)
    assert missing.returncode == 1
    assert f"Error: Not sessions of acme: {unknown}" in missing.stderr
    bad = seatkeeper("sessions", "terminate", "acme", "nope", "--yes", db_url=db_url)
    assert (bad.returncode, bad.stderr.strip()) == (1, "Error: 'nope' is not a session id.")
    nobody = seatkeeper("usage", "nowhere", db_url=db_url)
    assert (nobody.returncode, nobody.stderr) == (1, "Error: There is no account 'nowhere'.\n")
    unsorted = seatkeeper("sessions", "list", "acme", "--sort", "flows", db_url=db_url)
    assert unsorted.returncode == 2
    no_token = seatkeeper("sessions", "list", "acme", "--server", "http://127.0.0.1:9")
    assert no_token.returncode == 2 and "--server needs --token" in no_token.stderr
    listed = json.loads(seatkeeper("sessions", "list", "acme", "--json", db_url=db_url).stdout)
    assert listed["count"] == 2


def test_usage_prints_the_figures_and_a_chart(
    db_url: str, open_now: dict[str, Any], db: Database
) -> None:
    expiry.sweep_expired(db, now=SystemClock().now())
    shown = seatkeeper("usage", "acme", db_url=db_url)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("acme: licenses in use now 2 / 3; daily average ")
    days = [line for line in lines if line[:4].isdigit()]
    assert len(days) == 30
    assert days[-1].endswith(" 2")  # today's peak: alice and the Guest
    assert lines[-2] == "| = the 3 licenses the account owns."
    assert lines[-1].startswith("No open was refused in the past 30 days; at most 2 of the 3")
    as_json = json.loads(seatkeeper("usage", "acme", "--json", db_url=db_url).stdout)
    assert (as_json["current"], as_json["total"], len(as_json["days"])) == (2, 3, 30)


def test_the_same_commands_through_a_server_with_a_token(
    settings: Settings, db: Database, db_url: str, world: World, open_now: dict[str, Any]
) -> None:
    on_db = json.loads(seatkeeper("sessions", "list", "acme", "--json", db_url=db_url).stdout)
    with served(create_app(settings, clock=SystemClock(), database=db)) as url:
        remote = {"SEATKEEPER_SERVER_URL": url, "SEATKEEPER_TOKEN": world.admin_token}
        listed = seatkeeper("sessions", "list", "acme", "--json", env=remote)
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)["sessions"] == on_db["sessions"]
        foreign = seatkeeper("sessions", "list", "globex", env=remote)
        assert foreign.returncode == 1
        assert "404: " in foreign.stderr
        done = seatkeeper("sessions", "terminate", "acme", open_now["guest"], "--yes", env=remote)
        assert done.stdout.strip() == "1 of 1 session terminated.", done.stderr
        usage = json.loads(seatkeeper("usage", "acme", "--json", env=remote).stdout)
        assert (usage["current"], usage["total"]) == (1, 3)


def test_a_server_that_is_not_seatkeeper_gets_a_clear_message(tmp_path: Any) -> None:
    (tmp_path / "index.html").write_text("<h1>Welcome</h1>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as other:
        threading.Thread(target=other.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{other.server_address[1]}"
        answer = seatkeeper("usage", "acme", "--server", url, "--token", "t")
        other.shutdown()
    assert answer.returncode == 1
    assert f"Error: {url} answered 404 with no seatkeeper JSON" in answer.stderr
    assert "Traceback" not in answer.stderr


def test_history_rebuild_counts_the_days_again_with_a_progress_bar(
    db_url: str, open_now: dict[str, Any], db: Database
) -> None:
    done = seatkeeper("history", "rebuild", db_url=db_url)
    assert done.returncode == 0, done.stderr
    assert "Counting usage days" in done.stdout
    assert done.stdout.strip().endswith("Kept the usage days of 3 accounts.")
    one = seatkeeper("history", "rebuild", "acme", db_url=db_url)
    assert one.stdout.strip().endswith("Kept the usage days of 1 account.")
    nobody = seatkeeper("history", "rebuild", "nowhere", db_url=db_url)
    assert (nobody.returncode, nobody.stderr) == (1, "Error: There is no account 'nowhere'.\n")
    usage = json.loads(seatkeeper("usage", "acme", "--json", db_url=db_url).stdout)
    assert (usage["current"], usage["days"][-1]["max_concurrent"]) == (2, 2)
