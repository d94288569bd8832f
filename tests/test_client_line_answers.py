"""The Python client waiting in line when the server answers what the API does not say: a
clear error, no request built from the odd answer, and the place given up when it can be."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from seatkeeper.client import (
    BadAnswer,
    Client,
    LineTimeout,
    Place,
    SeatkeeperError,
    Session,
    WaitEnded,
    WaitLeft,
)

TICKET = {
    "wait_id": 7,
    "position": 2,
    "ahead": 1,
    "estimate_seconds": None,
    "asked_at": "2026-12-01T10:00:00+00:00",
    "expires_at": "2026-12-01T10:01:00+00:00",
    "ticket": "sk_wait_abc",
}
PLACE = {k: v for k, v in TICKET.items() if k != "ticket"}
SESSION = {
    "session_id": "7b0c7d3e-1f43-4d4b-9a56-1b1b1b1b1b1b",
    "token": "sk_session_x",
    "agent_id": None,
    "started_at": "2026-12-01T10:00:05+00:00",
    "expires_at": "2026-12-01T10:30:05+00:00",
}


class Script:
    """A server answering the open with `opened`, and each follow with the next of `follows`."""

    def __init__(self, opened: httpx.Response, *follows: httpx.Response) -> None:
        self.opened, self.follows = opened, list(follows)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "POST":
            return self.opened
        if request.method == "DELETE":
            return httpx.Response(204)
        return self.follows.pop(0) if len(self.follows) > 1 else self.follows[0]

    def open(self, **options: Any) -> Session:
        http = httpx.Client(transport=httpx.MockTransport(self), base_url="http://line.test")
        with Client("http://line.test", "sk_app_x", http=http) as client:
            return client.open_session(wait=True, **options)

    def said(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


def answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode())


def error(status: int, code: str) -> httpx.Response:
    return answer(status, {"error": {"code": code, "message": f"said {code}"}})


@pytest.mark.parametrize(
    "opened",
    [
        httpx.Response(202, content=b"<html>"),
        answer(202, ["a list"]),
        answer(202, {**TICKET, "ticket": None}),
        answer(202, {**TICKET, "ticket": "sk_wait_abc\r\nX-Evil: 1"}),
        answer(202, {**TICKET, "ticket": "x" * 5000}),
        answer(202, {**TICKET, "wait_id": "../../sessions"}),
        answer(202, {**TICKET, "wait_id": True}),
        answer(202, {**TICKET, "position": 0}),
        answer(202, {**TICKET, "position": "<b>1</b>"}),
        answer(202, {**TICKET, "ahead": -1}),
        answer(202, {**TICKET, "expires_at": "tomorrow"}),
        answer(202, {k: v for k, v in TICKET.items() if k != "asked_at"}),
    ],
    ids=lambda r: r.text[:40],
)
def test_an_odd_ticket_is_a_bad_answer_and_nothing_is_followed(opened: httpx.Response) -> None:
    script = Script(opened, answer(201, SESSION))
    with pytest.raises(BadAnswer) as bad:
        script.open()
    assert (bad.value.status, bad.value.code) == (202, "bad_answer")
    assert script.said() == ["POST /api/v1/sessions"]


@pytest.mark.parametrize(
    "follow",
    [
        httpx.Response(200, content=b"not json"),
        answer(200, {**PLACE, "position": None}),
        answer(200, {**PLACE, "wait_id": 8}),  # another place's
        answer(200, {**PLACE, "estimate_seconds": 1.5}),
        answer(201, {**SESSION, "token": None} | {"session_id": None}),
        answer(201, {k: v for k, v in SESSION.items() if k != "token"}),
        answer(204, {}),
    ],
    ids=lambda r: f"{r.status_code} {r.text[:40]}",
)
def test_an_odd_follow_is_a_bad_answer_and_the_place_is_given_up(follow: httpx.Response) -> None:
    script = Script(answer(202, TICKET), follow)
    with pytest.raises(BadAnswer):
        script.open()
    # A 201 the client could not read gives its license back with the place.
    assert script.said() == [
        "POST /api/v1/sessions",
        "GET /api/v1/waits/7",
        "DELETE /api/v1/waits/7",
    ]
    assert all(r.headers["authorization"] == "Bearer sk_wait_abc" for r in script.requests[1:])


def test_a_server_error_while_following_raises_and_gives_the_place_up() -> None:
    script = Script(answer(202, TICKET), httpx.Response(502, content=b"<h1>Bad Gateway</h1>"))
    with pytest.raises(SeatkeeperError) as failed:
        script.open()
    assert (failed.value.status, failed.value.code) == (502, "http_error")
    assert script.said()[-1] == "DELETE /api/v1/waits/7"


@pytest.mark.parametrize(
    ("gone", "kind"),
    [(error(410, "wait_left"), WaitLeft), (error(410, "something_new"), WaitEnded)],
)
def test_an_ended_place_raises_wait_ended(gone: httpx.Response, kind: type[WaitEnded]) -> None:
    script = Script(answer(202, TICKET), answer(200, {**PLACE, "position": 1}), gone)
    with pytest.raises(kind) as ended:
        script.open()
    assert ended.value.status == 410
    assert "DELETE /api/v1/waits/7" not in script.said()  # nothing left to give up


def test_each_follow_waits_at_most_25_seconds_and_the_session_is_an_opens() -> None:
    moved = {**PLACE, "position": 1, "ahead": 0}
    script = Script(
        answer(202, TICKET), answer(200, PLACE), answer(200, moved), answer(201, SESSION)
    )
    told: list[Place] = []
    session = script.open(on_position=told.append)
    assert (session.token, session.joined) == ("sk_session_x", False)
    assert [p.position for p in told] == [2, 1]  # told when it changed, not at each follow
    polls = [float(r.url.params["timeout"]) for r in script.requests if r.method == "GET"]
    assert polls == [25.0, 25.0, 25.0]


def test_follows_never_wait_past_the_callers_timeout() -> None:
    script = Script(answer(202, TICKET), answer(200, PLACE))  # never moves
    with pytest.raises(LineTimeout) as gave_up:
        script.open(timeout=0.3)
    polls = [float(r.url.params["timeout"]) for r in script.requests if r.method == "GET"]
    assert polls and all(0 < poll <= 0.3 for poll in polls)
    assert script.said()[-1] == "DELETE /api/v1/waits/7"
    assert gave_up.value.place.position == 2


def test_a_short_ticket_is_followed_well_within_its_time() -> None:
    short = {**TICKET, "expires_at": "2026-12-01T10:00:10+00:00"}  # kept 10 s per follow
    script = Script(answer(202, short), answer(201, SESSION))
    script.open()
    assert script.requests[1].url.params["timeout"] == "5.000"


def test_an_error_in_on_position_gives_the_place_up() -> None:
    script = Script(answer(202, TICKET), answer(201, SESSION))

    def broken(place: Place) -> None:
        raise KeyError("the caller's own bug")

    with pytest.raises(KeyError):
        script.open(on_position=broken)
    assert script.said() == ["POST /api/v1/sessions", "DELETE /api/v1/waits/7"]


def test_a_seat_at_once_needs_no_following() -> None:
    script = Script(answer(201, SESSION), error(500, "unused"))
    calls: list[Callable[[Place], None]] = []
    assert script.open(on_position=calls.append).token == "sk_session_x"
    assert calls == [] and script.said() == ["POST /api/v1/sessions"]
    assert json.loads(script.requests[0].content) == {"wait": True}
