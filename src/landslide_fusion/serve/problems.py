"""Errors as RFC 9457 problem details (``application/problem+json``).

Every refusal of the service is one JSON object ``{"type", "title", "status", "detail"}`` (plus
members of its own, e.g. ``valid`` for an unknown bundle), answered with the status it names.
The ``type`` is the OGC API - Processes exception URI where the standard defines one
(``no-such-job``, ``no-such-process``, ``result-not-ready``), else a relative URI
``/problems/<slug>`` of this service (RFC 9457 allows relative references; none needs to be
dereferenced). Source: RFC 9457, "Problem Details for HTTP APIs" (2023), sections 3 and 4.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

__all__ = ["Problem", "problem_response", "OGC_EXCEPTIONS", "MEDIA_TYPE"]

MEDIA_TYPE = "application/problem+json"
OGC_EXCEPTIONS = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0"
_OGC = {"no-such-job", "no-such-process", "result-not-ready"}


class Problem(Exception):
    """A refusal with its HTTP ``status``, a ``slug`` naming its kind, and a one-line ``detail``."""

    def __init__(
        self, status: int, slug: str, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers = headers or {}
        self.extra = extra

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        kind = f"{OGC_EXCEPTIONS}/{self.slug}" if self.slug in _OGC else f"/problems/{self.slug}"
        doc = {"type": kind, "title": self.title, "status": self.status, "detail": self.detail}
        if instance:
            doc["instance"] = instance
        return {**doc, **self.extra}


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    """The response of ``problem`` (``instance`` is the request's path)."""
    body = problem.to_dict(request.url.path if request is not None else None)
    return JSONResponse(body, status_code=problem.status, headers=problem.headers, media_type=MEDIA_TYPE)
