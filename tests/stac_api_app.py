"""The ASGI application that ``tests/stac_api.py`` runs under uvicorn: stac-fastapi-pgstac as
published (its settings from ``POSTGRES_*``), plus, in the same process,

* ``/data/...``: the generated COGs (Starlette ``StaticFiles``, which answers HTTP range
  requests), from the folder ``STAC_DATA_DIR``;
* ``POST /_faults``: a list of ``{"method", "prefix", "status", "count"}`` rules; the next
  ``count`` requests whose path starts with ``prefix`` are answered ``status`` with an empty body,
  as a real server's transient faults are (``[]`` clears them); ``GET /_faults`` returns the
  rules with the counts left.
"""

from __future__ import annotations

import json
import os

from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from stac_fastapi.pgstac.app import app as stac_app

__all__ = ["application"]


class Faults:
    """ASGI middleware answering the requests that match a rule with its status (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.rules = app, []

    async def _reply(self, send: Send, status: int, body: bytes = b"") -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/_faults" and scope["method"] == "GET":
            await self._reply(send, 200, json.dumps(self.rules).encode())
            return
        if scope["type"] == "http" and scope["path"] == "/_faults":
            body = b""
            while True:
                msg = await receive()
                body += msg.get("body", b"")
                if not msg.get("more_body"):
                    break
            self.rules = [dict(r) for r in json.loads(body or b"[]")]
            await self._reply(send, 200, b"{}")
            return
        if scope["type"] == "http":
            for rule in self.rules:
                if (
                    rule["count"] > 0
                    and scope["path"].startswith(rule["prefix"])
                    and rule.get("method", scope["method"]) == scope["method"]
                ):
                    rule["count"] -= 1
                    await self._reply(send, int(rule["status"]))
                    return
        await self.app(scope, receive, send)


stac_app.mount("/data", StaticFiles(directory=os.environ["STAC_DATA_DIR"]), name="data")
application = Faults(stac_app)
