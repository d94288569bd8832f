"""`seatkeeper flows`: the guided procedures agents open as Interactions."""

from __future__ import annotations

import click

from seatkeeper.cli import operator
from seatkeeper.cli.common import Context, clock, opened, pass_context
from seatkeeper.domain.words import plural
from seatkeeper.services import flows


@click.group("flows")
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
    with opened(context) as database:
        flow = flows.add_flow(
            database, operator.who(), account, name=name, steps=steps, now=clock.now()
        )
    click.echo(f"Added the Flow {flow.name!r} ({plural(len(flow.steps), 'step')}) to {account!r}.")


@flows_group.command("list")
@click.argument("account")
@pass_context
def flows_list(context: Context, account: str) -> None:
    """List an account's Flows and their steps."""
    with opened(context) as database:
        found = flows.list_flows(database, operator.who(), account)
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
    with opened(context) as database:
        flows.remove_flow(database, operator.who(), account, name=name, now=clock.now())
    click.echo(f"Removed the Flow {name!r} from {account!r}.")
