"""`seatkeeper demo`: a demo account with 30 days of history, served, with live simulated agents."""

from __future__ import annotations

import errno
import logging
import signal
import socket
import textwrap
import threading
from collections.abc import Sequence
from types import FrameType

import click
import uvicorn
from sqlalchemy.engine import make_url

from seatkeeper.clock import SystemClock
from seatkeeper.config import Settings
from seatkeeper.demo.account import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    AGENT_PASSWORD,
    DemoAccount,
    backfill_history,
    provision,
)
from seatkeeper.demo.controls import pause_controls
from seatkeeper.demo.history import FREE_AGENTS, SIMULATED_AGENTS
from seatkeeper.demo.simulation import Simulation
from seatkeeper.domain.words import plural
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database
from seatkeeper.storage.schema import upgrade
from seatkeeper.web.app import create_app
from seatkeeper.web.logs import log_config

STARTUP_SECONDS = 15.0
SHUTDOWN_SECONDS = 10.0

clock = SystemClock()


def run_demo(
    settings: Settings, *, host: str, port: int, agents: int, paused: bool = False
) -> None:
    """Prepare the demo account and its history, then serve it with live agents until Ctrl-C."""
    listener = _listen(host, port)  # first, so that a busy port is reported before any work
    # `kill` stops the demo as cleanly as Ctrl-C does: agents log out first.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        demo = _prepare(settings)
        _serve(settings, listener, demo, host=host, port=port, agents=agents, paused=paused)
    except KeyboardInterrupt:
        click.echo("\nInterrupted before the demo started. Goodbye!")
    finally:
        listener.close()


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _prepare(settings: Settings) -> DemoAccount:
    """Migrate, provision and backfill, reporting as it goes."""
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    click.echo(f"Preparing the demo in {where} ...")
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        now = clock.now()
        demo = provision(db, Passwords(fast=settings.fast_password_hashing), now=now)
        filled = backfill_history(db, demo.account, now=now)
    finally:
        db.dispose()
    if filled.days:
        click.echo(
            f"Backfilled {plural(filled.days, 'day')} of history: "
            f"{plural(filled.sessions, 'session')}, {plural(filled.interactions, 'Interaction')}, "
            f"{plural(filled.denials, 'denial')}."
        )
    else:
        click.echo("History is already there for the past 30 days.")
    return demo


# --- serving --------------------------------------------------------------------------


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound and listening on host:port, or a clear refusal."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise click.ClickException(f"Cannot listen on {host!r}: {exc.strerror}.") from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(
                f"Port {port} on {host} is already in use. Stop the program using it, "
                "or choose another port with --port."
            ) from exc
        raise click.ClickException(f"Cannot listen on {host}:{port}: {exc.strerror}.") from exc
    return sock


def _serve(
    settings: Settings,
    listener: socket.socket,
    demo: DemoAccount,
    *,
    host: str,
    port: int,
    agents: int,
    paused: bool,
) -> None:
    """Run the server in a thread and the simulated agents beside it until Ctrl-C."""
    server, thread = _start_server(settings, listener, host=host, port=port)
    # The client logs every call at INFO: the console is for what the demo has to say.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    base_url = f"http://{_url_host(host)}:{port}"
    named, guests = crowd(agents)
    simulation = Simulation(
        base_url,
        demo.application_key,
        agents=[(username, AGENT_PASSWORD) for username in named],
        guests=guests,
        paused=paused,
    )
    try:
        simulation.start()
        with pause_controls(simulation) as how:
            _announce(demo, base_url=base_url, named=named, guests=guests, pause=how)
            if paused:
                click.echo("The simulated agents start paused.")
            while thread.is_alive():
                thread.join(0.5)
    except KeyboardInterrupt:
        _shutdown(simulation, server, thread)
        return
    _shutdown(simulation, server, thread)
    raise click.ClickException("The server stopped unexpectedly; see the messages above.")


