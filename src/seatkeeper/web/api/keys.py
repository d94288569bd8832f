"""Admin API for application keys and user API tokens: list, make, revoke, rotate."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

import msgspec
from litestar import Router, get, post
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from seatkeeper.domain import errors as e
from seatkeeper.domain.keys import MAX_GRACE, MAX_KEY_NAME, ApiKey
from seatkeeper.domain.model import Account, KeyKind
from seatkeeper.services import keys
from seatkeeper.web import presenters as shown
from seatkeeper.web.api.admin import ADMIN_TOKEN, REFUSALS
from seatkeeper.web.api.people import Username
from seatkeeper.web.deps import ADMIN_DEPENDENCIES, ADMIN_GUARDS, ApiUser, Now, RuntimeDep, Source
from seatkeeper.web.errors import responses

# Ids are 32-bit in the database: a larger one is refused as malformed, not looked up.
KeyId = Annotated[int, Parameter(ge=1, le=2**31 - 1)]
KeyName = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_KEY_NAME,
        description="A label for the key: printable, no control characters",
    ),
]
Expiry = Annotated[
    datetime,
    msgspec.Meta(
        tz=True,
        description="When it stops working (ISO 8601 with an offset, in the future, at most "
        "10 years away); null or left out: never",
    ),
]
GraceMinutes = Annotated[
    float,
    msgspec.Meta(
        description="How long the old key keeps working beside the new one; 0 (the default): "
        "it stops at once",
        extra_json_schema={"minimum": 0, "maximum": MAX_GRACE.total_seconds() / 60},
    ),
]


class KeyBody(msgspec.Struct):
    """A key or token; never its secret (only a hash is kept)."""

    id: int
    name: str
    kind: Literal["application", "user"]
    username: str | None  # the user a token acts as; null for an application key
    created_at: datetime  # times in the account's time zone
    last_used_at: datetime | None  # written at most about once a minute
    expires_at: datetime | None
    ends_at: datetime | None  # when it stopped (or, rotated, stops) working
    state: Literal["active", "rotated", "expired", "revoked"]
    replaced_by: int | None  # the key it was rotated to


class KeysBody(msgspec.Struct):
    account: str
    time_zone: str
    keys: list[KeyBody]  # newest first


class MadeKey(msgspec.Struct):
    key: KeyBody
    secret: str  # the key itself: shown only in this answer, never again


class NewKey(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["application", "user"]
    name: KeyName
    username: Username | None = None  # the user a user token acts as
    expires_at: Expiry | None = None


class Rotation(msgspec.Struct, forbid_unknown_fields=True):
    grace_minutes: GraceMinutes = 0
    expires_at: Expiry | None = None  # the new key's


def key_body(key: shown.KeyShown) -> KeyBody:
    return KeyBody(
        key.id,
        key.name,
        "application" if key.kind is KeyKind.APPLICATION else "user",
        key.username,
        key.created,
        key.last_used,
        key.expires,
        key.ends,
        key.state.value,
        key.replaced_by,
    )


def _made(made: keys.Made, now: datetime) -> MadeKey:
    return MadeKey(key_body(shown.api_key(made.key, made.account, now)), made.secret)


def _body(account: Account, key: ApiKey, now: datetime) -> KeyBody:
    return key_body(shown.api_key(key, account, now))


@get(
    "/keys",
    summary="The account's application keys and user API tokens (never their secrets)",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS),
    sync_to_thread=True,
)
def list_keys(
    runtime: RuntimeDep, now: Now, admin_user: ApiUser, account: FromPath[str]
) -> KeysBody:
    found = keys.list_keys(runtime.db, admin_user, account)
    a = found.account
    return KeysBody(a.slug, a.time_zone, [_body(a, k, now) for k in found.keys])


@post(
    "/keys",
    summary="Make an application key, or a user API token acting as a user",
    description="The answer holds the key (`secret`): it is shown only this once. A token "
    "acts with its user's role; an admin makes tokens only for users of their role or lower.",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.InvalidInput, e.UserNotFound),
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
)
def make_key(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    data: JSONBody[NewKey],
) -> MadeKey:
    made = keys.make_key(
        runtime.db, admin_user, account, kind=KeyKind(data.kind), name=data.name,
        username=data.username, expires_at=data.expires_at, now=now, source=source,
    )  # fmt: skip
    return _made(made, now)


@post(
    "/keys/{key_id:int}/revoke",
    summary="Revoke a key or token: refused at once, on every instance",
    description="Sessions the key opened go on until they end; the key opens no more.",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.KeyNotFound, e.Conflict),
    status_code=HTTP_200_OK,
    sync_to_thread=True,
)
def revoke_key(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    key_id: KeyId,
) -> KeyBody:
    found, key = keys.revoke_key(runtime.db, admin_user, account, key_id, now=now, source=source)
    return _body(found, key, now)


@post(
    "/keys/{key_id:int}/rotate",
    summary="Rotate an application key: a new one works at once, the old one after a grace",
    description="The answer holds the new key (`secret`), shown only this once. The old key "
    "keeps working for `grace_minutes` (0 by default: it stops at once), then is refused.",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.InvalidInput, e.KeyNotFound, e.Conflict),
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
)
def rotate_key(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    key_id: KeyId,
    data: JSONBody[Rotation | None] = None,
) -> MadeKey:
    rotation = data or Rotation()
    # Clamped far outside the range, which stays refused: a timedelta of 1e300 minutes
    # would overflow.
    grace = timedelta(minutes=max(-1, min(rotation.grace_minutes, 1e6)))
    made = keys.rotate_key(
        runtime.db, admin_user, account, key_id, grace=grace, expires_at=rotation.expires_at,
        now=now, source=source,
    )  # fmt: skip
    return _made(made, now)


keys_router = Router(
    path="/api/v1/accounts/{account:str}",
    route_handlers=[list_keys, make_key, revoke_key, rotate_key],
    dependencies=ADMIN_DEPENDENCIES,
    guards=ADMIN_GUARDS,
    tags=["Administration"],
)
