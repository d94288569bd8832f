"""Admin API for an account's single sign-on: its OpenID Provider, seen, set and removed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Router, delete, get, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from seatkeeper.domain import errors as e
from seatkeeper.domain import sso as rules
from seatkeeper.domain.model import Role
from seatkeeper.services import sso
from seatkeeper.web import presenters as shown
from seatkeeper.web.api.admin import ADMIN_TOKEN, REFUSALS
from seatkeeper.web.deps import (
    ADMIN_DEPENDENCIES,
    ADMIN_GUARDS,
    ApiUser,
    Now,
    RuntimeDep,
    Source,
    base_url,
)
from seatkeeper.web.errors import AnyRequest, responses

GIVEN_ROLES = [r.value for r in Role if rules.HIGHEST_ROLE.at_least(r)]
# The limits are checked by the domain, so that a refusal names every wrong field at once,
# each with its own sentence. The document states only those the domain holds exactly
# (text is trimmed, audiences are counted once each).
LIMIT = f"At most {rules.LONGEST} characters, no control characters"
Text = Annotated[str, msgspec.Meta(description=LIMIT, extra_json_schema={"minLength": 1})]
RoleName = Annotated[str, msgspec.Meta(extra_json_schema={"enum": GIVEN_ROLES})]
RoleMap = Annotated[
    dict[str, RoleName],
    msgspec.Meta(
        description="A value of the roles claim -> the role it gives (account_admin at most)",
        extra_json_schema={"maxProperties": rules.MOST_ROLE_RULES},
    ),
]
Audiences = Annotated[
    list[str],
    msgspec.Meta(
        description="More client ids whose ID tokens may open agent sessions (at most "
        f"{rules.MOST_AUDIENCES})",
    ),
]
ClientSecret = Annotated[
    str,
    msgspec.Meta(
        description="The secret the provider issued: required for a new provider; left out, "
        "the stored one is kept. Never shown again.",
        extra_json_schema={"minLength": 1, "maxLength": 1000},
    ),
]


class ProviderBody(msgspec.Struct):
    """The account's provider; never its client secret."""

    account: str
    issuer: str
    client_id: str
    display_name: str  # the login page's button says "Log in with" this
    username_claim: str
    roles_claim: str | None
    role_map: dict[str, str]
    default_role: str
    passwords_allowed: bool  # false: the account's users log in through the provider only
    audiences: list[str]
    scopes: str
    secret_encrypted: bool  # the client secret is kept encrypted (the server has a secret key)
    updated_at: datetime  # in the account's time zone
    redirect_uri: str  # to register at the provider
    back_channel_logout_uri: str  # to register at the provider


class ProviderChange(msgspec.Struct, forbid_unknown_fields=True):
    """The provider's settings, all of them: what is left out takes its default."""

    issuer: Annotated[
        str,
        msgspec.Meta(
            description="The provider's address, exactly as its discovery document names it",
            extra_json_schema={"minLength": 1},
        ),
    ]
    client_id: Text
    display_name: Text
    username_claim: Text = rules.DEFAULT_USERNAME_CLAIM
    roles_claim: Annotated[str, msgspec.Meta(description=LIMIT)] | None = None  # e.g. groups
    role_map: RoleMap = msgspec.field(default_factory=dict)
    default_role: RoleName = Role.AGENT.value
    passwords_allowed: bool = True
    audiences: Audiences = msgspec.field(default_factory=list)
    scopes: Text = rules.DEFAULT_SCOPES
    client_secret: ClientSecret | None = None


def provider_body(view: sso.ProviderView, base: str) -> ProviderBody:
    found, account = view.settings, view.account
    redirect, logout = shown.sso_addresses(base, account)
    return ProviderBody(
        account=account.slug,
        issuer=found.issuer,
        client_id=found.client_id,
        display_name=found.display_name,
        username_claim=found.username_claim,
        roles_claim=found.roles_claim,
        role_map={value: role.value for value, role in found.role_map.items()},
        default_role=found.default_role.value,
        passwords_allowed=found.passwords_allowed,
        audiences=list(found.audiences),
        scopes=found.scopes,
        secret_encrypted=view.secret_encrypted,
        updated_at=shown.local(view.updated_at, account),
        redirect_uri=redirect,
        back_channel_logout_uri=logout,
    )


@get(
    "/sso",
    summary="The account's single sign-on provider (never its client secret)",
    description="Also the two addresses to register at the provider: `redirect_uri` and "
    "`back_channel_logout_uri`.",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.NoProvider),
    sync_to_thread=True,
)
def get_provider(
    request: AnyRequest, runtime: RuntimeDep, admin_user: ApiUser, account: FromPath[str]
) -> ProviderBody:
    found = sso.provider(runtime.db, admin_user, account)
    if found is None:
        raise e.NoProvider
    return provider_body(found, base_url(request))


@put(
    "/sso",
    summary="Set or change the account's single sign-on provider",
    description="The provider's discovery document is read first: an issuer that does not "
    "answer, or names another issuer, is refused (502) and nothing changes. A new provider "
    "needs `client_secret`; a change keeps the stored one unless another is given. Single "
    "sign-on gives at most the account_admin role. A refusal names each wrong field.",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.ProviderUnavailable),
    status_code=HTTP_200_OK,
    sync_to_thread=True,
)
def set_provider(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    data: JSONBody[ProviderChange],
) -> ProviderBody:
    settings = rules.provider_settings(
        issuer=data.issuer, client_id=data.client_id, display_name=data.display_name,
        username_claim=data.username_claim, roles_claim=data.roles_claim,
        role_map=data.role_map, default_role=data.default_role,
        passwords_allowed=data.passwords_allowed, audiences=data.audiences, scopes=data.scopes,
    )  # fmt: skip
    view = sso.set_provider(
        runtime.db, runtime.sso, admin_user, account, settings,
        client_secret=data.client_secret, now=now, source=source,
    )  # fmt: skip
    return provider_body(view, base_url(request))


@delete(
    "/sso",
    summary="Remove the account's single sign-on provider: its users log in with passwords",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.NoProvider),
    status_code=HTTP_204_NO_CONTENT,
    sync_to_thread=True,
)
def remove_provider(
    runtime: RuntimeDep, now: Now, admin_user: ApiUser, source: Source, account: FromPath[str]
) -> None:
    sso.remove_provider(runtime.db, admin_user, account, now=now, source=source)


sso_router = Router(
    path="/api/v1/accounts/{account:str}",
    route_handlers=[get_provider, set_provider, remove_provider],
    dependencies=ADMIN_DEPENDENCIES,
    guards=ADMIN_GUARDS,
    tags=["Administration"],
)
