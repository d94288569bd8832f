"""The seatkeeper command: serve, demo, db, accounts, users, tokens."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from seatkeeper import operator
from seatkeeper.clock import SystemClock
from seatkeeper.config import Settings
from seatkeeper.domain import alerts as alert_rules
from seatkeeper.domain import usage as usage_domain
from seatkeeper.domain import validation
from seatkeeper.domain.errors import DomainError
from seatkeeper.domain.model import KeyKind, Role
from seatkeeper.services import accounts, flows, history, users
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database
from seatkeeper.storage.schema import StaleSchema, ensure_current, upgrade

clock = SystemClock()
# On stop, requests get this long to finish; then open streams are cut (browsers reconnect
# to another instance), so that a rolling restart never waits on a page left open.
GRACEFUL_SECONDS = 5


class _Checked(click.ParamType[Any, Any]):
    """A parameter checked by one of the domain's validation rules."""

    def __init__(self, name: str, convert: Callable[[Any], Any]) -> None:
        self.name = name
        self._convert = convert

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self._convert(value)
        except DomainError as exc:
            self.fail(exc.message, param, ctx)
        except ValueError:
            self.fail(f"{value!r} is not a whole number.", param, ctx)


TIME_ZONE = _Checked("time zone", lambda v: validation.time_zone(v).key)
LICENSES = _Checked("count", lambda v: validation.licenses(int(v)))
TIMEOUT = _Checked("minutes", lambda v: validation.session_timeout(timedelta(minutes=int(v))))
SLUG = _Checked("slug", validation.slug)
ROLE = click.Choice([r.value for r in Role])


class Context:
    """What every command needs: settings (options override the environment)."""

    def __init__(self, database_url: str | None) -> None:
        overrides = {"database_url": database_url} if database_url else {}
        self.settings = Settings(**overrides)  # type: ignore[arg-type]

    def database(self) -> Database:
        """The database, refusing one whose schema is not current."""
        db = Database(self.settings.database_url)
        try:
            ensure_current(db.engine)
        except StaleSchema as exc:
            db.dispose()
            raise click.ClickException(str(exc)) from exc
        return db


pass_context = click.make_pass_decorator(Context)


