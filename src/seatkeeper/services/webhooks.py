"""Webhooks: capacity alerts sent to an account's receivers, signed, retried with backoff.

A delivery is written in the transaction that raised or cleared the alert, then sent by
any instance's delivery task: each attempt is claimed first (so two instances never send
it at once), sent, and recorded. A receiver that fails is tried again after 10 s, 20 s,
40 s ... (at most an hour apart, counted from the end of the failed attempt), 8 attempts
in all. A receiver must be a public address (see `domain.destinations`), checked when it is
registered and again at every attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from time import monotonic
from urllib.parse import urlsplit

import anyio
import httpx

from seatkeeper.domain import destinations
from seatkeeper.domain.destinations import Destination, IPAddress, Policy
from seatkeeper.domain.errors import InvalidInput, TooManyWebhooks, WebhookNotFound
from seatkeeper.domain.model import Account, Delivery, Webhook
from seatkeeper.services import outbound
from seatkeeper.services.access import Actor, audited, authorize
from seatkeeper.services.outbound import Resolve, resolve_with_system
from seatkeeper.storage import webhooks as stored
from seatkeeper.storage.accounts import lock_account
from seatkeeper.storage.db import Database

log = logging.getLogger("seatkeeper.webhooks")

MAX_WEBHOOKS = 10  # an account's
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=10)
LONGEST_WAIT = timedelta(hours=1)
TIMEOUT_SECONDS = 10.0  # the deadline of a whole attempt, from resolving to the status
LOOKUP_SECONDS = 3.0  # to resolve a name when it is registered
LEASE_MARGIN = timedelta(seconds=30)  # after the deadline, to record the attempt
BATCH = 20
SIGNATURE_HEADER = "X-Seatkeeper-Signature"


class Sending:
    """Where webhooks may go and how names are resolved (tests give their own). A plain
    class: the web's Runtime holds one, and Litestar reads the fields of dataclasses."""

    def __init__(
        self,
        policy: Policy | None = None,
        resolve: Resolve = resolve_with_system,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.policy = policy or Policy()
        self.resolve = resolve
        self.transport = transport


PUBLIC_HTTPS = Sending()


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
    sending: Sending = PUBLIC_HTTPS,
) -> Webhook:
    """Register a receiver; its secret (to check signatures) is in the answer."""
    address = checked(url, sending).url
    with db.write() as conn:
        account = authorize(conn, user, account_slug)
        lock_account(conn, account.id)  # two at once cannot both be the tenth
        if stored.count(conn, account.id) >= MAX_WEBHOOKS:
            raise TooManyWebhooks(MAX_WEBHOOKS)
        hook = stored.add(conn, account.id, address, "whsec_" + secrets.token_urlsafe(32), now)
        audited(
            conn, account.id, "webhook_added", user, at=now, source=source,
            webhook_id=hook.id, url=_shown(address),
        )  # fmt: skip
        return hook


def change_webhook(
    db: Database,
    user: Actor,
    account_slug: str,
    webhook_id: int,
    url: str,
    *,
    now: datetime,
    source: str | None = None,
    sending: Sending = PUBLIC_HTTPS,
) -> Webhook:
    """Send a receiver's alerts to another address (its secret stays; deliveries still
    waiting go to the new address)."""
    address = checked(url, sending).url
    with db.write() as conn:
        account = authorize(conn, user, account_slug)
        before = stored.change_url(conn, account.id, webhook_id, address)
        if before is None:
            raise WebhookNotFound
        audited(
            conn, account.id, "webhook_changed", user, at=now, source=source,
            webhook_id=webhook_id, url=_shown(address), previous_url=_shown(before.url),
        )  # fmt: skip
        return replace(before, url=address)


def _shown(address: str) -> str:
    """A receiver's address as the audit trail keeps it: no credentials, no query."""
    parts = urlsplit(address)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{parts.port}" if parts.port is not None else ""
    return parts._replace(netloc=netloc, query="", fragment="").geturl()


def checked(url: str, sending: Sending) -> Destination:
    """A webhook's address, checked when it is registered: readable, allowed, and, when
    its name resolves now, to allowed addresses only.

    A name that does not resolve now (within LOOKUP_SECONDS) is accepted: its record may
    not exist yet, or this server's resolver may not see it yet; every delivery resolves
    and checks it again, and a refusal is what the deliveries then show.
    """
    destination = destinations.check_url(url, sending.policy)
    if destination.address is None:
        addresses = _lookup(sending, destination.host, destination.port)
        if addresses is not None:
            destinations.check_addresses(addresses, sending.policy)
    return destination


def _lookup(sending: Sending, host: str, port: int) -> list[IPAddress] | None:
    """The name's addresses, or None when it does not resolve within LOOKUP_SECONDS (a
    resolver that does not answer leaves its thread behind, not the request waiting)."""
    found: list[list[IPAddress]] = []

    def resolve() -> None:
        with contextlib.suppress(OSError):
            found.append(sending.resolve(host, port))

    thread = threading.Thread(target=resolve, name="seatkeeper webhook lookup", daemon=True)
    thread.start()
    thread.join(LOOKUP_SECONDS)
    return found[0] if found else None


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


REFUSED = "the destination was refused: it is not a public address, or not allowed"
UNREACHABLE = "the receiver could not be reached"


