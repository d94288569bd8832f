"""`seatkeeper serve` and `seatkeeper db`: serving the API and pages, and the schema."""

from __future__ import annotations

import os
import socket

import click

from seatkeeper.cli.common import Context, pass_context
from seatkeeper.storage.schema import upgrade
from seatkeeper.web.logs import log_config

# On stop, requests get this long to finish; then open streams are cut (browsers reconnect
# to another instance), so that a rolling restart never waits on a page left open.
GRACEFUL_SECONDS = 5


@click.command()
@click.option("--host", help="Address to listen on (default: $SEATKEEPER_HOST, else 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default 8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="Server processes (default 1).")
@click.option(
    "--fd",
    type=click.IntRange(0),
    help="Serve on this already-listening socket (from a process manager) instead.",
)
@pass_context
def serve(
    context: Context, host: str | None, port: int | None, workers: int | None, fd: int | None
) -> None:
    """Serve the HTTP API and pages."""
    import uvicorn

    settings = context.settings.model_copy(
        update={k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v}
    )
    context.database().dispose()  # refuse a stale schema before binding the port
    if fd is not None:
        _no_delay(fd)
    where = {"fd": fd} if fd is not None else {"host": settings.host, "port": settings.port}
    if settings.workers == 1:
        from seatkeeper.web.app import create_app

        uvicorn.run(
            create_app(settings),
            log_level=settings.log_level,
            proxy_headers=False,  # the app reads them, from the proxies the operator names
            log_config=log_config(settings.log_level),
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
            **where,
        )
        return
    os.environ["SEATKEEPER_DATABASE_URL"] = settings.database_url
    uvicorn.run(
        "seatkeeper.web.app:app_from_environment",
        factory=True,
        workers=settings.workers,
        log_level=settings.log_level,
        proxy_headers=False,
        log_config=log_config(settings.log_level),
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        **where,
    )


def _no_delay(fd: int) -> None:
    """Turn Nagle's algorithm off on a handed TCP socket (as `--host/--port` have it).

    uvicorn takes an inherited socket for a Unix one and leaves Nagle on for the
    connections it accepts, so each answer would wait ~40 ms for the client's delayed
    ACK. Accepted connections inherit TCP_NODELAY from the listening socket.
    """
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError as exc:
        raise click.BadParameter(
            f"{fd} is not an open socket: {exc.strerror}", param_hint="--fd"
        ) from exc
    with sock:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_context
def db_upgrade(context: Context) -> None:
    """Create or upgrade the schema to the newest revision."""
    before, after = upgrade(context.settings.database_url)
    if before == after:
        click.echo(f"The database is already at revision {after}.")
    else:
        click.echo(f"Upgraded the database from revision {before or '(empty)'} to {after}.")
