"""Admin API for Account Settings and Users: what the pages do, for scripts that provision."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

import msgspec
from litestar import Router, delete, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from seatkeeper.domain import errors as e
from seatkeeper.domain import model, pool, validation
from seatkeeper.domain.model import Account, Role, UserRow
from seatkeeper.services import page_logins, settings, users
from seatkeeper.web import presenters as shown
from seatkeeper.web.api.admin import ADMIN_TOKEN, REFUSALS
from seatkeeper.web.deps import ADMIN_DEPENDENCIES, ADMIN_GUARDS, ApiUser, Now, RuntimeDep, Source
from seatkeeper.web.errors import AnyRequest, responses

RoleName = Literal["agent", "designer", "account_admin", "super_admin"]
# No `pattern`: a JSON Schema pattern's \w is ASCII, the service's takes letters of any
# script (the API fuzzing found the document refusing what the server accepts). The
# service checks the form and names the rule.
Username = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=validation.MAX_USERNAME,
        description="Letters (of any script), digits and . @ + - _, no spaces",
    ),
]
# The zones are documented (a list to choose from) but checked by the service, whose
# refusal says what a zone name looks like.
TimeZone = Annotated[
    str,
    msgspec.Meta(
        max_length=64,
        description="An IANA time zone name",
        extra_json_schema={"enum": sorted(validation.zone_names())},
    ),
]
Minutes = Annotated[
    float,
    msgspec.Meta(
        extra_json_schema={
            "minimum": pool.MIN_TIMEOUT.total_seconds() / 60,
            "maximum": pool.MAX_TIMEOUT.total_seconds() / 60,
        }
    ),
]
AccountName = Annotated[str, msgspec.Meta(extra_json_schema={"minLength": 1, "maxLength": 200})]
# The API names the timeout by its unit; the service by what it is.
API_FIELDS = {"session_timeout": "session_timeout_minutes"}
Password = Annotated[
    str, msgspec.Meta(min_length=validation.MIN_PASSWORD, max_length=validation.MAX_PASSWORD)
]


class LicenseChangeBody(msgspec.Struct):
    at: datetime  # in the account's time zone
    licenses: int
    changed_by: str | None  # null for the total the account began with


class SettingsBody(msgspec.Struct):
    account: str
    name: str
    time_zone: str
    session_timeout_minutes: float
    guests_allowed: bool
    licenses: int  # a super_admin's to change
    license_history: list[LicenseChangeBody]  # latest first
    overdraft: int  # sessions allowed beyond the licenses; a super_admin's to change
    max_interactions: int  # Interactions one session may have open at once
    # Days session, Interaction and refusal rows are kept; the daily figures are kept for good.
    retention_days: int


class SettingsChange(msgspec.Struct, forbid_unknown_fields=True):
    """Settings to change; a setting left out (or null) stays as it is. The limits are documented
    here but checked by the service, so that a refusal names every wrong field at once."""

    name: (
        Annotated[str, msgspec.Meta(extra_json_schema={"minLength": 1, "maxLength": 200})] | None
    ) = None
    time_zone: TimeZone | None = None
    session_timeout_minutes: Minutes | None = None
    guests_allowed: bool | None = None
    licenses: Annotated[int, msgspec.Meta(extra_json_schema={"minimum": 0})] | None = None
    overdraft: (
        Annotated[
            int, msgspec.Meta(extra_json_schema={"minimum": 0, "maximum": validation.MAX_OVERDRAFT})
        ]
        | None
    ) = None
    max_interactions: (
        Annotated[int, msgspec.Meta(extra_json_schema={"minimum": 1, "maximum": 100})] | None
    ) = None
    retention_days: (
        Annotated[
            int,
            msgspec.Meta(
                extra_json_schema={
                    "minimum": validation.MIN_RETENTION_DAYS,
                    "maximum": validation.MAX_RETENTION_DAYS,
                }
            ),
        ]
        | None
    ) = None


class UserBody(msgspec.Struct):
    username: str
    role: str
    created_at: datetime  # in the account's time zone
    last_login_at: datetime | None  # the pages' login or an agent's session; null if never
    disabled: bool


class UsersBody(msgspec.Struct):
    account: str
    time_zone: str
    users: list[UserBody]


class NewUser(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    role: RoleName
    password: Password | None = None  # none: the answer holds a one-time link to set one


class UserChange(msgspec.Struct, forbid_unknown_fields=True):
    """What to change; what is left out (or null) stays as it is."""

    role: RoleName | None = None
    disabled: bool | None = None


class PasswordReset(msgspec.Struct, forbid_unknown_fields=True):
    password: Password | None = None  # none: the answer holds a one-time link to set one


class HandedUser(msgspec.Struct):
    user: UserBody
    # A one-time link that sets the password, valid 7 days: shown this once. It starts
    # with the server's SEATKEEPER_PUBLIC_URL; without one it is a path on this server.
    set_password_url: str | None


def settings_body(result: settings.AccountSettings) -> SettingsBody:
    account = result.account
    return SettingsBody(
        account=account.slug,
        name=account.name,
        time_zone=account.time_zone,
        session_timeout_minutes=shown.timeout_minutes(account),
        guests_allowed=account.guests_allowed,
        licenses=account.licenses,
        license_history=[
            LicenseChangeBody(c.at, c.licenses, c.actor)
            for c in (shown.license_total(change, account) for change in result.license_history)
        ],
        overdraft=account.overdraft,
        max_interactions=account.max_interactions,
        retention_days=account.retention_days,
    )


def user_body(user: UserRow, account: Account) -> UserBody:
    found = shown.person(user, account)
    return UserBody(
        found.username, found.role.value, found.created, found.last_login, found.disabled
    )


def role_named(name: str) -> Role:
    try:
        return Role(name)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise e.InvalidInput(f"Unknown role {name!r}; choose one of {roles}.") from None


def handed_body(request: AnyRequest, handed: users.Handed) -> HandedUser:
    token = handed.link_token
    public_url = request.app.state.runtime.public_url
    url = None if token is None else shown.link_url(public_url, token)
    return HandedUser(user_body(handed.user, handed.account), url)


@get(
    "/settings",
    summary="The account's settings and license history",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS),
    sync_to_thread=True,
)
def get_settings(runtime: RuntimeDep, admin_user: ApiUser, account: FromPath[str]) -> SettingsBody:
    return settings_body(settings.account_settings(runtime.db, admin_user, account))


@patch(
    "/settings",
    summary="Change the account's name, time zone, session timeout, Guests, licenses, "
    "overdraft, open Interactions per session or how long usage rows are kept",
    description="Only a super_admin changes `licenses` and `overdraft` (sessions allowed "
    "beyond the licenses, each marked as overdraft). Every change is in the audit trail. "
    "A refusal names each field that is wrong and changes nothing.",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS),
    status_code=HTTP_200_OK,
    sync_to_thread=True,
)
def change_settings(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    data: JSONBody[SettingsChange],
) -> SettingsBody:
    minutes = data.session_timeout_minutes
    change = model.SettingsChange(
        name=data.name,
        time_zone=data.time_zone,
        # Clamped far outside the range, which stays refused: a timedelta of 1e300 minutes
        # would overflow.
        session_timeout=None if minutes is None else timedelta(minutes=max(-1, min(minutes, 1e6))),
        guests_allowed=data.guests_allowed,
        licenses=data.licenses,
        overdraft=data.overdraft,
        max_interactions=data.max_interactions,
        retention_days=data.retention_days,
    )
    try:
        result = settings.change_settings(
            runtime.db, admin_user, account, change, now=now, source=source
        )
    except e.InvalidFields as exc:
        raise e.InvalidFields({API_FIELDS.get(k, k): v for k, v in exc.fields.items()}) from None
    return settings_body(result)


@get(
    "/users",
    summary="The account's users, with role and last login",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS),
    sync_to_thread=True,
)
def list_users(runtime: RuntimeDep, admin_user: ApiUser, account: FromPath[str]) -> UsersBody:
    found, rows = users.list_users(runtime.db, admin_user, account)
    return UsersBody(found.slug, found.time_zone, [user_body(u, found) for u in rows])


@post(
    "/users",
    summary="Create a user, with a password or a one-time link to set one",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.Conflict),
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
)
def create_user(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    data: JSONBody[NewUser],
) -> HandedUser:
    handed = users.add_user(
        runtime.db,
        runtime.passwords,
        admin_user,
        account,
        username=data.username,
        role=role_named(data.role),
        password=data.password,
        now=now,
        source=source,
    )
    return handed_body(request, handed)


@patch(
    "/users/{username:str}",
    summary="Change a user's role, or disable or enable them",
    description="An admin gives roles up to their own and cannot change users above it; "
    "the last enabled account_admin can be neither lowered nor disabled (409). Disabling "
    "an agent ends their open session: their next call answers 410 `user_disabled`.",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.UserNotFound, e.Conflict),
    status_code=HTTP_200_OK,
    sync_to_thread=True,
)
def change_user(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    username: FromPath[str],
    data: JSONBody[UserChange],
) -> UserBody:
    handed = users.change_user(
        runtime.db,
        admin_user,
        account,
        username,
        role=None if data.role is None else role_named(data.role),
        enabled=None if data.disabled is None else not data.disabled,
        now=now,
        source=source,
    )
    return user_body(handed.user, handed.account)


@post(
    "/users/{username:str}/password",
    summary="Reset a user's password: a new one, or a one-time link to set one",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.UserNotFound),
    status_code=HTTP_200_OK,
    sync_to_thread=True,
)
def reset_password(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    username: FromPath[str],
    data: JSONBody[PasswordReset],
) -> HandedUser:
    handed = users.reset_password(
        runtime.db,
        runtime.passwords,
        admin_user,
        account,
        username,
        password=data.password,
        now=now,
        source=source,
    )
    return handed_body(request, handed)


class LoginsEnded(msgspec.Struct):
    username: str
    ended: int  # the user's logins to the pages that were on, and are now over


@delete(
    "/users/{username:str}/logins",
    summary="End every login of a user to the pages",
    description="Their browsers must log in again; their API tokens and agent sessions are "
    "not touched. The same for users up to the admin's own role; audited.",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.UserNotFound),
    status_code=HTTP_200_OK,
    sync_to_thread=True,
)
def end_user_logins(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    username: FromPath[str],
) -> LoginsEnded:
    _, ended = page_logins.end_user_logins(
        runtime.db, admin_user, account, username, now=now, source=source
    )
    return LoginsEnded(username, ended)


people_router = Router(
    path="/api/v1/accounts/{account:str}",
    route_handlers=[
        get_settings,
        change_settings,
        list_users,
        create_user,
        change_user,
        reset_password,
        end_user_logins,
    ],
    dependencies=ADMIN_DEPENDENCIES,
    guards=ADMIN_GUARDS,
    tags=["Account settings and users"],
)
