"""HTTP hardening that applies to every response: headers, body size, invalid paths, proxies.

:class:`SecurityMiddleware` is a plain ASGI middleware (so it also covers error pages and
responses produced by exception handlers), installed first by :func:`critmin.web.app.create_app`:

* **Trusted proxy.** When the peer address is in ``web.trusted_proxies`` (a TLS-terminating
  nginx on the same host, see docs/deployment.md), its ``X-Forwarded-Proto`` sets the request
  scheme and the right-most ``X-Forwarded-For`` address becomes the client address (used by
  the login throttle and the audit log). Headers from any other peer are ignored, so a client
  cannot claim another address to dodge the per-address throttle.
* **Headers.** A strict Content-Security-Policy (scripts, styles, images, fonts and fetches
  from this origin only; no inline script, no ``eval``; no framing; forms post only here),
  ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
  same-origin``, ``Cross-Origin-Opener-Policy``, ``Permissions-Policy``; ``Cache-Control:
  no-store`` on everything but the vendored/static assets; ``Strict-Transport-Security`` on
  TLS requests.
* **Body size.** A request body longer than ``web.max_body_bytes`` answers 413, whether the
  client announced it in ``Content-Length`` or streamed it chunked (the body is read at most
  one byte past the limit).
* **NUL characters.** A query string or a JSON or form body holding U+0000 answers 400 before any route: no
  text field accepts it, and PostgreSQL text cannot store it (found by schemathesis on the
  PostgreSQL store).
* **Invalid paths.** A path with a NUL or another control character (``/static/%00``), or one
  whose percent-encoding is not UTF-8, answers 404 before any route sees it.

:func:`cookie_secure` decides the ``Secure`` cookie flag: always when ``web.cookie_secure`` is
set, else when the request arrived over TLS (directly, or as a trusted proxy says).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from typing import Any

from critmin import settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

settings.register(
    "web.store_retry_after_s",
    5,
    "Retry-After (seconds) of the 503 answered while the operational store cannot be reached or "
    "stays locked past its busy timeout.",
    "A PostgreSQL restart or fail-over takes seconds; clients and nginx retry after it",
)


settings.register(
    "web.max_body_bytes",
    1_048_576,
    "Largest request body accepted, in bytes; a longer one answers 413 (project records, "
    "scenario specs and notes are a few kB).",
    "OWASP ASVS 4.0.3 V13.1.1/V12.1.1 (limit request sizes); nginx client_max_body_size default is 1 MiB",
)
settings.register(
    "web.cookie_secure",
    False,
    "Mark session cookies Secure always (set it when the site is only reachable over TLS); "
    "otherwise they are Secure when the request came over TLS, directly or per a trusted proxy.",
    "OWASP ASVS 4.0.3 V3.4.1",
)
settings.register(
    "web.trusted_proxies",
    (),
    "Comma-separated addresses or networks of reverse proxies whose X-Forwarded-Proto and "
    "X-Forwarded-For are believed (e.g. 127.0.0.1 for nginx on the same host). Empty: none.",
    "",
)
settings.register(
    "web.hsts_seconds",
    31_536_000,
    "max-age of Strict-Transport-Security sent on TLS requests (0: not sent).",
    "OWASP HTTP Headers Cheat Sheet (one year)",
)

#: The Content-Security-Policy of every response. Plotly (vendored, served from this origin)
#: needs no eval in v2+; its stylesheet is served as /vendor/plotly.css (see
#: critmin.web.assets) because inline <style> is not allowed; images may be data: URIs
#: (plotly's modebar and exported PNGs).
CSP = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
    "manifest-src 'self'",
))

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)
#: Paths whose responses may be cached (public assets without user data).
CACHEABLE_PREFIXES = ("/static/", "/vendor/")


@lru_cache(maxsize=16)
def _networks(raw: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    out = []
    for item in raw:
        try:
            out.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"setting 'web.trusted_proxies': {item!r} is not an IP address or network"
            ) from None
    return tuple(out)


def is_trusted_proxy(host: str | None) -> bool:
    nets = _networks(tuple(settings.get("web.trusted_proxies")))
    if not host or not nets:
        return False
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(addr in n for n in nets)


def cookie_secure(request: Any) -> bool:
    """Whether cookies set on this response get the ``Secure`` flag."""
    return bool(settings.get("web.cookie_secure")) or request.url.scheme == "https"


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return v.decode("latin-1")
    return None


def _invalid_path(scope: Scope) -> bool:
    path = scope.get("path", "")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        return True
    raw = scope.get("raw_path")
    if raw:
        from urllib.parse import unquote_to_bytes

        try:
            unquote_to_bytes(raw.split(b"?", 1)[0]).decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False


async def _send_json(send: Send, status: int, detail: str, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *HEADERS, *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    pass


class SecurityMiddleware:
    """See the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self._apply_proxy(scope)
        if _invalid_path(scope):
            await _send_json(send, 404, "not found")
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            await _send_json(send, 400, "query string holds a NUL character (U+0000), which no parameter accepts")
            return
        limit = int(settings.get("web.max_body_bytes"))
        length = _header(scope, b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                await _send_json(send, 400, "Content-Length is not a number")
                return
            if n > limit:
                await _send_json(send, 413, f"request body of {n} bytes is over the limit of {limit} bytes",
                                 ((b"connection", b"close"),))
                return
        if scope.get("method") not in ("GET", "HEAD", "OPTIONS") or length is not None \
                or _header(scope, b"transfer-encoding") is not None:
            try:
                receive, body = await _buffered(receive, limit)
            except BodyTooLarge:
                await _send_json(send, 413, f"request body is over the limit of {limit} bytes",
                                 ((b"connection", b"close"),))
                return
            if _has_nul(scope, body):
                await _send_json(send, 400, "request body holds a NUL character (U+0000), which no text field "
                                 "accepts")
                return
        tls = scope.get("scheme") == "https"
        cacheable = scope.get("path", "").startswith(CACHEABLE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ()) if h[0].lower() not in _OURS]
                headers.extend(HEADERS)
                if not cacheable:
                    headers = [h for h in headers if h[0].lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                hsts = int(settings.get("web.hsts_seconds"))
                if tls and hsts > 0:
                    headers.append((b"strict-transport-security", f"max-age={hsts}".encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _apply_proxy(scope: Scope) -> None:
        if not is_trusted_proxy(_peer(scope)):
            return
        proto = _header(scope, b"x-forwarded-proto")
        if proto:
            scope["scheme"] = "https" if proto.split(",")[-1].strip().lower() == "https" else "http"
        fwd = _header(scope, b"x-forwarded-for")
        if fwd:
            last = fwd.split(",")[-1].strip()
            try:
                ipaddress.ip_address(last)
            except ValueError:
                return
            scope["client"] = (last, 0)


_OURS = frozenset(h[0] for h in HEADERS)


def _peer(scope: Scope) -> str | None:
    """The address of the TCP peer (the proxy, when there is one)."""
    client = scope.get("client")
    return client[0] if client else None


def _has_nul(scope: Scope, body: bytes) -> bool:
    """A JSON or form body carrying U+0000 (raw, JSON ``\\u0000`` or form ``%00``): no record
    field accepts it and PostgreSQL text cannot store it, so it is refused before any route
    (a JSON text spelling a literal backslash before ``u0000`` is refused too: conservative)."""
    ctype = (_header(scope, b"content-type") or "").lower()
    if "json" in ctype:
        return b"\x00" in body or b"\\u0000" in body
    if "x-www-form-urlencoded" in ctype:
        return b"\x00" in body or b"%00" in body
    return False  # multipart uploads and other types: binary is theirs to check


async def _buffered(receive: Receive, limit: int) -> tuple[Receive, bytes]:
    """Read the whole body (refusing one longer than ``limit``) and replay it to the app;
    returns the replaying receive and the body."""
    chunks: list[bytes] = []
    chunks_msg: Message | None = None  # a non-body message (a disconnect) read while buffering
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            chunks_msg = message
            break
        body = message.get("body", b"")
        size += len(body)
        if size > limit:
            raise BodyTooLarge
        chunks.append(body)
        if not message.get("more_body", False):
            break
    body_msg: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
    pending: list[Message] = [body_msg] if chunks_msg is None else [body_msg, chunks_msg]

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay, body_msg["body"]