class _Commands(click.Group):
    """Turns any refusal from the services into a clear message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        except ValidationError as exc:
            problems = "; ".join(
                f"SEATKEEPER_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                for e in exc.errors()
            )
            raise click.UsageError(f"Invalid setting: {problems}.") from exc
        except (OperationalError, ArgumentError, NoSuchModuleError) as exc:
            reason = getattr(exc, "orig", None) or exc
            raise click.ClickException(f"seatkeeper cannot use the database: {reason}") from exc


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--database-url",
    metavar="URL",
    help="Database URL (default: $SEATKEEPER_DATABASE_URL, else sqlite:///seatkeeper.db).",
)
@click.version_option(package_name="seatkeeper")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """seatkeeper: concurrent licenses for agent applications."""
    ctx.obj = Context(database_url)


@main.command()
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
            forwarded_allow_ips=settings.forwarded_allow_ips,
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
        forwarded_allow_ips=settings.forwarded_allow_ips,
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


@main.group()
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


@main.group("accounts")
def accounts_group() -> None:
    """Accounts: license totals, time zones, session timeouts."""


@accounts_group.command("create")
@click.argument("slug", type=SLUG)
@click.option("--name", help="Display name (default: the slug).")
@click.option("--licenses", type=LICENSES, required=True, help="Concurrent licenses owned.")
@click.option(
    "--time-zone",
    type=TIME_ZONE,
    default="UTC",
    show_default=True,
    help="IANA time zone the account's pages use.",
)
@click.option(
    "--timeout",
    type=TIMEOUT,
    default="30",
    show_default=True,
    help="Session timeout in minutes without activity.",
)
@click.option(
    "--guests/--no-guests",
    default=True,
    show_default=True,
    help="Whether agents may open sessions without logging in.",
)
@click.option(
    "--console/--no-console",
    default=False,
    show_default=True,
    help="Whether seatkeeper's own agent console (/console/ACCOUNT) may open sessions.",
)
@pass_context
def accounts_create(
    context: Context,
    slug: str,
    name: str | None,
    licenses: int,
    time_zone: str,
    timeout: timedelta,
    guests: bool,
    console: bool,
) -> None:
    """Create an account."""
    with _database(context) as database:
        account = accounts.create_account(
            database,
            slug=slug,
            name=name or slug,
            licenses=licenses,
            time_zone=time_zone,
            session_timeout=timeout,
            guests_allowed=guests,
            console_enabled=console,
            now=clock.now(),
        )
    click.echo(f"Created account {account.slug!r} with {account.licenses} licenses.")


@accounts_group.command("list")
@pass_context
def accounts_list(context: Context) -> None:
    """List accounts with the licenses in use now."""
    with _database(context) as database:
        summaries = accounts.list_accounts(database, now=clock.now())
    if not summaries:
        click.echo("No accounts yet. Create one with `seatkeeper accounts create`.")
        return
    rows = [("ACCOUNT", "NAME", "IN USE", "TIME ZONE", "TIMEOUT", "GUESTS")]
    for s in summaries:
        a = s.account
        rows.append(
            (
                a.slug,
                a.name,
                f"{s.in_use} / {a.licenses}",
                a.time_zone,
                f"{a.session_timeout.total_seconds() / 60:g} min",
                "yes" if a.guests_allowed else "no",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@accounts_group.command("set")
@click.argument("slug")
@click.option("--name", help="Display name.")
@click.option("--licenses", type=LICENSES, help="Concurrent licenses owned.")
@click.option("--time-zone", type=TIME_ZONE, help="IANA time zone.")
@click.option("--timeout", type=TIMEOUT, help="Session timeout in minutes.")
@click.option("--guests/--no-guests", default=None, help="Allow Guest sessions.")
@click.option("--console/--no-console", default=None, help="Allow the agent console.")
@click.option(
    "--alert-levels",
    metavar="PERCENTS",
    help="Capacity alert levels, percentages of the licenses: 90,100 (the default).",
)
@pass_context
def accounts_set(
    context: Context,
    slug: str,
    name: str | None,
    licenses: int | None,
    time_zone: str | None,
    timeout: timedelta | None,
    guests: bool | None,
    console: bool | None,
    alert_levels: str | None,
) -> None:
    """Change an account's settings. Lowering licenses below use ends no session."""
    with _database(context) as database:
        account = accounts.update_account(
            database,
            slug,
            now=clock.now(),
            actor=operator.who(),
            name=name,
            licenses=licenses,
            time_zone=time_zone,
            session_timeout=timeout,
            guests_allowed=guests,
            console_enabled=console,
            alert_levels=None if alert_levels is None else alert_rules.parse_levels(alert_levels),
        )
    click.echo(
        f"Account {account.slug!r}: {account.licenses} licenses, {account.time_zone}, "
        f"timeout {account.session_timeout.total_seconds() / 60:g} min, "
        f"guests {'allowed' if account.guests_allowed else 'not allowed'}, "
        f"agent console {'on' if account.console_enabled else 'off'}, "
        f"alerts at {', '.join(f'{level}%' for level in account.alert_levels)}."
    )


@main.group("users")
def users_group() -> None:
    """Users who log in: agents and admins."""


