"""Webhooks for capacity alerts: register, list with their deliveries, change, remove."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Router, delete, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from seatkeeper.domain import errors as e
from seatkeeper.services import webhooks
from seatkeeper.web import presenters as shown
from seatkeeper.web.api.admin import ADMIN_TOKEN, REFUSALS
from seatkeeper.web.deps import ADMIN_DEPENDENCIES, ADMIN_GUARDS, ApiUser, Now, RuntimeDep, Source
from seatkeeper.web.errors import responses

Address = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=2000,
        pattern=r"^\s*[hH][tT][tT][pP][sS]?://[^/?#\s]",
        description="An https address (http where the operator allows it) with a host name "
        "that is, or resolves to, a public internet address; no user name nor password.",
    ),
]


class NewWebhook(msgspec.Struct, forbid_unknown_fields=True):
    url: Address


class WebhookChange(msgspec.Struct, forbid_unknown_fields=True):
    url: Address


class WebhookChanged(msgspec.Struct):
    id: int
    url: str
    created_at: datetime


class WebhookCreated(msgspec.Struct):
    id: int
    url: str
    secret: str  # checks the X-Seatkeeper-Signature of every delivery
    created_at: datetime


class DeliveryBody(msgspec.Struct):
    id: int
    event: str
    created_at: datetime
    attempts: int
    delivered_at: datetime | None
    next_attempt_at: datetime | None  # null once delivered, or after the last attempt
    last_status: int | None
    last_error: str | None


class WebhookBody(msgspec.Struct):
    id: int
    url: str
    created_at: datetime
    deliveries: list[DeliveryBody]  # the latest 20, newest first


class Webhooks(msgspec.Struct):
    account: str
    webhooks: list[WebhookBody]


@post(
    "/webhooks",
    summary="Send capacity alerts to this address (answers the signing secret)",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.InvalidInput, e.TooManyWebhooks),
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
)
def add_webhook(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    data: JSONBody[NewWebhook],
) -> WebhookCreated:
    hook = webhooks.add_webhook(
        runtime.db, admin_user, account, data.url, now=now, source=source,
        sending=runtime.webhook_sending,
    )  # fmt: skip
    return WebhookCreated(hook.id, hook.url, hook.secret, hook.created_at)


@patch(
    "/webhooks/{webhook_id:int}",
    summary="Send this webhook's alerts to another address (its secret stays)",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.InvalidInput, e.WebhookNotFound),
    sync_to_thread=True,
)
def change_webhook(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    webhook_id: Annotated[int, Parameter(ge=1, le=2**31 - 1)],
    data: JSONBody[WebhookChange],
) -> WebhookChanged:
    hook = webhooks.change_webhook(
        runtime.db, admin_user, account, webhook_id, data.url, now=now, source=source,
        sending=runtime.webhook_sending,
    )  # fmt: skip
    return WebhookChanged(hook.id, hook.url, hook.created_at)


@get(
    "/webhooks",
    summary="The account's webhooks and their latest deliveries",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS),
    sync_to_thread=True,
)
def list_webhooks(runtime: RuntimeDep, admin_user: ApiUser, account: FromPath[str]) -> Webhooks:
    found, states = webhooks.webhooks_of(runtime.db, admin_user, account)
    return Webhooks(
        found.slug,
        [
            WebhookBody(
                s.webhook.id,
                s.webhook.url,
                shown.local(s.webhook.created_at, found),
                [
                    DeliveryBody(
                        d.id,
                        d.event,
                        shown.local(d.created_at, found),
                        d.attempts,
                        shown.local_or_none(d.delivered_at, found),
                        shown.local_or_none(d.next_attempt_at, found),
                        d.last_status,
                        d.last_error,
                    )
                    for d in s.deliveries
                ],
            )
            for s in states
        ],
    )


@delete(
    "/webhooks/{webhook_id:int}",
    summary="Stop sending alerts to this webhook",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.WebhookNotFound),
    status_code=HTTP_204_NO_CONTENT,
    sync_to_thread=True,
)
def remove_webhook(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    # Ids are 32-bit in the database: a larger one is refused as malformed, not looked up.
    webhook_id: Annotated[int, Parameter(ge=1, le=2**31 - 1)],
) -> None:
    webhooks.remove_webhook(runtime.db, admin_user, account, webhook_id, now=now, source=source)


webhooks_router = Router(
    path="/api/v1/accounts/{account:str}",
    route_handlers=[add_webhook, list_webhooks, change_webhook, remove_webhook],
    dependencies=ADMIN_DEPENDENCIES,
    guards=ADMIN_GUARDS,
    tags=["Administration"],
)
