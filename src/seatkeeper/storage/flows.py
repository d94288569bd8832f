"""Each account's Flows: a name and ordered steps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from seatkeeper.domain.model import Flow
from seatkeeper.storage.tables import flows


def account_flows(conn: Connection, account_id: int) -> list[Flow]:
    """The account's Flows, by name."""
    rows = conn.execute(
        select(flows.c.name, flows.c.steps)
        .where(flows.c.account_id == account_id)
        .order_by(flows.c.name)
    )
    return [Flow(name, tuple(steps)) for name, steps in rows]


def insert_flow(conn: Connection, account_id: int, flow: Flow, *, now: datetime) -> None:
    conn.execute(
        flows.insert().values(
            account_id=account_id, name=flow.name, steps=list(flow.steps), created_at=now
        )
    )


def delete_flow(conn: Connection, account_id: int, name: str) -> bool:
    """Remove a Flow; True if there was one. Interactions keep the name they were opened with."""
    deleted = conn.execute(
        flows.delete().where(flows.c.account_id == account_id, flows.c.name == name)
    ).rowcount
    return bool(deleted)


def flow_named(conn: Connection, account_id: int, name: str) -> Flow | None:
    """The account's Flow of this name, if it has one."""
    row = conn.execute(
        select(flows.c.name, flows.c.steps).where(
            flows.c.account_id == account_id, flows.c.name == name
        )
    ).one_or_none()
    return None if row is None else Flow(row.name, tuple(row.steps))
