"""Prometheus metrics, and GET /metrics: open to this machine, or to whoever holds the
metrics token.

Counters say what this instance did, counted when the transaction that did it commits
(a rolled-back one counts nothing); Prometheus adds up the instances. Gauges say what
every account holds now, read from the database at each scrape, so every instance
reports the same. Requests are timed by RequestTimer.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence

from litestar import Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from seatkeeper.clock import Clock
from seatkeeper.domain.errors import InvalidToken, MissingCredentials, NotAllowed
from seatkeeper.domain.events import Event, OpenDenied, SessionEnded, SessionOpened
from seatkeeper.services import accounts
from seatkeeper.storage.db import Database
from seatkeeper.web.clients import client_address, socket_peer
from seatkeeper.web.deps import bearer_token
from seatkeeper.web.errors import AnyRequest, responses

SESSIONS_OPENED = Counter(
    "seatkeeper_sessions_opened", "Agent sessions opened (joins not counted)", ["account_id"]
)
SESSIONS_ENDED = Counter(
    "seatkeeper_sessions_ended",
    "Agent sessions ended: logout, timeout, terminated or disabled",
    ["account_id", "reason"],
)
DENIALS = Counter(
    "seatkeeper_denials", "Opens refused because every license was in use", ["account_id"]
)


def count(events: Sequence[Event]) -> None:
    """Count what a transaction did, once it has committed (Database.after_commit)."""
    for event in events:
        match event:
            case SessionOpened():
                SESSIONS_OPENED.labels(str(event.account_id)).inc()
            case SessionEnded():
                SESSIONS_ENDED.labels(str(event.account_id), event.reason.value).inc()
            case OpenDenied():
                DENIALS.labels(str(event.account_id)).inc()


Use = tuple[int, str, int, int]  # account id, slug, licenses in use, licenses owned


class Licenses(Collector):
    """Licenses in use and in all, per account, read at each scrape by `read`."""

    def __init__(self, read: Callable[[], Iterable[Use]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        labels = ["account_id", "account"]
        in_use = GaugeMetricFamily(
            "seatkeeper_licenses_in_use",
            "Open agent sessions, each holding a license",
            labels=labels,
        )
        total = GaugeMetricFamily(
            "seatkeeper_licenses_total", "Licenses the account owns", labels=labels
        )
        for account_id, slug, used, owned in self.read():
            in_use.add_metric([str(account_id), slug], used)
            total.add_metric([str(account_id), slug], owned)
        yield in_use
        yield total


class RequestTimes(Collector):
    """How many requests were answered and how long they took, by method, route and
    status, as a Prometheus histogram. Observed on the event loop's thread alone, with
    plain counts (prometheus_client's Histogram cost a third of a heartbeat)."""

    BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

    def __init__(self) -> None:
        self.series: dict[tuple[str, str, str], list[float]] = {}

    def observe(self, key: tuple[str, str, str], seconds: float) -> None:
        counts = self.series.get(key)
        if counts is None:  # one count per bucket, one over the last, then the sum
            counts = self.series[key] = [0.0] * (len(self.BUCKETS) + 2)
        counts[bisect_left(self.BUCKETS, seconds)] += 1
        counts[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "seatkeeper_request_seconds",
            "HTTP requests answered, and how long each took, by route",
            labels=["method", "route", "status"],
        )
        bounds = [*map(str, self.BUCKETS), "+Inf"]
        for key, counts in list(self.series.items()):
            *per_bucket, total = list(counts)
            cumulative, running = [], 0.0
            for bound, n in zip(bounds, per_bucket, strict=True):
                running += n
                cumulative.append((bound, running))
            family.add_metric(list(key), cumulative, total)
        yield family


def exposition(accounts: CollectorRegistry) -> bytes:
    """The text a scrape reads: this process's metrics, then the accounts'."""
    return generate_latest(REGISTRY) + generate_latest(accounts)


class RequestTimer:
    """Times every request by method, route and status (the route's template, so that
    session ids make no new series), into the app's RequestTimes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            key = (scope.get("method", ""), scope.get("path_template", "unmatched"), str(status))
            scope["app"].state.request_times.observe(key, time.perf_counter() - began)


def app_metrics(db: Database, clock: Clock, times: RequestTimes) -> CollectorRegistry:
    """The app's own metrics: its requests' times, and the gauges read from the database
    at each scrape."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(times)
    registry.register(Licenses(lambda: accounts.license_use(db, clock.now())))
    return registry


@get(
    "/metrics",
    summary="Prometheus metrics",
    tags=["Operations"],
    media_type=CONTENT_TYPE_LATEST,
    security=[{"MetricsToken": []}, {}],
    responses=responses(MissingCredentials, InvalidToken, NotAllowed),
    sync_to_thread=True,
)
def metrics_page(request: AnyRequest) -> Response[bytes]:
    token = request.app.state.metrics_token
    if token is not None:
        given = bearer_token(request)
        if given is None:
            raise MissingCredentials
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise InvalidToken
    elif not _local(request):
        raise NotAllowed(
            "Metrics are answered only on this machine unless SEATKEEPER_METRICS_TOKEN is set."
        )
    body = exposition(request.app.state.app_metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _local(request: AnyRequest) -> bool:
    """Whether the socket's peer is this machine, and no proxy forwarded the request from
    elsewhere: a header never makes a request local (it can only make it remote)."""
    peer = socket_peer(request)
    return peer is not None and _loopback(peer) and client_address(request) == peer


def _loopback(host: str) -> bool:
    """Whether a client address is this machine's (IPv4 seen through IPv6 too)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)
