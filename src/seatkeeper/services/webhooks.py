"""Webhooks: capacity alerts sent to an account's receivers, signed, retried with backoff.

A delivery is written in the transaction that raised or cleared the alert, then sent by
any instance's delivery task: each attempt is claimed first (so two instances never send
it at once), sent, and recorded. A receiver that fails is tried again after 10 s, 20 s,
40 s ... (at most an hour apart), 8 attempts in all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx

from seatkeeper.domain import validation
from seatkeeper.domain.errors import InvalidInput, WebhookNotFound
from seatkeeper.domain.model import Account, Delivery, Webhook
from seatkeeper.services.access import Actor, audited, authorize
from seatkeeper.storage import webhooks as stored
from seatkeeper.storage.db import Database

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=10)
LONGEST_WAIT = timedelta(hours=1)
LEASE = timedelta(seconds=30)  # an attempt's time to finish before another instance tries
TIMEOUT_SECONDS = 5.0
BATCH = 20
SIGNATURE_HEADER = "X-Seatkeeper-Signature"

Post = Callable[[str, bytes, dict[str, str]], int]  # url, body, headers -> HTTP status


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: the time, and an HMAC-SHA256 of "time.body"."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    wait: timedelta = FIRST_RETRY * 2 ** max(0, attempts - 1)
    return min(wait, LONGEST_WAIT)


def add_webhook(
    db: Database,
    user: Actor,
    account_slug: str,
    url: str,
    *,
    now: datetime,
    source: str | None = None,
) -> Webhook:
    """Register a receiver; its secret (to check signatures) is in the answer."""
    address = _receiver(url)
    with db.write() as conn:
        account = authorize(conn, user, account_slug)
        hook = stored.add(conn, account.id, address, "whsec_" + secrets.token_urlsafe(32), now)
        audited(
            conn, account.id, "webhook_added", user, at=now, source=source,
            webhook_id=hook.id, url=_shown(address),
        )  # fmt: skip
        return hook


def _shown(address: str) -> str:
    """A receiver's address as the audit trail keeps it: no credentials, no query."""
    parts = urlsplit(address)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{parts.port}" if parts.port is not None else ""
    return parts._replace(netloc=netloc, query="", fragment="").geturl()


def _receiver(url: str) -> str:
    """A webhook's address, checked: http or https, a host, a valid port if any."""
    address = url.strip()
    try:
        parts = urlsplit(address)
        parts.port  # noqa: B018 (reading it checks it: a port out of range raises)
    except ValueError as exc:  # "http://[", "http://host:99999"
        raise InvalidInput(f"This webhook address cannot be read: {exc}.") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("A webhook address must start with http:// or https://.")
    if not parts.hostname:
        raise InvalidInput("A webhook address must name a host, as in https://example.com/hook.")
    if len(address) > 2000:
        raise InvalidInput("A webhook address must be at most 2,000 characters long.")
    if not validation.is_printable(address):
        raise InvalidInput("A webhook address must not contain control characters.")
    return address


@dataclass(frozen=True, slots=True)
class WebhookState:
    webhook: Webhook
    deliveries: list[Delivery]  # the latest, newest first


def webhooks_of(db: Database, user: Actor, account_slug: str) -> tuple[Account, list[WebhookState]]:
    with db.read() as conn:
        account = authorize(conn, user, account_slug)
        hooks = stored.of_account(conn, account.id)
        recent = stored.recent_deliveries(conn, [h.id for h in hooks])
    return account, [WebhookState(h, recent[h.id]) for h in hooks]


def remove_webhook(
    db: Database,
    user: Actor,
    account_slug: str,
    webhook_id: int,
    *,
    now: datetime,
    source: str | None = None,
) -> None:
    """Remove a receiver, with its deliveries (those still waiting are not sent)."""
    with db.write() as conn:
        account = authorize(conn, user, account_slug)
        if not stored.remove(conn, account.id, webhook_id):
            raise WebhookNotFound
        audited(
            conn, account.id, "webhook_removed", user, at=now, source=source, webhook_id=webhook_id
        )


def post_with_httpx(url: str, body: bytes, headers: dict[str, str]) -> int:
    return httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_SECONDS).status_code


def deliver_due(db: Database, now: datetime, post: Post = post_with_httpx) -> int:
    """Send the deliveries that are due; returns how many were delivered."""
    with db.read() as conn:
        due = stored.due(conn, now, BATCH)
    delivered = 0
    for delivery, hook in due:
        with db.write() as conn:
            if not stored.claim(conn, delivery.id, now, now + LEASE):
                continue  # another instance has it
        attempts = delivery.attempts + 1
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "seatkeeper-webhooks",
            "X-Seatkeeper-Event": delivery.event,
            "X-Seatkeeper-Delivery": str(delivery.id),
            SIGNATURE_HEADER: signature(hook.secret, int(now.timestamp()), body),
        }
        status: int | None = None
        error: str | None = None
        try:
            status = post(hook.url, body, headers)
            if not 200 <= status < 300:
                error = f"the receiver answered {status}"
        except Exception as exc:  # the receiver is down, slow, or refused us
            error = f"{type(exc).__name__}: {exc}"
        ok = error is None
        retry = None if ok or attempts >= MAX_ATTEMPTS else now + backoff(attempts)
        with db.write() as conn:
            stored.record(
                conn,
                delivery.id,
                delivered_at=now if ok else None,
                next_attempt_at=retry,
                status=status,
                error=error,
            )
        delivered += ok
    return delivered
