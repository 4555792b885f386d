"""The one record every reader yields."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Sample", "GeoInfo"]


@dataclass(frozen=True)
class GeoInfo:
    """Georeferencing of a raster: CRS as WKT and the GDAL-order affine transform.

    ``transform`` is ``(a, b, c, d, e, f)`` so that ``x = a*col + b*row + c`` and
    ``y = d*col + e*row + f`` (rasterio's ``Affine`` order).
    """

    crs: str | None
    transform: tuple[float, float, float, float, float, float]

    @property
    def pixel_area(self) -> float:
        """Area of one pixel in squared CRS units, ``|a*e - b*d|``."""
        a, b, _, d, e, _ = self.transform
        return abs(a * e - b * d)

    def bounds(self, height: int, width: int) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of a ``height`` x ``width`` raster's footprint."""
        a, b, c, d, e, f = self.transform
        xs = [a * col + b * row + c for col, row in ((0, 0), (width, 0), (0, height), (width, height))]
        ys = [d * col + e * row + f for col, row in ((0, 0), (width, 0), (0, height), (width, height))]
        return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class Sample:
    """One image (and optionally its mask) with named bands.

    Attributes:
        id: stable identifier (the file stem), used to join with tables.
        image: (C, H, W) float32.
        bands: band names, one per channel of ``image``.
        mask: (H, W) int64 in {0, 1}, or None when the source has no labels.
        geo: georeferencing, when the source file has it.
        scale: the value scale the file declares (:data:`landslide_fusion.domains.SCALES`: HDF5
            Landslide4Sense patches ``l4s``, 8-bit images ``uint8``, a GeoTIFF's ``DOMAIN_SCALE``
            tag), None when it declares none; predictions convert or refuse by it.
    """

    id: str
    image: np.ndarray
    bands: tuple[str, ...]
    mask: np.ndarray | None = None
    geo: GeoInfo | None = None
    scale: str | None = None
