"""create_app(settings): the only place that wires seatkeeper's pieces together."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from litestar import Litestar, Response, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from seatkeeper import housekeeping
from seatkeeper.clock import Clock, SystemClock
from seatkeeper.config import Settings
from seatkeeper.domain.events import Event
from seatkeeper.services import sso
from seatkeeper.services.heartbeats import Heartbeats
from seatkeeper.services.pace import OpenPace
from seatkeeper.services.secrets import CheckLimits, Passwords
from seatkeeper.storage.db import Database
from seatkeeper.storage.schema import ensure_current
from seatkeeper.web import errors, live, metrics
from seatkeeper.web.api.admin import admin_router
from seatkeeper.web.api.agent import agent_router
from seatkeeper.web.api.console import console_api_router
from seatkeeper.web.api.export import export_router
from seatkeeper.web.api.groups import groups_router
from seatkeeper.web.api.keys import keys_router
from seatkeeper.web.api.line import line_router
from seatkeeper.web.api.people import people_router
from seatkeeper.web.api.reports import reports_router
from seatkeeper.web.api.sso import sso_router
from seatkeeper.web.api.usage import usage_router
from seatkeeper.web.api.waits import waits_router
from seatkeeper.web.api.webhooks import webhooks_router
from seatkeeper.web.clients import ForwardedFor
from seatkeeper.web.deps import DEPENDENCIES, Runtime
from seatkeeper.web.docs import StrictStructs, openapi_config
from seatkeeper.web.errors import EXCEPTION_HANDLERS, AnyRequest
from seatkeeper.web.guard import MAX_BODY, RequestGuard
from seatkeeper.web.headers import add_security_headers
from seatkeeper.web.live import Hub
from seatkeeper.web.metrics import RequestTimer, app_metrics, metrics_page
from seatkeeper.web.pages import add_filters, pages_router
from seatkeeper.web.pages.common import http_error_page
from seatkeeper.web.pages.sso import provider_router

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"
API_PREFIXES = ("/api/", "/docs", "/static/", "/healthz", "/metrics")


@get("/healthz", summary="Liveness check", tags=["Operations"], sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def http_error(request: AnyRequest, exc: HTTPException) -> Response[Any]:
    """An address that leads nowhere: a page for people, the JSON error for programs."""
    if exc.status_code == 404 and not request.url.path.startswith(API_PREFIXES):
        return http_error_page(request, exc)
    return errors.http_error(request, exc)


@contextlib.asynccontextmanager
async def background(app: Litestar) -> AsyncIterator[None]:
    """The instance's work beside requests, from startup to shutdown: the change feed the
    live pages hear of, the heartbeat writer, and the periodic tasks."""
    runtime: Runtime = app.state.runtime
    async with live.following(runtime.db, runtime.clock, app.state.hub):
        runtime.heartbeats.start()
        try:
            async with housekeeping.running(runtime.db, runtime.clock, app.state.housekeeping):
                yield
        finally:
            await anyio.to_thread.run_sync(runtime.heartbeats.stop)  # nothing received is lost


def create_app(
    settings: Settings, *, clock: Clock | None = None, database: Database | None = None
) -> Litestar:
    """The seatkeeper web application. Refuses a database whose schema is not current."""
    db = database or Database(settings.database_url)
    ensure_current(db.engine)
    hub = Hub()
    db.after_commit = partial(_committed, hub)
    clock = clock or SystemClock()
    runtime = _runtime(settings, db, clock)
    token = settings.metrics_token
    times = metrics.RequestTimes()
    return Litestar(
        route_handlers=_handlers(),
        dependencies=DEPENDENCIES,
        exception_handlers={**EXCEPTION_HANDLERS, HTTPException: http_error},
        openapi_config=openapi_config(),
        plugins=[StrictStructs()],
        template_config=TemplateConfig(
            directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=add_filters
        ),
        state=State(
            {
                "runtime": runtime,
                "hub": hub,
                "housekeeping": housekeeping.tasks(settings),
                "request_times": times,
                "app_metrics": app_metrics(db, clock, times),
                "metrics_token": token.get_secret_value() if token is not None else None,
            }
        ),
        middleware=[ForwardedFor(settings.forwarded_allow_ips), RequestTimer, RequestGuard()],
        before_send=[add_security_headers],  # every answer, errors and /docs included
        lifespan=[background],
        on_shutdown=[db.dispose] if database is None else [],
        request_max_body_size=MAX_BODY,
        # Logging is the entry point's (web.logs, one format for all): Litestar's own would
        # give the root logger a second format.
        logging_config=None,
    )


def _committed(hub: Hub, events: Sequence[Event]) -> None:
    """This instance counts what its writes did, and its own pages and places in line hear
    of them at once (other instances' writes come through the change feed)."""
    metrics.count(events)
    hub.publish_events(events)


def _handlers() -> list[Any]:
    """Every route of the application: the API's, the pages', health, metrics, static."""
    return [
        agent_router,
        waits_router,
        admin_router,
        usage_router,
        line_router,
        export_router,
        reports_router,
        people_router,
        groups_router,
        webhooks_router,
        keys_router,
        sso_router,
        pages_router,
        console_api_router,
        provider_router,
        healthz,
        metrics_page,
        create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
    ]


def _runtime(settings: Settings, db: Database, clock: Clock) -> Runtime:
    """What every request works with, as the settings make it."""
    return Runtime(
        db=db,
        clock=clock,
        passwords=Passwords(
            fast=settings.fast_password_hashing,
            limits=CheckLimits.for_machine(settings.login_checks, settings.login_queue),
        ),
        login_lifetime=timedelta(hours=settings.login_hours),
        heartbeats=Heartbeats(db, clock, batch_seconds=settings.heartbeat_batch_seconds),
        public_url=settings.public_url,
        webhook_sending=housekeeping.webhook_sending(settings),
        ticket_timeout=timedelta(seconds=settings.ticket_seconds),
        opens=OpenPace(settings.opens_per_minute),
        sso=sso.from_settings(settings),
    )


def app_from_environment() -> Litestar:
    """App factory for server processes started by uvicorn (several workers)."""
    return create_app(Settings())
