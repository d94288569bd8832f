"""`seatkeeper history`: the usage days seatkeeper keeps."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import click

from seatkeeper.cli.common import Context, clock, opened, pass_context
from seatkeeper.domain import usage as usage_domain
from seatkeeper.domain.words import plural
from seatkeeper.services import accounts, history, retention


@click.group("history")
def history_group() -> None:
    """The usage days seatkeeper keeps (it computes them by itself; this is for operators)."""


@history_group.command("rebuild")
@click.argument("slugs", nargs=-1, metavar="[ACCOUNT]...")
@pass_context
def history_rebuild(context: Context, slugs: tuple[str, ...]) -> None:
    """Compute the kept usage days again from the session rows (every account by default)."""
    with opened(context) as database:
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
    click.echo(f"Kept the usage days of {plural(len(chosen), 'account')}.")


@history_group.command("prune")
@click.argument("slugs", nargs=-1, metavar="[ACCOUNT]...")
@pass_context
def history_prune(context: Context, slugs: tuple[str, ...]) -> None:
    """Delete the rows older than each account's retention now, once their days are kept
    for good (every account by default)."""
    with opened(context) as database:
        chosen = (
            [accounts.get_account(database, slug) for slug in slugs]
            if slugs
            else accounts.all_accounts(database)
        )
        now = clock.now()
        for account in chosen:
            budget = retention.Budget(batches=None, seconds=None)
            click.echo(pruned(retention.prune_account(database, account, now, budget=budget)))


def pruned(done: retention.Pruned) -> str:
    """What `history prune` says it did to one account."""
    days, slug = plural(done.account.retention_days, "day"), done.account.slug
    if not done.rows:
        return f"Nothing in {slug} is older than {days}."
    return (
        f"Deleted {plural(done.sessions, 'session')}, "
        f"{plural(done.interactions, 'Interaction')} and {plural(done.refusals, 'refusal')} "
        f"older than {days} from {slug}; their days are kept."
    )
