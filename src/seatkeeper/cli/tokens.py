"""`seatkeeper tokens`: application keys and user API tokens."""

from __future__ import annotations

import click

from seatkeeper.cli import operator
from seatkeeper.cli.common import Context, clock, opened, pass_context
from seatkeeper.domain.model import KeyKind
from seatkeeper.services import accounts


@click.group("tokens")
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
    with opened(context) as database:
        if kind == KeyKind.USER.value:
            assert username is not None
            key = accounts.create_user_token(
                database,
                operator.who(),
                account_slug=account,
                username=username,
                name=name,
                now=clock.now(),
            )
        else:
            key = accounts.create_application_key(
                database, operator.who(), account_slug=account, name=name, now=clock.now()
            )
    click.echo(key)
    click.echo("Keep it safe: seatkeeper stores only its hash and cannot show it again.", err=True)
