"""Delivering webhooks: resolve once, check, connect to what was checked; one deadline an
attempt; receivers served together; a claimed attempt is nobody else's; plain errors."""

from __future__ import annotations

import http.server
import ipaddress
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.destinations import IPAddress, Policy, networks
from seatkeeper.domain.errors import DestinationRefused
from seatkeeper.services import webhooks
from seatkeeper.services.access import OPERATOR
from seatkeeper.storage import webhooks as stored
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import webhook_deliveries
from tests.conftest import World
from tests.waiting import PATIENCE, wait_until


class Handler(http.server.BaseHTTPRequestHandler):
    release: threading.Event  # its receiver's


PUBLIC = "93.184.215.14"
ON_PREMISE = Policy(allowed_networks=networks("127.0.0.0/8"), allow_http=True)


class Spot:
    """A receiver on loopback; `answer(handler)` answers each request (200 by default)."""

    def __init__(self, answer: Callable[[Handler], None] | None = None) -> None:
        self.received: list[dict[str, str]] = []
        self.release = threading.Event()  # ends what `answer` holds back
        spot = self

        class Answer(Handler):
            release = self.release

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                spot.received.append(dict(self.headers.items()))
                if answer is None:
                    self.send_response(200)
                    self.end_headers()
                else:
                    answer(self)

            def log_message(self, *_: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def spots() -> Iterator[list[Spot]]:
    made: list[Spot] = []
    yield made
    for spot in made:
        spot.release.set()
        spot.server.shutdown()
        spot.server.server_close()


def spot(spots: list[Spot], answer: Callable[[Handler], None] | None = None) -> Spot:
    spots.append(Spot(answer))
    return spots[-1]


def hold(handler: Handler) -> None:
    """Answer nothing until released."""
    handler.release.wait(PATIENCE)


def trickle(handler: Handler) -> None:
    """The status line, one byte a second, until released: no single read ever waits long."""
    for byte in b"HTTP/1.1 200 OK\r\n" * 100:
        if handler.release.wait(1):
            return
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()


def add(db: Database, url: str, sending: webhooks.Sending, clock: FrozenClock) -> int:
    return webhooks.add_webhook(db, OPERATOR, "acme", url, now=clock.now(), sending=sending).id


def alert(db: Database, world: World, clock: FrozenClock) -> None:
    """A delivery to each of acme's webhooks, due now."""
    with db.write() as conn:
        stored.enqueue(conn, world.acme.id, "capacity_alert.raised", {"level": 90}, clock.now())


def deliveries(db: Database, hook_id: int) -> list[Any]:
    with db.read() as conn:
        d = webhook_deliveries.c
        return list(conn.execute(select(webhook_deliveries).where(d.webhook_id == hook_id)))


class Resolver:
    """Answers names from a script of answers, one a call; records each call."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.calls.append(host)
        if not self.answers:
            raise OSError("no such name")
        return [ipaddress.ip_address(a) for a in self.answers.pop(0)]


def recording(seen: list[httpx.Request], status: int = 200) -> httpx.MockTransport:
    """A transport that connects nowhere: it keeps the requests it is given."""

    def keep(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status)

    return httpx.MockTransport(keep)


def test_a_name_that_resolves_inside_is_refused_at_registration(
    db: Database, world: World, clock: FrozenClock
) -> None:
    for answer in (["127.0.0.1"], [PUBLIC, "10.0.0.1"], ["::ffff:169.254.169.254"], ["fd00::1"]):
        sending = webhooks.Sending(resolve=Resolver(answer))
        with pytest.raises(DestinationRefused):
            add(db, "https://hooks.example.com/in", sending, clock)
    # A name that resolves nowhere yet is accepted: every delivery checks it again.
    nowhere = webhooks.Sending(resolve=Resolver())
    assert add(db, "https://not-yet.example.com/in", nowhere, clock)
    assert add(
        db, "https://hooks.example.com/in", webhooks.Sending(resolve=Resolver([PUBLIC])), clock
    )


@pytest.mark.parametrize(
    "answers", [[PUBLIC], [PUBLIC, "127.0.0.1"], ["127.0.0.1"], ["::1"], ["0.0.0.0"]]
)
def test_a_name_is_checked_again_at_delivery_and_refused_when_it_resolves_inside(
    db: Database, world: World, clock: FrozenClock, spots: list[Spot], answers: list[str]
) -> None:
    # Public when registered; at delivery, a public address and then loopback (or only
    # loopback): nothing reaches the receiver on loopback.
    inside = spot(spots)
    resolver = Resolver([PUBLIC], answers)
    seen: list[httpx.Request] = []
    sending = webhooks.Sending(Policy(allow_http=True), resolver, recording(seen))
    hook = add(db, f"http://receiver.test:{inside.port}/alerts", sending, clock)
    alert(db, world, clock)
    delivered = webhooks.deliver_due(db, clock.now(), sending)
    (row,) = deliveries(db, hook)
    if answers == [PUBLIC]:
        assert delivered == 1 and [r.url.host for r in seen] == [PUBLIC]
    else:
        assert (delivered, seen, row.last_error) == (0, [], webhooks.REFUSED)
    assert inside.received == []
    assert resolver.calls == ["receiver.test", "receiver.test"]  # once at each check


def test_delivery_connects_to_the_address_it_checked_without_a_second_lookup(
    db: Database, world: World, clock: FrozenClock
) -> None:
    # The resolver answers a public address, then (to whoever asks again) loopback.
    resolver = Resolver([PUBLIC], [PUBLIC], ["127.0.0.1"])
    seen: list[httpx.Request] = []
    sending = webhooks.Sending(resolve=resolver, transport=recording(seen))
    hook = add(db, "https://hooks.example.com:8443/in?x=1", sending, clock)
    alert(db, world, clock)
    assert webhooks.deliver_due(db, clock.now(), sending) == 1
    (request,) = seen
    assert (request.url.host, request.url.port, request.url.raw_path) == (PUBLIC, 8443, b"/in?x=1")
    assert request.headers["Host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"  # TLS checks the name
    assert len(resolver.calls) == 2  # registration, delivery: one lookup each
    assert deliveries(db, hook)[0].delivered_at is not None


def test_a_real_receiver_is_reached_at_the_checked_address_by_name(
    db: Database, world: World, clock: FrozenClock, spots: list[Spot]
) -> None:
    # No resolver on this machine knows receiver.test: only the checked address reaches it.
    receiver = spot(spots)
    sending = webhooks.Sending(ON_PREMISE, Resolver(["127.0.0.1"], ["127.0.0.1"]))
    add(db, f"http://receiver.test:{receiver.port}/alerts", sending, clock)
    alert(db, world, clock)
    assert webhooks.deliver_due(db, clock.now(), sending) == 1
    assert receiver.received[0]["Host"] == f"receiver.test:{receiver.port}"


def test_no_redirect_is_followed(
    db: Database, world: World, clock: FrozenClock, spots: list[Spot]
) -> None:
    elsewhere = spot(spots)

    def redirect(handler: Handler) -> None:
        handler.send_response(307)
        handler.send_header("Location", elsewhere.url)
        handler.end_headers()

    hook = add(db, spot(spots, redirect).url, webhooks.Sending(ON_PREMISE), clock)
    alert(db, world, clock)
    assert webhooks.deliver_due(db, clock.now(), webhooks.Sending(ON_PREMISE)) == 0
    assert elsewhere.received == []
    (row,) = deliveries(db, hook)
    assert (row.last_status, row.last_error) == (307, "the receiver answered 307")


def _down(spots: list[Spot]) -> str:
    return "http://127.0.0.1:9/nothing-listens-here"


def _silent(spots: list[Spot]) -> str:
    return spot(spots, hold).url


def _failing(spots: list[Spot]) -> str:
    def fail(handler: Handler) -> None:
        handler.send_response(500)
        handler.send_header("Content-Length", "26")
        handler.end_headers()
        handler.wfile.write(b"db password is hunter2 ...")

    return spot(spots, fail).url


@pytest.mark.parametrize(
    ("receiver", "policy", "said"),
    [
        (_down, ON_PREMISE, "the receiver could not be reached"),
        (_silent, ON_PREMISE, "the receiver did not answer within 0.5 seconds"),
        (_failing, ON_PREMISE, "the receiver answered 500"),
        # Registered while allowed; the operator has since taken the network back.
        (_down, Policy(allow_http=True), webhooks.REFUSED),
    ],
)
def test_the_tenant_is_told_refused_unreachable_timed_out_or_the_status_and_no_more(
    db: Database,
    world: World,
    clock: FrozenClock,
    spots: list[Spot],
    monkeypatch: pytest.MonkeyPatch,
    receiver: Callable[[list[Spot]], str],
    policy: Policy,
    said: str,
) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.5)
    hook = add(db, receiver(spots), webhooks.Sending(ON_PREMISE), clock)
    alert(db, world, clock)
    assert webhooks.deliver_due(db, clock.now(), webhooks.Sending(policy)) == 0
    (row,) = deliveries(db, hook)
    assert row.last_error == said
    assert row.next_attempt_at is not None  # tried again later


def test_a_name_that_no_longer_resolves_is_unreachable(
    db: Database, world: World, clock: FrozenClock
) -> None:
    seen: list[httpx.Request] = []
    sending = webhooks.Sending(resolve=Resolver([PUBLIC]), transport=recording(seen))
    hook = add(db, "https://gone.example.com/in", sending, clock)
    alert(db, world, clock)
    assert webhooks.deliver_due(db, clock.now(), sending) == 0
    assert (seen, deliveries(db, hook)[0].last_error) == ([], webhooks.UNREACHABLE)


def test_a_receiver_that_trickles_delays_no_other_receiver(
    db: Database,
    world: World,
    clock: FrozenClock,
    spots: list[Spot],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", PATIENCE)  # the slow one keeps trickling
    sending = webhooks.Sending(ON_PREMISE)
    slow = spot(spots, trickle)
    slow_hook = add(db, slow.url, sending, clock)  # first in line
    prompt_hook = add(db, spot(spots).url, sending, clock)
    alert(db, world, clock)
    alert(db, world, clock)
    sender = threading.Thread(target=webhooks.deliver_due, args=(db, clock.now(), sending))
    sender.start()
    try:
        wait_until(
            lambda: all(d.delivered_at for d in deliveries(db, prompt_hook)),
            "the prompt receiver's deliveries, while the slow one trickles",
        )
        assert len(slow.received) == 2
        assert not any(d.delivered_at or d.last_error for d in deliveries(db, slow_hook))
    finally:
        slow.release.set()
        sender.join(PATIENCE)
    assert not sender.is_alive()


def test_an_attempt_in_flight_is_sent_by_no_other_instance_past_its_deadline(
    db: Database,
    world: World,
    clock: FrozenClock,
    spots: list[Spot],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", PATIENCE)
    sending = webhooks.Sending(ON_PREMISE)
    receiver = spot(spots, hold)
    add(db, receiver.url, sending, clock)
    alert(db, world, clock)
    first = threading.Thread(target=webhooks.deliver_due, args=(db, clock.now(), sending))
    first.start()
    try:
        wait_until(lambda: receiver.received, "the first instance's attempt")
        # Another instance, once the attempt's deadline has passed: the lease still holds.
        deadline = clock.now() + timedelta(seconds=webhooks.TIMEOUT_SECONDS)
        assert webhooks.lease() > timedelta(seconds=webhooks.TIMEOUT_SECONDS)
        assert webhooks.deliver_due(db, deadline, sending) == 0
        assert len(receiver.received) == 1
    finally:
        receiver.release.set()
        first.join(PATIENCE)


def test_the_next_try_is_counted_from_the_end_of_the_failed_attempt(
    db: Database,
    world: World,
    clock: FrozenClock,
    spots: list[Spot],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seconds = [1000.0]  # the instance's monotonic clock: the attempt lasts an hour
    monkeypatch.setattr(webhooks, "monotonic", lambda: seconds[0])

    def slow_failure(handler: Handler) -> None:
        seconds[0] += 3600
        handler.send_response(503)
        handler.end_headers()

    hook = add(db, spot(spots, slow_failure).url, webhooks.Sending(ON_PREMISE), clock)
    alert(db, world, clock)
    started: datetime = clock.now()
    assert webhooks.deliver_due(db, started, webhooks.Sending(ON_PREMISE)) == 0
    (row,) = deliveries(db, hook)
    assert row.next_attempt_at == started + timedelta(hours=1) + webhooks.FIRST_RETRY


def test_a_resolver_that_does_not_answer_holds_no_registration(
    db: Database, world: World, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "LOOKUP_SECONDS", 0.1)
    answer = threading.Event()

    def silent(host: str, port: int) -> list[IPAddress]:
        answer.wait(PATIENCE)
        return [ipaddress.ip_address("127.0.0.1")]

    try:  # accepted as a name that does not resolve yet; every delivery checks it
        assert add(db, "https://slow.example.com/in", webhooks.Sending(resolve=silent), clock)
    finally:
        answer.set()
