"""The seatkeeper command: serve, demo, db, accounts, users, groups, tokens, sso."""

from __future__ import annotations

import click

from seatkeeper.cli import (
    accounts,
    demo,
    flows,
    groups,
    history,
    serve,
    sessions,
    sso,
    tokens,
    users,
)
from seatkeeper.cli.common import Commands, Context, database_url_option, version_option


@click.group(
    cls=Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@database_url_option(after_subcommand=False)
@version_option
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """seatkeeper: concurrent licenses for agent applications."""
    ctx.obj = Context(database_url)


for command in (
    serve.serve,
    serve.db,
    accounts.accounts_group,
    users.users_group,
    groups.groups_group,
    flows.flows_group,
    tokens.tokens_group,
    sso.sso_group,
    history.history_group,
    sessions.sessions_group,
    sessions.usage_command,
    demo.demo,
):
    main.add_command(command)