@users_group.command("create")
@click.argument("account")
@click.argument("username")
@click.option("--role", type=ROLE, default=Role.AGENT.value, show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--link", is_flag=True, help="No password: print a one-time link to set one.")
@pass_context
def users_create(
    context: Context, account: str, username: str, role: str, password_stdin: bool, link: bool
) -> None:
    """Create a user. The password is asked for (or read from stdin) and stored hashed."""
    password = None if link else _new_password(password_stdin)
    passwords = Passwords(fast=context.settings.fast_password_hashing)
    with _database(context) as database:
        handed = users.add_user(
            database, passwords, operator.who(), account,
            username=username, role=Role(role), password=password, now=clock.now(),
        )  # fmt: skip
    click.echo(f"Created {handed.user.role.value} {username!r} in account {account!r}.")
    _print_link(handed)


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _print_link(handed: users.Handed) -> None:
    if handed.link_token is not None:
        click.echo(
            f"One-time link (valid 7 days, shown once): <server>/set-password/{handed.link_token}"
        )


@users_group.command("list")
@click.argument("account")
@pass_context
def users_list(context: Context, account: str) -> None:
    """The account's users: role, last login, and whether they are disabled."""
    with _database(context) as database:
        found, rows = users.list_users(database, operator.who(), account)
    tz = ZoneInfo(found.time_zone)
    for u in rows:
        seen = (
            "never"
            if u.last_login_at is None
            else f"{u.last_login_at.astimezone(tz):%Y-%m-%d %H:%M}"
        )
        state = "  disabled" if u.disabled_at is not None else ""
        click.echo(f"{u.username:<24} {u.role.value:<14} last login {seen}{state}")


@users_group.command("set")
@click.argument("account")
@click.argument("username")
@click.option("--role", type=ROLE, help="A new role.")
@click.option("--disable/--enable", "disable", default=None, help="Disabling ends their session.")
@pass_context
def users_set(
    context: Context, account: str, username: str, role: str | None, disable: bool | None
) -> None:
    """Change a user's role, or disable or enable them."""
    with _database(context) as database:
        handed = users.change_user(
            database, operator.who(), account, username,
            role=None if role is None else Role(role),
            enabled=None if disable is None else not disable, now=clock.now(),
        )  # fmt: skip
    state = "disabled" if handed.user.disabled_at is not None else "enabled"
    click.echo(f"{username!r} is {handed.user.role.value}, {state}.")


@users_group.command("reset-password")
@click.argument("account")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
@pass_context
def users_reset_password(
    context: Context, account: str, username: str, password_stdin: bool
) -> None:
    """Set a new password (from stdin), or print a one-time link to set one."""
    password = _new_password(True) if password_stdin else None
    passwords = Passwords(fast=context.settings.fast_password_hashing)
    with _database(context) as database:
        handed = users.reset_password(
            database, passwords, operator.who(), account, username,
            password=password, now=clock.now(),
        )  # fmt: skip
    click.echo(f"{username!r}'s password was reset.")
    _print_link(handed)


@main.group("flows")
def flows_group() -> None:
    """Flows: the guided procedures agents open as Interactions."""


@flows_group.command("add")
@click.argument("account")
@click.argument("name")
@click.option(
    "--step",
    "steps",
    multiple=True,
    required=True,
    metavar="TITLE",
    help="A step's title; repeat in order, once per step.",
)
@pass_context
def flows_add(context: Context, account: str, name: str, steps: tuple[str, ...]) -> None:
    """Register a Flow with its steps."""
    with _database(context) as database:
        flow = flows.add_flow(database, account, name=name, steps=steps, now=clock.now())
    click.echo(f"Added the Flow {flow.name!r} ({len(flow.steps)} steps) to {account!r}.")


@flows_group.command("list")
@click.argument("account")
@pass_context
def flows_list(context: Context, account: str) -> None:
    """List an account's Flows and their steps."""
    with _database(context) as database:
        found = flows.list_flows(database, account)
    if not found:
        click.echo(f"{account!r} has no Flows yet. Add one with `seatkeeper flows add`.")
    for flow in found:
        click.echo(f"{flow.name}: " + " → ".join(flow.steps))


@flows_group.command("remove")
@click.argument("account")
@click.argument("name")
@pass_context
def flows_remove(context: Context, account: str, name: str) -> None:
    """Remove a Flow (Interactions already open keep working)."""
    with _database(context) as database:
        flows.remove_flow(database, account, name=name)
    click.echo(f"Removed the Flow {name!r} from {account!r}.")


@main.group("tokens")
def tokens_group() -> None:
    """Application keys and user API tokens (shown once, stored hashed)."""


@tokens_group.command("create")
@click.argument("account")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in KeyKind]),
    required=True,
    help="application: opens agent sessions for the account; user: calls the API as --user, "
    "with that user's role (an admin's token is an admin API token).",
)
@click.option("--user", "username", help="The user a user token acts as.")
@click.option("--name", default="cli", show_default=True, help="A label for the key.")
@pass_context
def tokens_create(
    context: Context, account: str, kind: str, username: str | None, name: str
) -> None:
    """Create a key and print it once."""
    if kind == KeyKind.USER.value and not username:
        raise click.UsageError("A user token acts as a user: give --user USERNAME.")
    if kind == KeyKind.APPLICATION.value and username:
        raise click.UsageError("An application key belongs to the account: leave out --user.")
    with _database(context) as database:
        if kind == KeyKind.USER.value:
            assert username is not None
            key = accounts.create_user_token(
                database, account_slug=account, username=username, name=name, now=clock.now()
            )
        else:
            key = accounts.create_application_key(
                database, account_slug=account, name=name, now=clock.now()
            )
    click.echo(key)
    click.echo("Keep it safe: seatkeeper stores only its hash and cannot show it again.", err=True)


SERVER = click.option(
    "--server",
    envvar="SEATKEEPER_SERVER_URL",
    metavar="URL",
    help="Work through this running seatkeeper's admin API instead of the database "
    "(default: $SEATKEEPER_SERVER_URL).",
)
TOKEN = click.option(
    "--token",
    envvar="SEATKEEPER_TOKEN",
    help="An admin API token, with --server ($SEATKEEPER_TOKEN).",
)


def _source(context: Context, server: str | None, token: str | None) -> operator.Source:
    if server is None:
        return context.database
    if not token:
        raise click.UsageError("--server needs --token (or SEATKEEPER_TOKEN): an admin API token.")
    return operator.Remote(server, token)


