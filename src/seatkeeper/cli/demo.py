"""`seatkeeper demo`: the demo, run on its own database."""

from __future__ import annotations

import os

import click

from seatkeeper.cli.common import Context, pass_context
from seatkeeper.demo import DEFAULT_AGENTS


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--agents",
    type=click.IntRange(0, 200),
    default=DEFAULT_AGENTS,
    show_default=True,
    help="Simulated agents working live.",
)
@click.option(
    "--paused",
    is_flag=True,
    help="Start with the simulated agents paused (logged out); resume them while it runs.",
)
@pass_context
def demo(context: Context, host: str, port: int, agents: int, paused: bool) -> None:
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
        paused=paused,
    )
