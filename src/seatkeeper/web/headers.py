"""The security headers every answer carries: pages, the API, the documentation, and the
errors of each, whoever made the answer (a route, an exception handler, or the router
itself for an address that leads nowhere)."""

from __future__ import annotations

from litestar.types import Message, Scope

# Pages load only what seatkeeper serves, run no inline script or style, and may not
# be framed; the browser tests fail on any report of a violation.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# What a person sees after logging in must not linger in caches, nor be framed, nor be
# read as another type than the one it is sent as; other sites are not told our addresses.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_ENCODED = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
# seatkeeper's own scripts and styles are the same for everyone: they may be cached.
_CACHEABLE = "/static/"


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Give an answer that is starting every security header it does not set itself (a
    route may set its own: a stricter referrer policy, say). Async, though it awaits
    nothing: Litestar runs a plain function hook in a worker thread, twice an answer."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or [])
    present = {bytes(name).lower() for name, _ in headers}
    cacheable = scope.get("path", "").startswith(_CACHEABLE)
    for name, value in _ENCODED:
        if name in present or (cacheable and name == b"cache-control"):
            continue
        headers.append((name, value))
    message["headers"] = headers
