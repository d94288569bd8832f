"""`seatkeeper tokens`: application keys and user API tokens."""

from __future__ import annotations

from datetime import timedelta

import click

from seatkeeper.cli import operator
from seatkeeper.cli.common import Context, clock, opened, pass_context
from seatkeeper.domain import keys as key_rules
from seatkeeper.domain.model import KeyKind
from seatkeeper.domain.words import plural
from seatkeeper.services import keys
from seatkeeper.web import presenters as shown

KEEP_IT = "Keep it safe: seatkeeper stores only its hash and cannot show it again."
EXPIRES_IN = click.option(
    "--expires-in",
    type=click.FloatRange(min=0, min_open=True, max=key_rules.MAX_LIFETIME.days),
    metavar="DAYS",
    help="The key stops working after this many days (default: never).",
)


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
@EXPIRES_IN
@pass_context
def tokens_create(
    context: Context,
    account: str,
    kind: str,
    username: str | None,
    name: str,
    expires_in: float | None,
) -> None:
    """Create a key and print it once."""
    if kind == KeyKind.USER.value and not username:
        raise click.UsageError("A user token acts as a user: give --user USERNAME.")
    if kind == KeyKind.APPLICATION.value and username:
        raise click.UsageError("An application key belongs to the account: leave out --user.")
    now = clock.now()
    with opened(context) as database:
        made = keys.make_key(
            database, operator.who(), account, kind=KeyKind(kind), name=name, username=username,
            expires_at=key_rules.expiry_in_days(expires_in, now), now=now,
        )  # fmt: skip
    click.echo(made.secret)
    click.echo(f"{KEEP_IT} Its id is {made.key.id}.", err=True)


@tokens_group.command("list")
@click.argument("account")
@pass_context
def tokens_list(context: Context, account: str) -> None:
    """The account's keys and tokens, newest first (never their secrets)."""
    now = clock.now()
    with opened(context) as database:
        found = keys.list_keys(database, operator.who(), account)
    rows = [shown.api_key(k, found.account, now) for k in found.keys]
    head = ("ID", "NAME", "KIND", "USER", "CREATED", "LAST USED", "EXPIRES", "STATE")
    table = [head] + [
        (
            str(k.id),
            k.name,
            k.kind_label.lower(),
            k.username or "-",
            k.created_text,
            k.last_used_text.lower(),
            k.expires_text.lower(),
            k.state_text,
        )
        for k in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(head) - 1)]
    for row in table:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]))
    click.echo(f"Times are in {found.account.time_zone}.", err=True)


@tokens_group.command("revoke")
@click.argument("account")
@click.argument("key_id", type=click.IntRange(min=1, max=2**31 - 1), metavar="ID")
@pass_context
def tokens_revoke(context: Context, account: str, key_id: int) -> None:
    """Revoke a key or token (its ID from `tokens list`): refused at once, everywhere."""
    with opened(context) as database:
        _, key = keys.revoke_key(database, operator.who(), account, key_id, now=clock.now())
    what = "application key" if key.kind is KeyKind.APPLICATION else f"token of {key.username}"
    click.echo(f"Revoked the {what} {key.name!r} (id {key.id}).")


@tokens_group.command("rotate")
@click.argument("account")
@click.argument("key_id", type=click.IntRange(min=1, max=2**31 - 1), metavar="ID")
@click.option(
    "--grace",
    type=click.FloatRange(min=0, max=key_rules.MAX_GRACE.total_seconds() / 60),
    default=0,
    show_default=True,
    metavar="MINUTES",
    help="How long the old key keeps working beside the new one (0: it stops at once).",
)
@EXPIRES_IN
@pass_context
def tokens_rotate(
    context: Context, account: str, key_id: int, grace: float, expires_in: float | None
) -> None:
    """Replace an application key with a new one of the same name, printed once."""
    now = clock.now()
    with opened(context) as database:
        made = keys.rotate_key(
            database, operator.who(), account, key_id, grace=timedelta(minutes=grace),
            expires_at=key_rules.expiry_in_days(expires_in, now), now=now,
        )  # fmt: skip
    click.echo(made.secret)
    until = "stopped at once" if not grace else f"works {plural(grace, 'more minute')}"
    click.echo(f"{KEEP_IT} Its id is {made.key.id}; the old key {until}.", err=True)