def timed_out() -> str:
    return f"the receiver did not answer within {TIMEOUT_SECONDS:g} seconds"


def answered(status: int) -> str:
    return f"the receiver answered {status}"


def lease() -> timedelta:
    """How long a claimed attempt is its instance's: past its deadline, and the time to
    record how it went."""
    return timedelta(seconds=TIMEOUT_SECONDS) + LEASE_MARGIN


def deliver_due(db: Database, now: datetime, sending: Sending = PUBLIC_HTTPS) -> int:
    """Send the deliveries that are due, each to its receiver at once; returns how many
    were delivered. One slow receiver delays no other: each attempt has its deadline."""
    with db.read() as conn:
        due = stored.due(conn, now, BATCH)
    if not due:
        return 0
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: a housekeeping thread, with no loop of its own
        return anyio.run(_deliver_all, db, now, due, sending)
    # Called from a thread whose event loop runs (a test's browser driver, say): the
    # deliveries get a loop of their own in a thread of their own.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(anyio.run, _deliver_all, db, now, due, sending).result()


async def _deliver_all(
    db: Database, now: datetime, due: list[tuple[Delivery, Webhook]], sending: Sending
) -> int:
    started = monotonic()
    delivered: list[bool] = []

    async def deliver(delivery: Delivery, hook: Webhook) -> None:
        until = now + timedelta(seconds=monotonic() - started) + lease()  # from its start
        claimed = await anyio.to_thread.run_sync(_claim, db, delivery.id, now, until)
        if not claimed:
            return  # another instance has it
        status, error = await attempt(hook, delivery, now, sending)
        ended = now + timedelta(seconds=monotonic() - started)
        attempts = delivery.attempts + 1
        retry = None if error is None or attempts >= MAX_ATTEMPTS else ended + backoff(attempts)
        await anyio.to_thread.run_sync(
            partial(
                _record, db, delivery.id, status=status, error=error, retry=retry,
                delivered_at=ended if error is None else None,
            )
        )  # fmt: skip
        delivered.append(error is None)

    async with anyio.create_task_group() as group:
        for delivery, hook in due:
            group.start_soon(deliver, delivery, hook)
    return sum(delivered)


def _claim(db: Database, delivery_id: int, now: datetime, until: datetime) -> bool:
    with db.write() as conn:
        return stored.claim(conn, delivery_id, now, until)


def _record(
    db: Database,
    delivery_id: int,
    *,
    status: int | None,
    error: str | None,
    retry: datetime | None,
    delivered_at: datetime | None,
) -> None:
    with db.write() as conn:
        stored.record(
            conn, delivery_id, delivered_at=delivered_at, next_attempt_at=retry,
            status=status, error=error,
        )  # fmt: skip


async def attempt(
    hook: Webhook, delivery: Delivery, now: datetime, sending: Sending
) -> tuple[int | None, str | None]:
    """One attempt, under one deadline for all of it (resolving, connecting, sending,
    the answer's status line): the status, and what went wrong in words the tenant may
    read (never what the inside of the network said)."""
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "seatkeeper-webhooks",
        "X-Seatkeeper-Event": delivery.event,
        "X-Seatkeeper-Delivery": str(delivery.id),
        SIGNATURE_HEADER: signature(hook.secret, int(now.timestamp()), body),
    }
    try:
        with anyio.fail_after(TIMEOUT_SECONDS):
            destination, address = await _reach(hook.url, sending)
            status = await _post(destination, address, body, headers, sending)
    except InvalidInput:  # DestinationRefused too
        return None, REFUSED
    except TimeoutError:
        return None, timed_out()
    except (OSError, httpx.HTTPError):
        return None, UNREACHABLE
    except Exception:  # whatever else the network stack raises: logged here, not shown
        log.exception("A webhook delivery failed unexpectedly")
        return None, UNREACHABLE
    return status, None if 200 <= status < 300 else answered(status)


async def _reach(url: str, sending: Sending) -> tuple[Destination, IPAddress]:
    """The destination, checked again, and the one checked address to connect to."""
    check = partial(outbound.reach, url, sending.policy, sending.resolve)
    return await anyio.to_thread.run_sync(check, abandon_on_cancel=True)


async def _post(
    destination: Destination,
    address: IPAddress,
    body: bytes,
    headers: dict[str, str],
    sending: Sending,
) -> int:
    """POST to the checked address (no second lookup), naming the host in the Host header
    and, over TLS, in SNI and the certificate check. No redirect is followed; the
    answer's body is not read."""
    default = 443 if destination.scheme == "https" else 80
    host = f"[{destination.host}]" if ":" in destination.host else destination.host
    if destination.port != default:
        host += f":{destination.port}"
    connect = f"[{address}]" if address.version == 6 else str(address)
    url = f"{destination.scheme}://{connect}:{destination.port}{destination.target}"
    extensions = {"sni_hostname": destination.host} if destination.address is None else {}
    async with httpx.AsyncClient(
        follow_redirects=False, trust_env=False, transport=sending.transport
    ) as client:
        request = client.build_request(
            "POST", url, content=body, headers={**headers, "Host": host}, extensions=extensions
        )
        response = await client.send(request, stream=True)
        await response.aclose()
        return response.status_code
