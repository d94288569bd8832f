"""`seatkeeper sso`: an account's single sign-on provider, shown, set and removed.

It is also the way back in for an account whose provider is unreachable and whose
passwords are turned off: `seatkeeper sso set ACCOUNT --passwords`.
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import urlsplit

import click

from seatkeeper.cli import operator
from seatkeeper.cli.common import Context, clock, opened, pass_context
from seatkeeper.domain import sso as rules
from seatkeeper.domain.errors import InvalidFields
from seatkeeper.domain.model import Role
from seatkeeper.services import sso
from seatkeeper.web import presenters as shown

GIVEN_ROLES = [r.value for r in Role if rules.HIGHEST_ROLE.at_least(r)]
NOT_SET_UP = "{account} has no single sign-on: its users log in with passwords."


@click.group("sso")
def sso_group() -> None:
    """Single sign-on: an account's OpenID Provider (the client secret is never shown)."""


def _addresses(context: Context, view: sso.ProviderView) -> tuple[str, str]:
    """The addresses to register at the provider (paths, without SEATKEEPER_PUBLIC_URL)."""
    return shown.sso_addresses(context.settings.public_url or "", view.account)


def _describe(context: Context, view: sso.ProviderView) -> None:
    found = view.settings
    redirect, logout = _addresses(context, view)
    rules_text = ", ".join(f"{v}={r.value}" for v, r in found.role_map.items()) or "-"
    secret = (
        "kept encrypted"
        if view.secret_encrypted
        else "kept unencrypted (set SEATKEEPER_SECRET_KEY to encrypt it)"
    )
    for label, value in (
        ("Account", view.account.slug),
        ("Name", found.display_name),
        ("Issuer", found.issuer),
        ("Client id", found.client_id),
        ("Client secret", secret),
        ("Username claim", found.username_claim),
        ("Roles claim", found.roles_claim or "-"),
        ("Role rules", rules_text),
        ("Default role", found.default_role.value),
        ("Passwords", "still work" if found.passwords_allowed else "off (single sign-on only)"),
        ("Audiences", ", ".join(found.audiences) or "-"),
        ("Scopes", found.scopes),
        ("Redirect URI", redirect),
        ("Logout URI", logout),
        ("Updated", f"{shown.local(view.updated_at, view.account):%Y-%m-%d %H:%M %Z}"),
    ):
        click.echo(f"{label + ':':<16}{value}")
    if not context.settings.public_url:
        click.echo(
            "The URIs are paths on this server: register them with its public address "
            "(SEATKEEPER_PUBLIC_URL says it).",
            err=True,
        )


@sso_group.command("show")
@click.argument("account")
@pass_context
def sso_show(context: Context, account: str) -> None:
    """The account's provider and the two addresses to register there."""
    with opened(context) as database:
        found = sso.provider(database, operator.who(), account)
    if found is None:
        click.echo(NOT_SET_UP.format(account=account))
        return
    _describe(context, found)