def _start_server(
    settings: Settings, listener: socket.socket, *, host: str, port: int
) -> tuple[uvicorn.Server, threading.Thread]:
    """The app served on `listener` from a background thread, once it accepts requests."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=host,
            port=port,
            log_level="warning",  # uvicorn's: no line per request in the demo's console
            log_config=log_config("info"),
            proxy_headers=False,  # the app reads them, from the proxies the operator names
            timeout_graceful_shutdown=2,
        )
    )
    # uvicorn installs signal handlers only in the main thread: Ctrl-C stays ours.
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="seatkeeper-server", daemon=True
    )
    thread.start()
    try:
        _wait_started(server, thread)
    except BaseException:
        server.should_exit = True
        raise
    return server, thread


def crowd(agents: int) -> tuple[list[str], int]:
    """The live crowd: mostly logged-in simulated agents, about a quarter Guests."""
    named = min(agents - agents // 4, len(SIMULATED_AGENTS))
    return list(SIMULATED_AGENTS[:named]), agents - named


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    waited = 0.0
    while not server.started:
        if not thread.is_alive():
            raise click.ClickException("The server failed to start; see the messages above.")
        if waited > STARTUP_SECONDS:
            raise click.ClickException(f"The server did not start within {STARTUP_SECONDS:g} s.")
        thread.join(0.05)
        waited += 0.05


def _shutdown(simulation: Simulation, server: uvicorn.Server, thread: threading.Thread) -> None:
    click.echo("\nStopping: logging the simulated agents out ...")
    try:
        simulation.stop()
        server.should_exit = True
        thread.join(SHUTDOWN_SECONDS)
    except KeyboardInterrupt:
        # A second Ctrl-C: stop without waiting for anyone.
        server.should_exit = server.force_exit = True
        thread.join(1)
    stats = simulation.stats
    click.echo(
        f"The simulated agents opened {plural(stats.sessions, 'session')} and "
        f"{plural(stats.interactions, 'Interaction')}. Goodbye!"
    )


def _url_host(host: str) -> str:
    """The address to print for host: a wildcard becomes the loopback, IPv6 gets brackets."""
    if host in ("", "0.0.0.0"):  # noqa: S104 (only recognized, never bound here)
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _announce(
    demo: DemoAccount, *, base_url: str, named: Sequence[str], guests: int, pause: str
) -> None:
    account = demo.account
    api = f"{base_url}/api/v1/accounts/{account.slug}"
    auth = f"-H 'Authorization: Bearer {demo.admin_token}'"
    timeout = f"{account.session_timeout.total_seconds() / 60:g} min"
    levels = " and ".join(f"{level}%" for level in account.alert_levels)
    lines = [
        "",
        "seatkeeper demo is running.",
        "",
        f"  Active Agents      {base_url}/accounts/{account.slug}/active-agents",
        f"  Usage Report       {base_url}/accounts/{account.slug}/usage-report?period=12m",
        f"  License Holders    {base_url}/accounts/{account.slug}/holders",
        f"  Recently ended     {base_url}/accounts/{account.slug}/recently-ended",
        f"  Agent console      {base_url}/console/{account.slug}",
        f"  API docs           {base_url}/docs",
        f"  Account            {account.slug} ({account.name}): "
        f"{plural(account.licenses, 'license')}, {account.time_zone}, {timeout} timeout",
        f"  Capacity alerts    at {levels} of the licenses",
        f"  Admin login        account {account.slug}, user {ADMIN_USERNAME}, "
        f"password {ADMIN_PASSWORD}",
        f"  Agent logins       {', '.join(FREE_AGENTS)} (password {AGENT_PASSWORD}),",
        "                     whom the simulation never uses",
        f"  Admin API token    {demo.admin_token}",
        "                     (a new one at each run: the previous run's no longer works)",
        f"  Application key    {demo.application_key} (likewise)",
        f"  Simulated agents   {_simulated(named, guests)}",
        f"                     to pause or resume them: {pause}",
        "",
        "Try:",
        f"  curl {auth} {api}/active-sessions",
        f"  curl {auth} {api}/usage",
        f"  curl {auth} '{api}/ended-sessions?reason=terminated'",
        "",
        "Press Ctrl-C to stop.",
    ]
    click.echo("\n".join(lines))


def _simulated(named: Sequence[str], guests: int) -> str:
    """Who the simulated agents are, in words, wrapped under their heading."""
    people = [*named, *([plural(guests, "Guest")] if guests else [])]
    indent = " " * 21
    said = ", ".join(people) or "none"
    return textwrap.fill(said, 79, initial_indent=indent, subsequent_indent=indent).lstrip()
