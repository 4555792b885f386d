"""Search a STAC API with ``pystac-client``: the items found for a request (second stage of
:mod:`.fetch`).

**Transient faults.** Every request to the API is retried up to ``retries`` times when it fails
with HTTP 429, 500, 502, 503 or 504 or a dropped connection: the first retry at once, the n-th
after ``BACKOFF_S x 2^(n-1)`` s (1, 2, 4 s ...; urllib3's ``Retry``, mounted in
``pystac-client``'s session; searches are POSTs, which urllib3 does not retry unless told to). A
request that still fails ends in one line naming the URL and the last error.

Cloud cover is filtered here rather than with the API's ``query`` extension, which not every
server implements. When nothing matches, a second search over ``+-widen_days`` finds the closest
dates that do have imagery and the error lists them. Choosing the days to composite comes later
(:mod:`.plan`), once the items that cannot be read have been set aside.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..errors import DataError
from .request import DateRange, FetchRequest

__all__ = [
    "RETRY_STATUS",
    "BACKOFF_S",
    "Found",
    "retry_policy",
    "open_catalog",
    "search_collection",
    "closest_dates",
    "find_items",
]

#: HTTP statuses retried (rate limit, server error, bad gateway, unavailable, gateway timeout).
RETRY_STATUS = (429, 500, 502, 503, 504)
#: Backoff factor (s): urllib3 waits ``BACKOFF_S x 2^(n-1)`` before the n-th retry (n >= 2), GDAL
#: ``BACKOFF_S`` before its first retry, doubling after.
BACKOFF_S = 0.5


@dataclass(frozen=True)
class Found:
    """What the catalog holds for a request: Sentinel-2 items in its dates and DEM items over its box."""

    collection: str
    scenes: list
    dem_collection: str
    dem: list


def _reason(e: BaseException) -> str:
    text = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
    return text


def retry_policy(retries: int) -> Any:
    """urllib3 ``Retry``: ``retries`` attempts on :data:`RETRY_STATUS` and connection errors, any method."""
    from urllib3 import Retry

    return Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=BACKOFF_S,
        status_forcelist=RETRY_STATUS,
        allowed_methods=None,
        raise_on_status=True,
    )


def open_catalog(url: str, retries: int) -> Any:
    """A ``pystac_client.Client`` for ``url`` that retries (see the module docstring); one clear
    line when it cannot be reached."""
    import pystac_client
    from pystac_client.stac_api_io import StacApiIO

    try:
        return pystac_client.Client.open(url, stac_io=StacApiIO(max_retries=retry_policy(retries), timeout=30))
    except Exception as e:  # requests' connection and retry errors, JSON errors, HTTP errors
        raise DataError(
            f"STAC catalog {url} cannot be reached ({_reason(e)}); check the URL and the network or pass --catalog"
        ) from None


def search_collection(
    client: Any, url: str, collection: str, req: FetchRequest, when: str | None = None, limit: int = 500
) -> list:
    """Every item of ``collection`` over the request's box (in ``when``, cloud cover <= ``max_cloud``)."""
    try:
        items = list(
            client.search(collections=[collection], bbox=req.box.as_tuple(), datetime=when, max_items=limit).items()
        )
    except Exception as e:
        raise DataError(
            f"STAC search of {url} (collection {collection}) failed after {req.retries} "
            f"retries ({_reason(e)}); try again later or raise --retries"
        ) from None
    if req.max_cloud is None or when is None:
        return items
    return [it for it in items if float(it.properties.get("eo:cloud_cover", 0.0)) <= req.max_cloud]


def closest_dates(items: list, dates: DateRange, n: int = 5) -> list[str]:
    """Up to ``n`` distinct acquisition days of ``items``, closest to ``dates`` first."""
    days = sorted(
        {it.datetime.date() for it in items if it.datetime is not None},
        key=lambda d: min(abs((d - dates.start).days), abs((d - dates.end).days)),
    )
    return [d.isoformat() for d in days[:n]]


def find_items(req: FetchRequest, collection: str, dem_collection: str, widen_days: int = 60) -> Found:
    """The Sentinel-2 items of ``collection`` in the request's dates and the ``dem_collection``
    items over its box; raises when either is empty (the first error lists the closest dates)."""
    client = open_catalog(req.catalog, req.retries)
    scenes = search_collection(client, req.catalog, collection, req, req.dates.stac())
    if not scenes:
        wide = DateRange(req.dates.start - dt.timedelta(days=widen_days), req.dates.end + dt.timedelta(days=widen_days))
        near = closest_dates(search_collection(client, req.catalog, collection, req, wide.stac()), req.dates)
        cloud = f" with cloud cover <= {req.max_cloud:g} %" if req.max_cloud is not None else ""
        hint = f"closest dates with imagery: {', '.join(near)}" if near else f"none within {widen_days} days either"
        raise DataError(f"no {collection} item over bbox {req.box} on {req.dates}{cloud} in {req.catalog}; {hint}")
    dem = search_collection(client, req.catalog, dem_collection, req, limit=100)
    if not dem:
        raise DataError(f"no {dem_collection} (DEM) item over bbox {req.box} in {req.catalog}; pass --dem-collection")
    return Found(collection, scenes, dem_collection, dem)
