"""One guard where requests are read: no control character in the path, the query or the
body (JSON or a form), and no JSON nested deeper than seatkeeper's own documents.

Nothing seatkeeper keeps may hold a control character (a NUL byte is not even text to
PostgreSQL), and a deeply nested body is an attack on the parser; both are refused at the
door with a sentence (400), before any route reads them. The refusal is a DomainError, so
each route answers it its own way (a page for people, JSON for programs)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from seatkeeper.domain.errors import InvalidInput
from seatkeeper.domain.validation import has_control

MAX_DEPTH = 16  # seatkeeper's own bodies are 3 levels deep at most
MAX_BODY = 512 * 1024  # the largest body is a terminate request of 10,000 ids (~390 KB)
_CHECKED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def check_path_and_query(scope: Scope) -> None:
    """Refuse a path or a query that holds a control character."""
    if has_control(scope.get("path", "")):
        raise InvalidInput("The address must not contain control characters (such as NUL).")
    query = scope.get("query_string", b"").decode("utf-8", errors="replace")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if has_control(name) or has_control(value):
            raise InvalidInput(
                f"The query parameter {name[:40]!r} must not contain control characters "
                "(such as NUL)."
            )


def check_json(body: bytes) -> None:
    """Refuse a JSON body nested too deep or holding a control character in any string
    (key or value); a body that is not JSON is left to the route to refuse."""
    try:
        document = msgspec.json.decode(body)
    except RecursionError:
        raise InvalidInput(_too_deep()) from None
    except msgspec.DecodeError:
        return
    _walk(document, 0)


def _too_deep() -> str:
    return f"The JSON body is nested too deep: at most {MAX_DEPTH} levels of arrays and objects."


def _walk(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidInput(_too_deep())
    if isinstance(value, str):
        if has_control(value):
            raise InvalidInput(
                "Text in the request must not contain control characters (such as NUL, "
                "tabs or line breaks)."
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(key, depth)
            _walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _walk(item, depth + 1)


# A form's text areas, whose lines are read one by one (each line then checked as any text
# is): line breaks are how they are typed, and no other control character is let through.
LINES_FIELDS = frozenset({"role_rules", "audiences"})


def check_form(body: bytes) -> None:
    """Refuse a form field (name or value) that holds a control character (a text area's
    line breaks aside)."""
    for name, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        text = value.replace("\r\n", "\n").replace("\n", "") if name in LINES_FIELDS else value
        if has_control(name) or has_control(text):
            raise InvalidInput(
                f"The field {name[:40]!r} must not contain control characters (such as NUL)."
            )


def _media_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return value.split(b";")[0].strip().lower().decode("latin-1")
    return ""


class RequestGuard(ASGIMiddleware):
    """Checks the path, the query and a JSON or form body before the route reads them."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        check_path_and_query(scope)
        media = _media_type(scope)
        is_json = media == "application/json" or media.endswith("+json")
        is_form = media == "application/x-www-form-urlencoded"
        if scope.get("method") not in _CHECKED_METHODS or not (is_json or is_form):
            await next_app(scope, receive, send)
            return
        messages, body = await _read(receive)
        if len(body) <= MAX_BODY:
            (check_json if is_json else check_form)(body)
        await next_app(scope, _replay(messages, receive), send)


async def _read(receive: Receive) -> tuple[list[ReceiveMessage], bytes]:
    """The body's messages, up to a little past the app's limit (the rest stays unread)."""
    messages: list[ReceiveMessage] = []
    size = 0
    chunks = []
    while size <= MAX_BODY:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


def _replay(messages: list[ReceiveMessage], receive: Receive) -> Receive:
    """A receive that gives back what was read, then reads on."""
    pending = list(messages)

    async def replayed() -> ReceiveMessage:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
