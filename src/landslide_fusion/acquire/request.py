"""What a user asks for: a box in longitude/latitude, a date or date range, a catalog, and the
output grid, checked once into a :class:`FetchRequest` (the first stage of :mod:`.fetch`).

Every check here runs before anything is searched, read or written, so a bad request fails with
one line and leaves nothing behind.

The output grid is the UTM zone of the box's centre: zone ``z = floor((lon + 180) / 6) + 1``,
EPSG ``32600 + z`` north of the equator and ``32700 + z`` south of it (WGS 84 / UTM, as the
Sentinel-2 tiling itself uses).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from ..errors import DataError

__all__ = [
    "BBox",
    "DateRange",
    "FetchRequest",
    "parse_bbox",
    "parse_dates",
    "utm_epsg",
    "box_size_km",
    "check_box_size",
    "MAX_AREA_KM2",
    "EARTH_SEARCH_URL",
]

#: Mean Earth radius (m), for the box-size estimate only.
_EARTH_RADIUS_M = 6_371_008.8
#: Default limit on the box area (km^2): 50 x 50 km, about 25 Mpx per band at 10 m.
MAX_AREA_KM2 = 2500.0
#: The default catalog (Element 84's Earth Search).
EARTH_SEARCH_URL = "https://earth-search.aws.element84.com/v1"


@dataclass(frozen=True)
class BBox:
    """West, south, east, north in degrees (EPSG:4326)."""

    west: float
    south: float
    east: float
    north: float

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.west, self.south, self.east, self.north)

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.west + self.east) / 2, (self.south + self.north) / 2)

    def __str__(self) -> str:
        return ",".join(f"{v:g}" for v in self.as_tuple())


@dataclass(frozen=True)
class DateRange:
    """Inclusive first and last day."""

    start: dt.date
    end: dt.date

    def stac(self) -> str:
        """The STAC ``datetime`` interval covering both whole days."""
        return f"{self.start.isoformat()}T00:00:00Z/{self.end.isoformat()}T23:59:59Z"

    def __str__(self) -> str:
        return self.start.isoformat() if self.start == self.end else f"{self.start}/{self.end}"


def parse_bbox(value: str | tuple[float, float, float, float]) -> BBox:
    """``"W,S,E,N"`` (degrees) -> :class:`BBox`; rejects W >= E, S >= N and values off the globe."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            raise DataError(
                f"bbox {value!r} must be four numbers W,S,E,N in degrees, e.g. 91.75,22.40,91.80,22.45"
            ) from None
    else:
        nums = [float(v) for v in value]
    if len(nums) != 4 or not all(math.isfinite(v) for v in nums):
        raise DataError(f"bbox {value!r} must be four finite numbers W,S,E,N in degrees, e.g. 91.75,22.40,91.80,22.45")
    w, s, e, n = nums
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise DataError(f"bbox {value!r} lies outside [-180, 180] x [-90, 90]; give longitudes first, then latitudes")
    if w >= e:
        raise DataError(f"bbox {value!r}: west {w:g} must be less than east {e:g} (order is W,S,E,N)")
    if s >= n:
        raise DataError(f"bbox {value!r}: south {s:g} must be less than north {n:g} (order is W,S,E,N)")
    return BBox(w, s, e, n)


def _day(text: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise DataError(f"date {value!r} must be YYYY-MM-DD or YYYY-MM-DD/YYYY-MM-DD") from None


def parse_dates(value: str, today: dt.date | None = None) -> DateRange:
    """``"2024-08-01"`` or ``"2024-08-01/2024-08-31"`` -> :class:`DateRange`; no future days."""
    parts = value.split("/")
    if len(parts) > 2 or not all(p.strip() for p in parts):
        raise DataError(f"date {value!r} must be YYYY-MM-DD or YYYY-MM-DD/YYYY-MM-DD")
    start, end = _day(parts[0], value), _day(parts[-1], value)
    if start > end:
        raise DataError(f"date range {value!r} ends before it starts; write FIRST/LAST")
    today = today or dt.datetime.now(dt.timezone.utc).date()
    if end > today:
        raise DataError(f"date {value!r} is in the future (today is {today}); no imagery exists yet")
    return DateRange(start, end)


def utm_epsg(box: BBox) -> int:
    """EPSG code of the WGS 84 / UTM zone holding the box's centre (see the module docstring)."""
    lon, lat = box.centre
    zone = min(int(math.floor((lon + 180) / 6)) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def box_size_km(box: BBox) -> tuple[float, float]:
    """Approximate (width, height) in km: ``R * dlon * cos(lat_mid)`` and ``R * dlat``, angles in radians."""
    lat = math.radians((box.south + box.north) / 2)
    width = _EARTH_RADIUS_M * math.radians(box.east - box.west) * math.cos(lat) / 1000
    height = _EARTH_RADIUS_M * math.radians(box.north - box.south) / 1000
    return width, height


def check_box_size(box: BBox, max_km2: float) -> float:
    """The box's area in km^2; raises when it exceeds ``max_km2``."""
    w, h = box_size_km(box)
    area = w * h
    if area > max_km2:
        raise DataError(
            f"bbox {box} covers {area:,.0f} km^2, more than the limit of {max_km2:,.0f} km^2; "
            "choose a smaller box or raise the limit (--max-area)"
        )
    return area


@dataclass(frozen=True)
class FetchRequest:
    """A checked request; build it with :meth:`parse` (all validation, no network).

    ``retries`` bounds the retries of every search and read that fails transiently (HTTP 429,
    500, 502, 503, 504 or a dropped connection), with exponential backoff; ``boa_offset`` (DN)
    overrides the offset the items' metadata decide (:mod:`.sentinel2`).
    """

    box: BBox
    dates: DateRange
    catalog: str
    collection: str | None
    dem_collection: str | None
    convention: str | None
    max_cloud: float | None
    max_scenes: int
    resolution: float
    retries: int
    boa_offset: int | None

    @classmethod
    def parse(
        cls,
        bbox: str | tuple,
        date: str,
        *,
        catalog: str = EARTH_SEARCH_URL,
        collection: str | None = None,
        dem_collection: str | None = None,
        convention: str | None = None,
        max_cloud: float | None = None,
        max_scenes: int = 3,
        resolution: float = 10.0,
        max_area_km2: float = MAX_AREA_KM2,
        retries: int = 3,
        boa_offset: int | None = None,
    ) -> "FetchRequest":
        from .catalogs import get_convention

        box, dates = parse_bbox(bbox), parse_dates(date)
        check_box_size(box, max_area_km2)
        if convention is not None:
            get_convention(convention)
        if max_cloud is not None and not 0 <= max_cloud <= 100:
            raise DataError(f"max cloud cover {max_cloud} must be a percentage in [0, 100]")
        if max_scenes < 1 or not resolution > 0:
            raise DataError(f"max scenes {max_scenes} must be >= 1 and resolution {resolution} m positive")
        if not 0 <= retries <= 20:
            raise DataError(f"retries {retries} must be between 0 and 20")
        if boa_offset is not None and not 0 <= boa_offset <= 10000:
            raise DataError(f"BOA offset {boa_offset} must be a DN between 0 and 10000 (0 or 1000 for Sentinel-2)")
        return cls(
            box,
            dates,
            catalog.rstrip("/"),
            collection,
            dem_collection,
            convention,
            max_cloud,
            max_scenes,
            resolution,
            retries,
            boa_offset,
        )
