"""`seatkeeper groups`: seat groups, with licenses reserved for their members and a maximum."""

from __future__ import annotations

import click

from seatkeeper.cli import operator
from seatkeeper.cli.common import Context, clock, opened, pass_context
from seatkeeper.domain.model import SeatGroup
from seatkeeper.domain.words import plural
from seatkeeper.services import groups

RESERVED = click.option("--reserved", type=int, help="Licenses only its members may hold.")
MAXIMUM = click.option("--maximum", type=int, help="The most sessions its members hold at once.")
NO_MAXIMUM = click.option("--no-maximum", is_flag=True, help="Take its maximum away.")


@click.group("groups")
def groups_group() -> None:
    """Seat groups: licenses reserved for a team, and the most it holds at once."""


def _described(group: SeatGroup) -> str:
    most = "no maximum" if group.maximum is None else f"at most {group.maximum:,}"
    return f"{group.name!r}: {plural(group.reserved, 'license')} reserved, {most}"


def _maximum(maximum: int | None, no_maximum: bool) -> int | groups.Keep | None:
    if no_maximum and maximum is not None:
        raise click.UsageError("Give --maximum or --no-maximum, not both.")
    return None if no_maximum else groups.KEEP if maximum is None else maximum


@groups_group.command("list")
@click.argument("account")
@pass_context
def groups_list(context: Context, account: str) -> None:
    """The account's groups: reserved licenses, maximum and members."""
    with opened(context) as database:
        found = groups.list_groups(database, operator.who(), account)
    for row in found.rows:
        group = row.group
        most = "-" if group.maximum is None else f"{group.maximum:,}"
        members = "Guest sessions" if group.guests else plural(row.members, "member")
        click.echo(f"{group.name:<24} reserved {group.reserved:<7,} maximum {most:<7} {members}")
    if not found.rows:
        click.echo(f"The account {account!r} has no seat groups.")


@groups_group.command("create")
@click.argument("account")
@click.argument("name")
@RESERVED
@MAXIMUM
@pass_context
def groups_create(
    context: Context, account: str, name: str, reserved: int | None, maximum: int | None
) -> None:
    """Create a group."""
    with opened(context) as database:
        made = groups.create_group(
            database, operator.who(), account, name=name, reserved=reserved or 0,
            maximum=maximum, now=clock.now(),
        )  # fmt: skip
    click.echo(f"Created group {_described(made)}.")


@groups_group.command("set")
@click.argument("account")
@click.argument("name")
@click.option("--name", "new_name", help="A new name.")
@RESERVED
@MAXIMUM
@NO_MAXIMUM
@pass_context
def groups_set(
    context: Context,
    account: str,
    name: str,
    new_name: str | None,
    reserved: int | None,
    maximum: int | None,
    no_maximum: bool,
) -> None:
    """Rename a group, or change its reserved licenses or maximum."""
    most = _maximum(maximum, no_maximum)
    with opened(context) as database:
        changed = groups.change_group(
            database, operator.who(), account, name, name=new_name, reserved=reserved,
            maximum=most, now=clock.now(),
        )  # fmt: skip
    click.echo(f"Group {_described(changed)}.")


@groups_group.command("delete")
@click.argument("account")
@click.argument("name")
@pass_context
def groups_delete(context: Context, account: str, name: str) -> None:
    """Delete a group: its members stay, its reserved licenses become unreserved."""
    with opened(context) as database:
        gone = groups.delete_group(database, operator.who(), account, name, now=clock.now())
    click.echo(f"Deleted group {gone.name!r}.")


@groups_group.command("members")
@click.argument("account")
@click.argument("name")
@click.argument("usernames", nargs=-1)
@pass_context
def groups_members(context: Context, account: str, name: str, usernames: tuple[str, ...]) -> None:
    """Make these users, and only them, the group's members (none: it has no members)."""
    with opened(context) as database:
        group, names = groups.set_members(
            database, operator.who(), account, name, usernames, now=clock.now()
        )
    listed = f": {', '.join(names)}" if names else ""
    click.echo(f"Group {group.name!r} has {plural(len(names), 'member')}{listed}.")


@groups_group.command("guests")
@click.argument("account")
@RESERVED
@MAXIMUM
@NO_MAXIMUM
@pass_context
def groups_guests(
    context: Context, account: str, reserved: int | None, maximum: int | None, no_maximum: bool
) -> None:
    """Set the Guests group's reserved licenses or maximum (every Guest session is in it)."""
    most = _maximum(maximum, no_maximum)
    with opened(context) as database:
        changed = groups.set_guests(
            database, operator.who(), account, reserved=reserved, maximum=most, now=clock.now()
        )
    click.echo(f"Group {_described(changed)}.")
