"""Flows: the guided procedures an account's agents work through.

Designers and admins manage them (through the API, with their role checked, or
through the CLI as the installation's operator), and every change is audited; Agent
Applications read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from seatkeeper.domain import validation
from seatkeeper.domain.errors import Conflict, FlowNotFound
from seatkeeper.domain.model import Account, Flow, Role
from seatkeeper.services.access import Actor, audited, authorize
from seatkeeper.storage import flows as stored_flows
from seatkeeper.storage.db import Database


def _account(conn: Connection, actor: Actor, account_slug: str) -> Account:
    """The account to act on: designers and higher, or the operator."""
    return authorize(conn, actor, account_slug, role=Role.DESIGNER)


def list_flows(db: Database, actor: Actor, account_slug: str) -> list[Flow]:
    """The account's Flows, by name."""
    with db.read() as conn:
        return stored_flows.account_flows(conn, _account(conn, actor, account_slug).id)


def flows_of(db: Database, account: Account) -> list[Flow]:
    """The Flows an Agent Application of the account offers its agents."""
    with db.read() as conn:
        return stored_flows.account_flows(conn, account.id)


def add_flow(
    db: Database,
    actor: Actor,
    account_slug: str,
    *,
    name: str,
    steps: Sequence[str],
    now: datetime,
    source: str | None = None,
) -> Flow:
    """Register a Flow with its ordered step titles."""
    flow = validation.flow(name, steps)
    taken = f"The account already has a Flow named {flow.name!r}."
    try:
        with db.write() as conn:
            account = _account(conn, actor, account_slug)
            if any(f.name == flow.name for f in stored_flows.account_flows(conn, account.id)):
                raise Conflict(taken)
            stored_flows.insert_flow(conn, account.id, flow, now=now)
            audited(
                conn, account.id, "flow_added", actor, at=now, source=source,
                name=flow.name, steps=list(flow.steps),
            )  # fmt: skip
    except IntegrityError as exc:  # a concurrent add of the same name
        raise Conflict(taken) from exc
    return flow


def remove_flow(
    db: Database,
    actor: Actor,
    account_slug: str,
    *,
    name: str,
    now: datetime,
    source: str | None = None,
) -> None:
    """Remove a Flow. Interactions already open keep working under its name."""
    with db.write() as conn:
        account = _account(conn, actor, account_slug)
        name = validation.flow_name(name)
        if not stored_flows.delete_flow(conn, account.id, name):
            raise FlowNotFound(f"The account has no Flow named {name!r}.")
        audited(conn, account.id, "flow_removed", actor, at=now, source=source, name=name)
