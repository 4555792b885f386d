"""ASGI middleware at the door: body size limit and security headers.

* **Body size.** A request whose ``Content-Length`` exceeds ``max_body_bytes`` is answered 413
  before its body is read; a body sent without a length (chunked) is counted as it arrives and
  cut off at the same limit. The answer is a problem document (:mod:`.problems`).
* **Headers** on every response: ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
  no-referrer``, and a ``Content-Security-Policy`` allowing only this origin's scripts, styles
  (and the inline styles Leaflet sets on map elements), images and data URLs, so a page of this
  service loads nothing from elsewhere.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

from starlette.exceptions import HTTPException

from .problems import MEDIA_TYPE, Problem

__all__ = ["Guard", "BodyTooLarge", "SECURITY_HEADERS"]

SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"content-security-policy": b"default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    b"script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
}

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class BodyTooLarge(HTTPException):
    """Raised while a body without a length is read past the limit; FastAPI passes HTTP
    exceptions through its body parsing, so the app's handler answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than this server's limit of {limit:,} bytes")


class Guard:
    """Wraps an ASGI ``app`` (see the module docstring)."""

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def _refuse(self, send: Send, path: str) -> None:
        p = Problem(
            413,
            "body-too-large",
            "Request body too large",
            f"the request body is larger than this server's limit of {self.max_body_bytes:,} bytes",
        )
        body = json.dumps(p.to_dict(path)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                    *SECURITY_HEADERS.items(),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_body_bytes:
            await self._refuse(send, scope["path"])
            return
        seen = 0
        started = False

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def secured(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((k, v) for k, v in SECURITY_HEADERS.items() if k not in names),
                ]
            await send(message)

        try:
            await self.app(scope, counted, secured)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, scope["path"])
