"""Webhooks and their deliveries: an outbox written with the alert, sent afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, literal, select, update

from seatkeeper.domain.model import Delivery, Webhook
from seatkeeper.storage.tables import webhook_deliveries, webhooks

RECENT_DELIVERIES = 20


def _delivery(row: Any) -> Delivery:
    return Delivery(*(getattr(row, c.name) for c in webhook_deliveries.c))


def add(conn: Connection, account_id: int, url: str, secret: str, now: datetime) -> Webhook:
    row = conn.execute(
        insert(webhooks)
        .values(account_id=account_id, url=url, secret=secret, created_at=now)
        .returning(*webhooks.c)
    ).one()
    return Webhook(*row)


def of_account(conn: Connection, account_id: int) -> list[Webhook]:
    rows = conn.execute(
        select(webhooks).where(webhooks.c.account_id == account_id).order_by(webhooks.c.id)
    )
    return [Webhook(*row) for row in rows]


def count(conn: Connection, account_id: int) -> int:
    found: int = conn.execute(
        select(func.count()).select_from(webhooks).where(webhooks.c.account_id == account_id)
    ).scalar_one()
    return found


def change_url(conn: Connection, account_id: int, webhook_id: int, url: str) -> Webhook | None:
    """Give the webhook another address; answers it as it was (None: no such webhook)."""
    w = webhooks.c
    row = conn.execute(
        select(webhooks).where(w.account_id == account_id, w.id == webhook_id).with_for_update()
    ).one_or_none()
    if row is None:
        return None
    conn.execute(update(webhooks).where(w.id == webhook_id).values(url=url))
    return Webhook(*row)


def remove(conn: Connection, account_id: int, webhook_id: int) -> bool:
    w = webhooks.c
    found = conn.execute(
        select(w.id).where(w.account_id == account_id, w.id == webhook_id)
    ).scalar_one_or_none()
    if found is None:
        return False
    conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == found))
    conn.execute(delete(webhooks).where(w.id == found))
    return True


def recent_deliveries(conn: Connection, webhook_ids: list[int]) -> dict[int, list[Delivery]]:
    """Each webhook's latest deliveries, newest first."""
    found: dict[int, list[Delivery]] = {i: [] for i in webhook_ids}
    d = webhook_deliveries.c
    for webhook_id in webhook_ids:
        rows = conn.execute(
            select(webhook_deliveries)
            .where(d.webhook_id == webhook_id)
            .order_by(d.id.desc())
            .limit(RECENT_DELIVERIES)
        )
        found[webhook_id] = [_delivery(r) for r in rows]
    return found


def enqueue(
    conn: Connection, account_id: int, event: str, payload: dict[str, Any], now: datetime
) -> None:
    """A delivery of the event to each of the account's webhooks, due at once."""
    w = webhooks.c
    conn.execute(
        insert(webhook_deliveries).from_select(
            ["webhook_id", "event", "payload", "created_at", "attempts", "next_attempt_at"],
            select(
                w.id,
                literal(event),
                literal(payload, webhook_deliveries.c.payload.type),
                literal(now, webhook_deliveries.c.created_at.type),
                literal(0),
                literal(now, webhook_deliveries.c.next_attempt_at.type),
            ).where(w.account_id == account_id),
        )
    )


def due(conn: Connection, now: datetime, limit: int) -> list[tuple[Delivery, Webhook]]:
    d = webhook_deliveries.c
    rows = conn.execute(
        select(webhook_deliveries, webhooks)
        .join(webhooks, webhooks.c.id == d.webhook_id)
        .where(d.next_attempt_at <= now)
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
    ).all()
    width = len(webhook_deliveries.c)
    return [(_delivery(r), Webhook(*r[width:])) for r in rows]


def claim(conn: Connection, delivery_id: int, now: datetime, lease_until: datetime) -> bool:
    """Take one attempt of a due delivery: no other instance sends it until the lease ends."""
    d = webhook_deliveries.c
    taken = conn.execute(
        update(webhook_deliveries)
        .where(d.id == delivery_id, d.next_attempt_at <= now)
        .values(attempts=d.attempts + 1, next_attempt_at=lease_until)
    ).rowcount
    return bool(taken)


def record(
    conn: Connection,
    delivery_id: int,
    *,
    delivered_at: datetime | None,
    next_attempt_at: datetime | None,
    status: int | None,
    error: str | None,
) -> None:
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == delivery_id)
        .values(
            delivered_at=delivered_at,
            next_attempt_at=next_attempt_at,
            last_status=status,
            last_error=None if error is None else error[:500],
        )
    )
