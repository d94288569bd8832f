"""Waiting in an account's line for a license: following a place until it is seated."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import httpx

from seatkeeper.client.errors import (
    BadAnswer,
    LicenseLimitReached,
    WaitEnded,
    raise_for,
)

T = TypeVar("T")

LONGEST_POLL = 25.0  # seconds one follow of a place in line waits for it to move (at most)
_VISIBLE = re.compile(r"[\x21-\x7e]{1,1024}")  # a ticket: a bearer token's characters


@dataclass(frozen=True)
class Place:
    """A place in the account's line for a license, as the server last told it."""

    wait_id: int
    position: int  # 1: the next license to free is this place's
    ahead: int  # how many wait before it
    estimate_seconds: int | None  # at the pace sessions ended lately; None: none lately
    expires_at: datetime  # the place is kept until then (following it keeps it longer)


class LineTimeout(LicenseLimitReached):
    """`open_session(wait=True, timeout=...)`: still in line when the timeout passed. The
    place was given up (the license goes to whoever waits next); a full pool, like its base."""

    def __init__(self, message: str, place: Place) -> None:
        super().__init__(409, "line_timeout", message)
        self.place = place


def follow(
    http: httpx.Client,
    response: httpx.Response,
    seat: Callable[[httpx.Response], T],
    *,
    deadline: float | None,
    on_position: Callable[[Place], object] | None,
) -> T:
    """Follow the place an open's 202 `response` gave until it is seated: then `seat`
    makes the session of the follow's 201. `deadline`: time.monotonic() to give up at."""
    return _Line(http, response, seat, deadline, on_position).seated()


class _Line(Generic[T]):
    """Following one place in line, with long polls, until it is seated."""

    def __init__(
        self,
        http: httpx.Client,
        response: httpx.Response,
        seat: Callable[[httpx.Response], T],
        deadline: float | None,
        on_position: Callable[[Place], object] | None,
    ) -> None:
        self.http, self.seat, self.deadline, self.on_position = http, seat, deadline, on_position
        data = _answer(response)
        ticket = data.get("ticket")
        if not _token(ticket):
            raise _bad(response, "a ticket")
        self.headers = {"Authorization": f"Bearer {ticket}"}
        self.place = _place(response, data)
        self.url = f"/api/v1/waits/{self.place.wait_id}"
        try:  # the server keeps a place this long after each follow: follow well within it
            asked_at = datetime.fromisoformat(data["asked_at"])
            kept = (self.place.expires_at - asked_at).total_seconds()
        except (KeyError, TypeError, ValueError):
            raise _bad(response, "a place in line") from None
        self.poll = min(LONGEST_POLL, max(1.0, kept / 2))

    def seated(self) -> T:
        try:
            return self._follow()
        except (WaitEnded, LineTimeout):
            raise
        except BaseException:
            self._leave()
            raise

    def _follow(self) -> T:
        shown = None
        while True:
            if self.place.position != shown and self.on_position is not None:
                self.on_position(self.place)
            shown = self.place.position
            left = None if self.deadline is None else self.deadline - time.monotonic()
            if left is not None and left <= 0:
                self._leave()
                raise LineTimeout(
                    f"Still waiting in line for a license (position {shown}) when the "
                    "timeout passed: the place was given up.",
                    self.place,
                )
            poll = self.poll if left is None else min(self.poll, left)
            asked = time.monotonic()
            response = self.http.get(
                self.url,
                params={"timeout": f"{poll:.3f}"},
                headers=self.headers,
                timeout=_longer(self.http.timeout, poll),
            )
            raise_for(response, gone=WaitEnded)
            if response.status_code == 201:
                return self._seated(response)
            if response.status_code != 200:
                raise _bad(response, "a place in line")
            self.place = _place(response, _answer(response), self.place.wait_id)
            if self.place.position == shown:  # no sooner than asked, or at least a second
                time.sleep(max(0.0, min(poll, 1.0) - (time.monotonic() - asked)))

    def _seated(self, response: httpx.Response) -> T:
        data = _answer(response)
        if all(_token(data.get(key)) for key in ("session_id", "token")):
            try:
                return self.seat(response)
            except (KeyError, TypeError, ValueError):
                pass
        raise _bad(response, "a session")

    def _leave(self) -> None:
        """Give the place up (a license seated for it meanwhile goes back). Should the
        server not hear it, the place leaves by itself, not followed."""
        with contextlib.suppress(httpx.HTTPError):
            self.http.delete(self.url, headers=self.headers)


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise _bad(response, "a JSON object")
    return data


def _place(response: httpx.Response, data: dict[str, Any], wait_id: int | None = None) -> Place:
    """The place `data` tells, refused unless every field is what the API says (and the
    place is `wait_id`'s, when given)."""
    try:
        estimate = data["estimate_seconds"]
        place = Place(
            wait_id=_count(data["wait_id"]),
            position=_count(data["position"], least=1),
            ahead=_count(data["ahead"]),
            estimate_seconds=None if estimate is None else _count(estimate),
            expires_at=datetime.fromisoformat(data["expires_at"]),
        )
    except (KeyError, TypeError, ValueError):
        raise _bad(response, "a place in line") from None
    if wait_id is not None and place.wait_id != wait_id:
        raise _bad(response, f"place {wait_id} in line")
    return place


def _token(value: object) -> bool:
    return isinstance(value, str) and _VISIBLE.fullmatch(value) is not None


def _count(value: object, least: int = 0) -> int:
    if type(value) is not int or value < least:
        raise ValueError(value)
    return value


def _bad(response: httpx.Response, expected: str) -> BadAnswer:
    return BadAnswer(
        response.status_code,
        "bad_answer",
        f"The server answered {response.status_code} without {expected}: {response.text[:200]!r}",
    )


def _longer(timeout: httpx.Timeout, seconds: float) -> httpx.Timeout:
    """`timeout` with `seconds` more to read the answer: a long poll's."""
    read = None if timeout.read is None else timeout.read + seconds
    return httpx.Timeout(timeout.connect, read=read, write=timeout.write, pool=timeout.pool)