def _role_rule(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> Any:
    """--role VALUE=ROLE, as a mapping (None when not given: the rules stay)."""
    if not values:
        return None
    rules_given: dict[str, str] = {}
    for value in values:
        claim, sep, role = value.rpartition("=")
        if not sep or not claim.strip():
            raise click.BadParameter(f"{value!r} is not VALUE=ROLE (e.g. admins=account_admin).")
        rules_given[claim.strip()] = role.strip()
    return rules_given


def _secret(from_stdin: bool, *, needed: bool) -> str | None:
    """The client secret: read from stdin, or asked for (hidden) at a terminal when the
    provider is new; never an argument, which would land in the shell's history."""
    if from_stdin:
        secret = sys.stdin.read().rstrip("\r\n")
        if not secret:
            raise click.UsageError("--client-secret-stdin read nothing from stdin.")
        return secret
    if not needed:
        return None
    if sys.stdin.isatty():
        secret_typed: str = click.prompt("Client secret", hide_input=True)
        return secret_typed
    raise click.UsageError(
        "A new provider needs its client secret: pipe it in with --client-secret-stdin."
    )


def _merged(kept: rules.ProviderSettings | None, given: dict[str, Any]) -> dict[str, Any]:
    """The settings to check: those given, and the kept ones for every option left out."""
    if kept is None:
        base: dict[str, Any] = {"display_name": None}
    else:
        base = {
            "issuer": kept.issuer,
            "client_id": kept.client_id,
            "display_name": kept.display_name,
            "username_claim": kept.username_claim,
            "roles_claim": kept.roles_claim,
            "role_map": {v: r.value for v, r in kept.role_map.items()},
            "default_role": kept.default_role.value,
            "passwords_allowed": kept.passwords_allowed,
            "audiences": kept.audiences,
            "scopes": kept.scopes,
        }
    merged = {**base, **{k: v for k, v in given.items() if v is not None}}
    missing = [f"--{k.replace('_', '-')}" for k in ("issuer", "client_id") if k not in merged]
    if missing:
        raise click.UsageError(f"A new provider needs {' and '.join(missing)}.")
    if merged["display_name"] is None:  # the login button's label, until one is given
        merged["display_name"] = urlsplit(merged["issuer"]).hostname or merged["issuer"]
    return merged


@sso_group.command("set")
@click.argument("account")
@click.option("--issuer", metavar="URL", help="The provider's issuer URL, exactly as it says.")
@click.option("--client-id", metavar="ID", help="The client id the provider issued.")
@click.option(
    "--client-secret-stdin",
    is_flag=True,
    help="Read the client secret from stdin. A new provider without it asks for the secret "
    "(hidden) at a terminal; a provider already set keeps its secret.",
)
@click.option("--name", "display_name", help='The login button says "Log in with NAME".')
@click.option("--username-claim", metavar="CLAIM", help="The claim naming the user.")
@click.option("--roles-claim", metavar="CLAIM", help='The claim holding groups (e.g. "groups").')
@click.option(
    "--role",
    "role_map",
    multiple=True,
    metavar="VALUE=ROLE",
    callback=_role_rule,
    help="A roles-claim value and the role it gives (agent, designer or account_admin); "
    "repeat it. Given, it replaces the rules.",
)
@click.option("--default-role", type=click.Choice(GIVEN_ROLES), help="The role of anyone else.")
@click.option(
    "--passwords/--no-passwords",
    "passwords_allowed",
    default=None,
    help="Whether the account's users may still log in with passwords. --passwords is the "
    "way back in when the provider fails and passwords were turned off.",
)
@click.option(
    "--audience",
    "audiences",
    multiple=True,
    metavar="ID",
    help="Another client id whose ID tokens may open agent sessions; repeat it. Given, it "
    "replaces the list.",
)
@click.option("--scopes", help=f'Scopes asked for (default "{rules.DEFAULT_SCOPES}").')
@pass_context
def sso_set(
    context: Context,
    account: str,
    client_secret_stdin: bool,
    issuer: str | None,
    client_id: str | None,
    display_name: str | None,
    username_claim: str | None,
    roles_claim: str | None,
    role_map: dict[str, str] | None,
    default_role: str | None,
    passwords_allowed: bool | None,
    audiences: tuple[str, ...],
    scopes: str | None,
) -> None:
    """Set up the account's provider, or change the options given (the others stay).

    The provider's discovery document is read first: a wrong issuer is refused at once.
    `seatkeeper sso set ACCOUNT --passwords` lets the account's users log in with their
    passwords again, should the provider fail them.
    """
    given = {
        "issuer": issuer, "client_id": client_id, "display_name": display_name,
        "username_claim": username_claim, "roles_claim": roles_claim, "role_map": role_map,
        "default_role": default_role, "passwords_allowed": passwords_allowed,
        "audiences": audiences or None, "scopes": scopes,
    }  # fmt: skip
    who = operator.who()
    with opened(context) as database:
        kept = sso.provider(database, who, account)
        merged = _merged(None if kept is None else kept.settings, given)
        secret = _secret(client_secret_stdin, needed=kept is None)
        try:
            settings = rules.provider_settings(**merged)
        except InvalidFields as exc:
            problems = "\n".join(f"  {k}: {v}" for k, v in exc.fields.items())
            raise click.ClickException(f"Nothing was changed:\n{problems}") from exc
        view = sso.set_provider(
            database, sso.from_settings(context.settings), who, account, settings,
            client_secret=secret, now=clock.now(),
        )  # fmt: skip
    click.echo(f"Single sign-on of {view.account.slug} set: Log in with {settings.display_name}.")
    _describe(context, view)


@sso_group.command("remove")
@click.argument("account")
@pass_context
def sso_remove(context: Context, account: str) -> None:
    """Remove the account's provider: its users log in with passwords again."""
    with opened(context) as database:
        found = sso.remove_provider(database, operator.who(), account, now=clock.now())
    click.echo(f"Removed the single sign-on of {found.slug}: its users log in with passwords.")
