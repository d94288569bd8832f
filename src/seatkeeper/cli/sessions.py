"""`seatkeeper sessions` and `seatkeeper usage`: the operator commands, on the database or
through a running server."""

from __future__ import annotations

import json

import click

from seatkeeper.cli import operator
from seatkeeper.cli.common import Context, pass_context
from seatkeeper.domain import periods
from seatkeeper.domain.words import plural

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


@click.group("sessions")
def sessions_group() -> None:
    """Open agent sessions: list them, terminate them; who waits for a license."""


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


@sessions_group.command("waiting")
@click.argument("account")
@click.option("--json", "as_json", is_flag=True, help="The API's JSON instead of a table.")
@SERVER
@TOKEN
@pass_context
def sessions_waiting(
    context: Context, account: str, as_json: bool, server: str | None, token: str | None
) -> None:
    """Who waits in the account's line for a license, first first."""
    body = operator.waiting(_source(context, server, token), account)
    click.echo(json.dumps(body, indent=2) if as_json else operator.waiting_table(body))


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
    count = plural(len(ids), "session")
    if not yes:
        click.confirm(f"Terminate {count} of {account}? Their agents are told at once.", abort=True)
    done = operator.terminate(source, account, ids)
    click.echo(f"{done['terminated']} of {count} terminated.")
    for sid in done["already_ended"]:
        click.echo(f"{sid}: had already ended.")
    if done["not_found"]:
        missing = ", ".join(done["not_found"])
        raise click.ClickException(f"Not sessions of {account}: {missing}")


@click.command("usage")
@click.argument("account")
@click.option(
    "--period",
    type=click.Choice(list(periods.NAMED)),
    help="The last 30 days (the default), 90 days, or 12 calendar months.",
)
@click.option(
    "--from", "first", metavar="YYYY-MM-DD", help="The first day, in the account's time zone."
)
@click.option("--to", "last", metavar="YYYY-MM-DD", help="The last day, today at the latest.")
@click.option(
    "--by",
    type=click.Choice(periods.STEPS),
    help=f"A line a day, or a row a month (the true-up table). Default: days up to "
    f"{periods.DAYS_SHOWN} days, months beyond.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="A table (or chart), the download's CSV, or the API's JSON.",
)
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@SERVER
@TOKEN
@pass_context
def usage_command(
    context: Context,
    account: str,
    period: str | None,
    first: str | None,
    last: str | None,
    by: str | None,
    fmt: str,
    as_json: bool,
    server: str | None,
    token: str | None,
) -> None:
    """The account's licenses in use, daily average and max, and a chart of the period (the
    last 30 days by default); by month, the true-up table."""
    asked = periods.Asked(period, first, last, by)
    source = _source(context, server, token)
    if fmt == "csv" and not as_json:
        click.echo(operator.usage_csv(source, account, asked), nl=False)
        return
    body = operator.usage(source, account, asked)
    if as_json or fmt == "json":
        click.echo(json.dumps(body, indent=2))
    elif body["period"]["by"] == "month":
        click.echo(operator.trueup_table(body))
    else:
        click.echo(operator.usage_chart(body))
