"""`seatkeeper users`: the users who log in, agents and admins."""

from __future__ import annotations

import sys

import click

from seatkeeper.cli import operator
from seatkeeper.cli.common import ROLE, Context, clock, opened, pass_context
from seatkeeper.domain.model import Role
from seatkeeper.services import users
from seatkeeper.services.secrets import Passwords
from seatkeeper.web import presenters as shown


@click.group("users")
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
    with opened(context) as database:
        handed = users.add_user(
            database, passwords, operator.who(), account,
            username=username, role=Role(role), password=password, now=clock.now(),
        )  # fmt: skip
    click.echo(f"Created {handed.user.role.value} {username!r} in account {account!r}.")
    _print_link(handed, context.settings.public_url)


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _print_link(handed: users.Handed, public_url: str | None) -> None:
    if handed.link_token is None:
        return
    link = shown.link_url(public_url, handed.link_token)
    click.echo(f"One-time link (valid 7 days, shown once): {link}")
    if public_url is None:
        click.echo(
            "This is a path on the server: put its address before it, or set "
            "SEATKEEPER_PUBLIC_URL to have whole links."
        )


@users_group.command("list")
@click.argument("account")
@pass_context
def users_list(context: Context, account: str) -> None:
    """The account's users: role, last login, and whether they are disabled."""
    with opened(context) as database:
        found, rows = users.list_users(database, operator.who(), account)
    for person in (shown.person(row, found) for row in rows):
        seen = "never" if person.last_login is None else person.last_login.strftime(shown.MINUTES)
        state = "  disabled" if person.disabled else ""
        click.echo(f"{person.username:<24} {person.role.value:<14} last login {seen}{state}")


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
    with opened(context) as database:
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
    with opened(context) as database:
        handed = users.reset_password(
            database, passwords, operator.who(), account, username,
            password=password, now=clock.now(),
        )  # fmt: skip
    click.echo(f"{username!r}'s password was reset.")
    _print_link(handed, context.settings.public_url)
