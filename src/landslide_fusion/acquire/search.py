"""Search a STAC API with ``pystac-client`` and choose scenes by cloud cover.

Cloud cover is filtered here rather than with the API's ``query`` extension, which not every
server implements. Items are sorted by ``eo:cloud_cover`` (least first) and the ``max_scenes`` clearest dates are
kept, every tile of a kept date included (a box on a tile border needs both tiles). When nothing
matches, a second search over ``+-widen_days`` finds the closest dates that do have imagery and
the error lists them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..errors import DataError
from .request import BBox, DateRange

__all__ = ["open_catalog", "search_items", "search_collection", "choose_items", "closest_dates"]


def open_catalog(url: str) -> Any:
    """A ``pystac_client.Client`` for ``url``; one clear line when it cannot be reached."""
    import pystac_client

    try:
        return pystac_client.Client.open(url, timeout=30)
    except Exception as e:  # requests' connection errors, JSON errors, HTTP errors
        reason = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise DataError(f"STAC catalog {url} cannot be reached ({reason}); check the URL and the network "
                        "or pass --catalog") from None


def search_collection(client: Any, url: str, collection: str, box: BBox, when: str | None = None,
                      max_cloud: float | None = None, limit: int = 500) -> list:
    """Every item of ``collection`` over ``box`` (in ``when``, with cloud cover <= ``max_cloud``)."""
    try:
        items = list(client.search(collections=[collection], bbox=box.as_tuple(), datetime=when,
                                   max_items=limit).items())
    except Exception as e:
        reason = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise DataError(f"STAC search of {url} (collection {collection}) failed ({reason})") from None
    if max_cloud is None:
        return items
    return [it for it in items if float(it.properties.get("eo:cloud_cover", 0.0)) <= max_cloud]


def closest_dates(items: list, dates: DateRange, n: int = 5) -> list[str]:
    """Up to ``n`` distinct acquisition days of ``items``, closest to ``dates`` first."""
    days = sorted({it.datetime.date() for it in items if it.datetime is not None},
                  key=lambda d: min(abs((d - dates.start).days), abs((d - dates.end).days)))
    return [d.isoformat() for d in days[:n]]


def choose_items(items: list, max_scenes: int) -> list:
    """The items of the ``max_scenes`` least cloudy days (every tile of those days)."""
    cover: dict[dt.date, list[float]] = {}
    for it in items:
        cover.setdefault(it.datetime.date(), []).append(float(it.properties.get("eo:cloud_cover", 0.0)))
    best = sorted(cover, key=lambda d: (sum(cover[d]) / len(cover[d]), d))[:max_scenes]
    return sorted((it for it in items if it.datetime.date() in best), key=lambda it: (it.datetime, it.id))


def search_items(client: Any, url: str, collection: str, box: BBox, dates: DateRange, *,
                 max_cloud: float | None = None, max_scenes: int = 3, widen_days: int = 60) -> list:
    """Items of ``collection`` over ``box`` in ``dates`` (see the module docstring)."""
    items = search_collection(client, url, collection, box, dates.stac(), max_cloud)
    if items:
        return choose_items(items, max_scenes)
    wide = DateRange(dates.start - dt.timedelta(days=widen_days), dates.end + dt.timedelta(days=widen_days))
    near = closest_dates(search_collection(client, url, collection, box, wide.stac(), max_cloud), dates)
    cloud = f" with cloud cover <= {max_cloud:g} %" if max_cloud is not None else ""
    hint = f"closest dates with imagery: {', '.join(near)}" if near else f"none within {widen_days} days either"
    raise DataError(f"no {collection} item over bbox {box} on {dates}{cloud} in {url}; {hint}")
