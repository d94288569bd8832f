"""Flows: the guided procedures an account's agents work through.

Designers and admins manage them (through the API, with their role checked, or
through the CLI as the installation's operator); Agent Applications read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from seatkeeper.domain import validation
from seatkeeper.domain.errors import Conflict, FlowNotFound
from seatkeeper.domain.model import Account, Flow, Role, User
from seatkeeper.services import accounts
from seatkeeper.services.access import authorize
from seatkeeper.storage import flows as stored_flows
from seatkeeper.storage.db import Database


def _account(conn: Connection, account_slug: str, user: User | None) -> Account:
    """The account to act on: checked against the user's role, or by the operator (None)."""
    if user is not None:
        return authorize(conn, user, account_slug, role=Role.DESIGNER)
    return accounts.account_named(conn, account_slug)


def list_flows(db: Database, account_slug: str, *, user: User | None = None) -> list[Flow]:
    """The account's Flows, by name."""
    with db.read() as conn:
        return stored_flows.account_flows(conn, _account(conn, account_slug, user).id)


def flows_of(db: Database, account: Account) -> list[Flow]:
    """The Flows an Agent Application of the account offers its agents."""
    with db.read() as conn:
        return stored_flows.account_flows(conn, account.id)


def add_flow(
    db: Database,
    account_slug: str,
    *,
    name: str,
    steps: Sequence[str],
    now: datetime,
    user: User | None = None,
) -> Flow:
    """Register a Flow with its ordered step titles."""
    flow = validation.flow(name, steps)
    taken = f"The account already has a Flow named {flow.name!r}."
    try:
        with db.write() as conn:
            account = _account(conn, account_slug, user)
            if any(f.name == flow.name for f in stored_flows.account_flows(conn, account.id)):
                raise Conflict(taken)
            stored_flows.insert_flow(conn, account.id, flow, now=now)
    except IntegrityError as exc:  # a concurrent add of the same name
        raise Conflict(taken) from exc
    return flow


def remove_flow(db: Database, account_slug: str, *, name: str, user: User | None = None) -> None:
    """Remove a Flow. Interactions already open keep working under its name."""
    with db.write() as conn:
        account = _account(conn, account_slug, user)
        if not stored_flows.delete_flow(conn, account.id, name):
            raise FlowNotFound(f"The account has no Flow named {name!r}.")
