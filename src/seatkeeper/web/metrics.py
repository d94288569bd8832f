"""GET /metrics for Prometheus: open to this machine, or to whoever holds the metrics token."""

from __future__ import annotations

import hmac
import ipaddress
import time

from litestar import Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry

from seatkeeper import metrics
from seatkeeper.clock import Clock
from seatkeeper.domain.errors import InvalidToken, MissingCredentials, NotAllowed
from seatkeeper.services import accounts
from seatkeeper.storage.db import Database
from seatkeeper.web.deps import bearer_token
from seatkeeper.web.errors import AnyRequest, responses


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


def app_metrics(db: Database, clock: Clock, times: metrics.RequestTimes) -> CollectorRegistry:
    """The app's own metrics: its requests' times, and the gauges read from the database
    at each scrape."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(times)
    registry.register(metrics.Licenses(lambda: accounts.license_use(db, clock.now())))
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
    elif request.client is None or not _loopback(request.client.host):
        raise NotAllowed(
            "Metrics are answered only on this machine unless SEATKEEPER_METRICS_TOKEN is set."
        )
    body = metrics.exposition(request.app.state.app_metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _loopback(host: str) -> bool:
    """Whether a client address is this machine's (IPv4 seen through IPv6 too)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)
