"""The audit trail of terminations and the Recently ended view (API and page)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from seatkeeper.clock import FrozenClock
from seatkeeper.services import expiry
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import audit_events
from tests.conftest import World, bearer, offer
from tests.web.api.test_agent import call, error_of, login
from tests.web.pages.test_pages import log_in

Client = TestClient[Litestar]
ENDED = "/api/v1/accounts/acme/ended-sessions"
PAGE = "/accounts/acme/recently-ended"
PARIS = ZoneInfo("Europe/Paris")


def local(at: datetime) -> str:
    return at.astimezone(PARIS).isoformat()


def ended(client: Client, token: str, query: str = "") -> Any:
    return client.get(f"{ENDED}{query}", headers=bearer(token))


@pytest.fixture
def history(client: Client, world: World, clock: FrozenClock) -> dict[str, Any]:
    """A week-old logout, then a termination, a logout and a timeout today."""
    old = login(client, world, "dave")
    assert call(client, "DELETE", old["session_id"], old["token"]).status_code == 204
    clock.advance(timedelta(days=7, minutes=1))  # dave's ended just over 7 days ago

    alice, bob, carol = (login(client, world, n) for n in ("alice", "bob", "carol"))
    a_sid = alice["session_id"]
    reset = call(
        client, "POST", f"{a_sid}/interactions", alice["token"], {"flow": "Password Reset"}
    )
    iid = reset.json()["interaction_id"]
    call(client, "POST", f"{a_sid}/interactions/{iid}/steps", alice["token"], {"step": "Verify"})
    clock.advance(timedelta(minutes=1))
    call(client, "POST", f"{a_sid}/interactions", alice["token"], {"flow": "Billing Dispute"})
    clock.advance(timedelta(minutes=9))
    terminated_at = clock.now()
    done = client.post(
        "/api/v1/accounts/acme/active-sessions/terminate",
        json={"session_ids": [a_sid]},
        headers=bearer(world.admin_token),
    )
    assert done.json()["terminated"] == 1
    clock.advance(timedelta(minutes=1))
    logged_out_at = clock.now()
    assert call(client, "DELETE", bob["session_id"], bob["token"]).status_code == 204
    clock.advance(timedelta(minutes=40))
    expiry.sweep_expired(client.app.state.runtime.db, now=clock.now())
    return {
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "terminated_at": terminated_at,
        "logged_out_at": logged_out_at,
    }


def test_recently_ended_lists_the_past_week_with_reasons_and_who_terminated(
    client: Client, world: World, history: dict[str, Any]
) -> None:
    answer = ended(client, world.admin_token)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["count"], body["pages"], body["time_zone"]) == (3, 1, "Europe/Paris")
    carol, bob, alice = body["sessions"]  # the latest end first; dave's is too old
    started = history["alice"]["started_at"]
    assert alice == {
        "session_id": history["alice"]["session_id"],
        "agent_id": "alice",
        "session_start": local(datetime.fromisoformat(started)),
        "ended_at": local(history["terminated_at"]),
        "duration_seconds": 600,
        "end_reason": "terminated",
        "ended_by": "admin",
        "source": "testclient",
        "open_at_end": ["Password Reset", "Billing Dispute"],
    }
    assert (bob["agent_id"], bob["end_reason"], bob["ended_by"], bob["source"]) == (
        "bob",
        "logout",
        None,
        None,
    )
    assert bob["ended_at"] == local(history["logged_out_at"])
    # A timed-out session ended at its last activity plus the 30-minute timeout.
    assert (carol["agent_id"], carol["end_reason"], carol["duration_seconds"]) == (
        "carol",
        "timeout",
        30 * 60,
    )
    assert carol["open_at_end"] == []


def test_recently_ended_filters_by_reason_and_pages(
    client: Client, world: World, history: dict[str, Any]
) -> None:
    timeouts = ended(client, world.admin_token, "?reason=timeout").json()
    assert [s["agent_id"] for s in timeouts["sessions"]] == ["carol"]
    assert (timeouts["reason"], timeouts["count"]) == ("timeout", 1)
    first = ended(client, world.admin_token, "?per_page=2").json()
    second = ended(client, world.admin_token, "?per_page=2&page=2").json()
    assert (first["count"], first["pages"], len(first["sessions"])) == (3, 2, 2)
    assert [s["agent_id"] for s in first["sessions"] + second["sessions"]] == [
        "carol",
        "bob",
        "alice",
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?reason=vanished", "Unknown end reason 'vanished'"),
        ("?per_page=0", "per_page must be between 1 and 500"),
        ("?page=0", "The page must be from 1 to 1,000,000; got 0."),
        ("?page=1000000000000000000", "The page must be from 1 to 1,000,000"),
    ],
)
def test_recently_ended_refuses_bad_filters_clearly(
    client: Client, world: World, query: str, message: str
) -> None:
    answer = ended(client, world.admin_token, query)
    assert error_of(answer) == (400, "invalid_request")
    assert message in answer.json()["error"]["message"]


def test_recently_ended_is_for_admins_of_the_account(
    client: Client, world: World, history: dict[str, Any]
) -> None:
    assert error_of(ended(client, world.agent_token)) == (403, "not_allowed")
    assert error_of(ended(client, world.designer_token)) == (403, "not_allowed")
    assert error_of(ended(client, world.globex_admin_token)) == (404, "account_not_found")
    assert ended(client, world.super_token).json()["count"] == 3
    assert ended(client, world.globex_admin_token, "").status_code == 404
    globex = client.get("/api/v1/accounts/globex/ended-sessions", headers=bearer(world.admin_token))
    assert error_of(globex) == (404, "account_not_found")


def test_a_termination_is_audited_and_the_audit_row_cannot_be_changed(
    client: Client, world: World, history: dict[str, Any], db: Database
) -> None:
    with db.read() as conn:
        everything = conn.execute(select(audit_events)).all()
    rows = [row for row in everything if row.action == "session_terminated"]
    assert len(rows) == 1
    row = rows[0]
    assert (row.action, row.actor, row.source, row.at) == (
        "session_terminated",
        "admin",
        "testclient",
        history["terminated_at"],
    )
    assert str(row.session_id) == history["alice"]["session_id"]
    assert row.details["agent_id"] == "alice"
    assert [(i["flow"], i["step"]) for i in row.details["open_interactions"]] == [
        ("Password Reset", "Verify"),
        ("Billing Dispute", None),
    ]
    for statement in (
        update(audit_events).values(actor="someone else"),
        delete(audit_events),
    ):
        refused = pytest.raises(DBAPIError, match="audit events are never changed or deleted")
        with refused, db.write() as conn:
            conn.execute(statement)
    with db.read() as conn:
        assert conn.execute(select(audit_events)).all() == everything


def test_the_recently_ended_page(client: Client, world: World, history: dict[str, Any]) -> None:
    anonymous = client.get(PAGE, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/accounts/acme/recently-ended"

    log_in(client, "admin")
    page = client.get(PAGE)
    assert page.status_code == 200
    assert page.text.count('data-testid="ended-row"') == 3
    assert "Terminated</span> by admin from testclient" in page.text
    assert "Billing Dispute, Password Reset<" in page.text  # as the grid lists them
    assert ">10 min<" in page.text and ">30 min<" in page.text
    assert 'data-testid="nav-recently-ended"' in page.text
    only = client.get(f"{PAGE}?reason=logout")
    assert only.text.count('data-testid="ended-row"') == 1
    assert '<option value="logout" selected>' in only.text
    bad = client.get(f"{PAGE}?reason=vanished")
    assert bad.status_code == 400
    assert "Unknown end reason" in bad.text
    assert client.get("/accounts/globex/recently-ended").status_code == 404

    log_in(client, "alice")
    assert client.get(PAGE).status_code == 403


def test_a_clock_behind_never_ends_a_session_before_it_started(
    client: Client, world: World, clock: FrozenClock
) -> None:
    # Another instance, whose clock is five seconds behind the one that opened it.
    alice = login(client, world, "alice")
    clock.advance(timedelta(seconds=-5))
    done = client.post(
        "/api/v1/accounts/acme/active-sessions/terminate",
        json={"session_ids": [alice["session_id"]]},
        headers=bearer(world.admin_token),
    )
    assert done.json()["terminated"] == 1
    (row,) = ended(client, world.admin_token).json()["sessions"]
    assert (
        row["ended_at"]
        == row["session_start"]
        == local(datetime.fromisoformat(alice["started_at"]))
    )
    assert row["duration_seconds"] == 0
    usage = client.get("/api/v1/accounts/acme/usage", headers=bearer(world.admin_token)).json()
    assert usage["current"] == 0


def test_the_page_lists_a_flow_open_more_than_once_once_with_its_count(
    client: Client, world: World, db: Database
) -> None:
    hostile = "<b>Refund</b>"  # a Flow's name is shown as text, never as markup
    offer(db, hostile)
    alice = login(client, world, "alice")
    flows = ("Password Reset", hostile, "Billing Dispute", "Password Reset", hostile, hostile)
    for flow in flows:
        path = f"{alice['session_id']}/interactions"
        assert call(client, "POST", path, alice["token"], {"flow": flow}).status_code == 201
    done = client.post(
        "/api/v1/accounts/acme/active-sessions/terminate",
        json={"session_ids": [alice["session_id"]]},
        headers=bearer(world.admin_token),
    )
    assert done.json()["terminated"] == 1
    (row,) = ended(client, world.admin_token).json()["sessions"]
    assert sorted(row["open_at_end"]) == sorted(flows)  # the API still lists every one

    log_in(client, "admin")
    page = client.get(PAGE)
    shown = "&lt;b&gt;Refund&lt;/b&gt;\u00a0×3, Billing Dispute, Password Reset\u00a0×2"
    assert f'<td data-testid="cell-open-at-end">{shown}</td>' in page.text
    assert hostile not in page.text
