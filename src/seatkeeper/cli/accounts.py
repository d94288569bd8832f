"""`seatkeeper accounts`: license totals, time zones, session timeouts."""

from __future__ import annotations

from datetime import timedelta

import click

from seatkeeper.cli import operator
from seatkeeper.cli.common import (
    LICENSES,
    OVERDRAFT,
    SLUG,
    TIME_ZONE,
    TIMEOUT,
    Context,
    clock,
    opened,
    pass_context,
)
from seatkeeper.domain import alerts as alert_rules
from seatkeeper.domain import validation
from seatkeeper.domain.model import SettingsChange
from seatkeeper.domain.words import plural
from seatkeeper.services import accounts
from seatkeeper.services.settings import change_settings
from seatkeeper.web import presenters as shown


@click.group("accounts")
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
    with opened(context) as database:
        account = accounts.create_account(
            database,
            operator.who(),
            slug=slug,
            name=name or slug,
            licenses=licenses,
            time_zone=time_zone,
            session_timeout=timeout,
            guests_allowed=guests,
            console_enabled=console,
            now=clock.now(),
        )
    click.echo(f"Created account {account.slug!r} with {plural(account.licenses, 'license')}.")


@accounts_group.command("list")
@pass_context
def accounts_list(context: Context) -> None:
    """List accounts with the licenses in use now."""
    with opened(context) as database:
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
                f"{shown.timeout_minutes(a):g} min",
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
@click.option(
    "--overdraft",
    type=OVERDRAFT,
    help="Sessions allowed beyond the licenses, each marked as overdraft (0 by default).",
)
@click.option("--time-zone", type=TIME_ZONE, help="IANA time zone.")
@click.option("--timeout", type=TIMEOUT, help="Session timeout in minutes.")
@click.option("--guests/--no-guests", default=None, help="Allow Guest sessions.")
@click.option("--console/--no-console", default=None, help="Allow the agent console.")
@click.option(
    "--alert-levels",
    metavar="PERCENTS",
    help="Capacity alert levels, percentages of the licenses: 90,100 (the default).",
)
@click.option(
    "--max-interactions",
    type=click.IntRange(1, validation.MAX_INTERACTIONS),
    help="Interactions one session may have open at once (10 by default).",
)
@click.option(
    "--retention-days",
    type=click.IntRange(validation.MIN_RETENTION_DAYS, validation.MAX_RETENTION_DAYS),
    help="Days session, Interaction and refusal rows are kept (400 by default); their "
    "daily figures are kept for good.",
)
@pass_context
def accounts_set(
    context: Context,
    slug: str,
    name: str | None,
    licenses: int | None,
    overdraft: int | None,
    time_zone: str | None,
    timeout: timedelta | None,
    guests: bool | None,
    console: bool | None,
    alert_levels: str | None,
    max_interactions: int | None,
    retention_days: int | None,
) -> None:
    """Change an account's settings. Lowering licenses below use ends no session."""
    with opened(context) as database:
        account = change_settings(
            database,
            operator.who(),
            slug,
            SettingsChange(
                name=name,
                licenses=licenses,
                overdraft=overdraft,
                time_zone=time_zone,
                session_timeout=timeout,
                guests_allowed=guests,
                console_enabled=console,
                alert_levels=None
                if alert_levels is None
                else alert_rules.parse_levels(alert_levels),
                max_interactions=max_interactions,
                retention_days=retention_days,
            ),
            now=clock.now(),
        ).account
    beyond = f" and an overdraft of {account.overdraft:,}" if account.overdraft else ""
    click.echo(
        f"Account {account.slug!r}: {plural(account.licenses, 'license')}{beyond}, "
        f"{account.time_zone}, "
        f"timeout {shown.timeout_minutes(account):g} min, "
        f"guests {'allowed' if account.guests_allowed else 'not allowed'}, "
        f"agent console {'on' if account.console_enabled else 'off'}, "
        f"alerts at {', '.join(f'{level}%' for level in account.alert_levels)}, "
        f"at most {plural(account.max_interactions, 'Interaction')} open per session, "
        f"usage rows kept {plural(account.retention_days, 'day')}."
    )
