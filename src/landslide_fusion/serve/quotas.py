"""Per-key quotas: the largest box, the longest date span and the jobs a key may have at once.

Each API key carries its own quota (``landslide serve key create --max-area 25``); keys created
without one take the configuration's ``[quota]``. A request over the area or span is refused
with 403 (this key may not ask for it; a smaller request may pass), a key already running its
``max_concurrent`` jobs gets 429 with ``Retry-After`` (it may ask again later).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..acquire.request import BBox, DateRange, box_size_km
from ..config import setting
from .problems import Problem

__all__ = ["Quota", "check_request_quota", "check_concurrent"]


@dataclass(frozen=True)
class Quota:
    """Limits of one key."""

    max_area_km2: float = setting(100.0, gt=0)
    max_days: int = setting(92, ge=1)
    max_concurrent: int = setting(2, ge=1)


def check_request_quota(quota: Quota, box: BBox, dates: DateRange) -> float:
    """The box's area (km^2); raises a 403 :class:`Problem` when the box or the date span is over ``quota``."""
    w, h = box_size_km(box)
    area = w * h
    if area > quota.max_area_km2:
        raise Problem(
            403,
            "quota-exceeded",
            "Box over this key's quota",
            f"bbox {box} covers {area:,.1f} km^2, more than this key's limit of {quota.max_area_km2:g} km^2; "
            "ask for a smaller box",
            limit_km2=quota.max_area_km2,
            area_km2=round(area, 3),
        )
    days = (dates.end - dates.start).days + 1
    if days > quota.max_days:
        raise Problem(
            403,
            "quota-exceeded",
            "Date span over this key's quota",
            f"dates {dates} span {days} days, more than this key's limit of {quota.max_days}; ask for a shorter range",
            limit_days=quota.max_days,
            days=days,
        )
    return area


def check_concurrent(quota: Quota, active: int, retry_after_s: int = 10) -> None:
    """Raise a 429 :class:`Problem` when a key with ``active`` unfinished jobs may start no other."""
    if active >= quota.max_concurrent:
        raise Problem(
            429,
            "too-many-jobs",
            "Too many jobs for this key",
            f"this key has {active} unfinished job(s), its limit is {quota.max_concurrent}; wait for one to "
            "finish or dismiss one (DELETE /jobs/{id})",
            headers={"Retry-After": str(retry_after_s)},
        )