@main.group("history")
def history_group() -> None:
    """The usage days seatkeeper keeps (it computes them by itself; this is for operators)."""


@history_group.command("rebuild")
@click.argument("slugs", nargs=-1, metavar="[ACCOUNT]...")
@pass_context
def history_rebuild(context: Context, slugs: tuple[str, ...]) -> None:
    """Compute the kept usage days again from the session rows (every account by default)."""
    with _database(context) as database:
        chosen = (
            [accounts.get_account(database, slug) for slug in slugs]
            if slugs
            else accounts.all_accounts(database)
        )
        now = clock.now()
        days = len(usage_domain.window_days(now, ZoneInfo("UTC")))
        with click.progressbar(
            length=days * len(chosen), label="Counting usage days", show_pos=True
        ) as bar:
            for account in chosen:
                history.rebuild(database, account, now, on_day=lambda: bar.update(1))
    click.echo(f"Kept the usage days of {len(chosen)} account{'' if len(chosen) == 1 else 's'}.")


@main.group("sessions")
def sessions_group() -> None:
    """Open agent sessions: list them, terminate them."""


@sessions_group.command("list")
@click.argument("account")
@click.option(
    "--sort",
    type=click.Choice(["agent_id", "session_start", "open_interactions_count"]),
    default="session_start",
    show_default=True,
)
@click.option("--desc", is_flag=True, help="Largest (or latest) first.")
@click.option("--search", metavar="TEXT", help="Only agent ids or open Flows containing TEXT.")
@click.option("--json", "as_json", is_flag=True, help="The API's JSON instead of a table.")
@SERVER
@TOKEN
@pass_context
def sessions_list(
    context: Context,
    account: str,
    sort: str,
    desc: bool,
    search: str | None,
    as_json: bool,
    server: str | None,
    token: str | None,
) -> None:
    """List the account's open sessions."""
    body = operator.sessions(_source(context, server, token), account, sort, desc, search)
    click.echo(json.dumps(body, indent=2) if as_json else operator.session_table(body))


@sessions_group.command("terminate")
@click.argument("account")
@click.argument("session_ids", nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="Terminate without asking.")
@SERVER
@TOKEN
@pass_context
def sessions_terminate(
    context: Context,
    account: str,
    session_ids: tuple[str, ...],
    yes: bool,
    server: str | None,
    token: str | None,
) -> None:
    """Terminate sessions and free their licenses (asks first, unless --yes)."""
    ids = operator.session_ids(session_ids)
    source = _source(context, server, token)
    count = f"{len(ids)} session{'' if len(ids) == 1 else 's'}"
    if not yes:
        click.confirm(f"Terminate {count} of {account}? Their agents are told at once.", abort=True)
    done = operator.terminate(source, account, ids)
    click.echo(f"{done['terminated']} of {count} terminated.")
    for sid in done["already_ended"]:
        click.echo(f"{sid}: had already ended.")
    if done["not_found"]:
        missing = ", ".join(done["not_found"])
        raise click.ClickException(f"Not sessions of {account}: {missing}")


@main.command("usage")
@click.argument("account")
@click.option("--json", "as_json", is_flag=True, help="The API's JSON instead of a chart.")
@SERVER
@TOKEN
@pass_context
def usage_command(
    context: Context, account: str, as_json: bool, server: str | None, token: str | None
) -> None:
    """The account's licenses in use, daily average and max, and a 30-day chart."""
    body = operator.usage(_source(context, server, token), account)
    click.echo(json.dumps(body, indent=2) if as_json else operator.usage_chart(body))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--agents",
    type=click.IntRange(0, 200),
    default=12,
    show_default=True,
    help="Simulated agents working live.",
)
@pass_context
def demo(context: Context, host: str, port: int, agents: int) -> None:
    """Run seatkeeper with a demo account, 30 days of history and live simulated agents.

    Uses ./seatkeeper-demo.db unless --database-url (or $SEATKEEPER_DATABASE_URL) is given.
    """
    from seatkeeper.demo.runner import run_demo

    explicit = click.get_current_context().find_root().params.get("database_url")
    url = explicit or os.environ.get("SEATKEEPER_DATABASE_URL") or "sqlite:///seatkeeper-demo.db"
    run_demo(
        context.settings.model_copy(update={"database_url": url}),
        host=host,
        port=port,
        agents=agents,
    )


@contextmanager
def _database(context: Context) -> Iterator[Database]:
    """The database for one command, disposed of afterwards."""
    database = context.database()
    try:
        yield database
    finally:
        database.dispose()
