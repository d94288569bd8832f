"""Every refusal leaves as {"error": {"code", "message"}} with one status per kind."""

from __future__ import annotations

import logging
import math
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from seatkeeper.domain import errors as e

log = logging.getLogger("seatkeeper.web")
AnyRequest = Request[Any, Any, Any]

STATUS: dict[type[e.DomainError], int] = {
    e.InvalidInput: 400,
    e.MissingCredentials: 401,
    e.InvalidToken: 401,
    e.InvalidCredentials: 401,
    e.NotAllowed: 403,
    e.CsrfRefused: 403,
    e.GuestsNotAllowed: 403,
    e.AccountNotFound: 404,
    e.SessionNotFound: 404,
    e.InteractionNotFound: 404,
    e.FlowNotFound: 404,
    e.WebhookNotFound: 404,
    e.KeyNotFound: 404,
    e.UserNotFound: 404,
    e.GroupNotFound: 404,
    e.PasswordLinkInvalid: 404,
    e.Conflict: 409,
    e.TooManyWebhooks: 409,
    e.InteractionClosed: 409,
    e.LicenseLimitReached: 409,  # GroupLimitReached too
    e.SessionEnded: 410,
    e.WaitNotFound: 404,
    e.WaitEnded: 410,
    e.TooManyAttempts: 429,
    e.LoginsBusy: 503,
    e.SignInRefused: 401,
    e.PasswordsOff: 403,
    e.NoProvider: 404,
    e.ProviderUnavailable: 502,
}

_HTTP_CODES = {
    400: ("invalid_request", "The request is not valid."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not answer that method."),
    413: ("request_too_large", "The request body is too large."),
    429: ("too_many_requests", "Too many requests; slow down and try again."),
}


class ErrorDetail(msgspec.Struct, omit_defaults=True):
    code: str
    message: str
    fields: dict[str, str] | None = None  # a form's refusal: each wrong field's sentence


class ErrorBody(msgspec.Struct):
    """The body of every error answer."""

    error: ErrorDetail


def status_of(kind: type[e.DomainError]) -> int:
    """The HTTP status a kind of domain refusal is answered with."""
    for base in kind.__mro__:
        if base in STATUS:
            return STATUS[base]
    return 400


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    fields: dict[str, str] | None = None,
) -> Response[ErrorBody]:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return Response(
        ErrorBody(ErrorDetail(code, message, fields)),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def retry_after(exc: e.TooManyAttempts | e.LoginsBusy) -> dict[str, str]:
    """The Retry-After header of a throttled or busy login, in whole seconds."""
    return {"Retry-After": str(math.ceil(exc.retry_after.total_seconds()))}


def domain_error(_request: AnyRequest, exc: e.DomainError) -> Response[ErrorBody]:
    headers = None
    if isinstance(exc, e.TooManyAttempts | e.LoginsBusy):
        headers = retry_after(exc)
    fields = exc.fields if isinstance(exc, e.InvalidFields) else None
    return error_response(status_of(type(exc)), exc.code, exc.message, headers, fields)


def _pattern_rule(message: str) -> str:
    """The rule a value that did not match a documented pattern broke, in words. (Control
    characters never reach here: the request guard refuses them first.)"""
    if "(?=.*" in message:  # the printable-text pattern: something visible
        return "must not be blank"
    if "[hH][tT][tT][pP]" in message:
        return "must start with http:// or https:// and a host"
    return "does not have the documented form"


def validation_error(_request: AnyRequest, exc: ValidationException) -> Response[ErrorBody]:
    problems = []
    fields: dict[str, str] = {}
    for item in exc.extra if isinstance(exc.extra, list) else []:
        key, message = item.get("key"), item.get("message", "")
        if "matching regex" in message:
            message = _pattern_rule(message)
        if key == "data" and message in ("'data'", "data"):
            problems.append("a JSON object body is required")
        elif key in (None, "data"):
            problems.append(str(message))
        else:
            problems.append(f"{key}: {message}")
            fields[str(key)] = str(message)
    detail = "; ".join(problems) or "the request does not match the documented schema"
    return error_response(
        400, "invalid_request", f"Invalid request: {detail}.", fields=fields or None
    )


def http_error(_request: AnyRequest, exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code
    code, message = _HTTP_CODES.get(status, ("http_error", exc.detail))
    if status == 400 and exc.detail:
        message = f"The request could not be read: {exc.detail}."
    return error_response(status, code, message)


def undecodable(_request: AnyRequest, _exc: UnicodeDecodeError) -> Response[ErrorBody]:
    return error_response(400, "invalid_request", "The request body is not valid UTF-8.")


def internal_error(request: AnyRequest, exc: Exception) -> Response[ErrorBody]:
    log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "seatkeeper could not complete this request; the error has been logged.",
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    e.DomainError: domain_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    UnicodeDecodeError: undecodable,
    Exception: internal_error,
}


def responses(*kinds: type[e.DomainError]) -> dict[int, ResponseSpec]:
    """OpenAPI descriptions of the refusals a route can answer, grouped by status."""
    by_status: dict[int, list[str]] = {}
    for kind in kinds:
        by_status.setdefault(status_of(kind), []).append(f"`{kind.code}`")
    by_status.setdefault(400, ["`invalid_request`"])
    return {
        status: ResponseSpec(data_container=ErrorBody, description="Refused: " + ", ".join(codes))
        for status, codes in sorted(by_status.items())
    }
