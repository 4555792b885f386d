"""Zonal mask statistics: :func:`~landslide_fusion.regions.stats.mask_statistics` for region
polygons over a scene's probability and mask rasters.

The mask is the one the scene prediction wrote (``mask.tif``: 1 landslide, 0 not, 255 nodata),
made once by :func:`~landslide_fusion.regions.masks.landslide_mask` with the run's threshold and
morphology, so the zonal statistics count exactly the landslides the scene shows. Each polygon
is read through its own raster window (bounded memory) and rasterised with
``all_touched=False`` (a pixel belongs to the region when its centre is inside, as in
rasterstats' default). Pixels that are NaN or equal to the probability raster's nodata value, or
255 in the mask, are left out. Areas are in squared map units of the raster's CRS, which the
polygons must share.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from .stats import mask_statistics, stats_frame

__all__ = ["zonal_stats", "region_window", "polygon_rings"]


def polygon_rings(geom: dict, holes: bool = True) -> list[np.ndarray]:
    """(N, 2) coordinate rings of a GeoJSON Polygon or MultiPolygon (exteriors only unless ``holes``)."""
    polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
    return [np.asarray(ring, float)[:, :2] for poly in polys for ring in (poly if holes else poly[:1])]


def _bounds(geom: dict) -> tuple[float, float, float, float]:
    xy = np.concatenate(polygon_rings(geom, holes=False))
    return xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()


def region_window(src, geom: dict, halo: int = 0):
    """The raster window covering ``geom``'s bounds and ``halo`` pixels around them, clipped to
    the raster, or None outside it."""
    import rasterio
    from rasterio.windows import Window, from_bounds

    w = from_bounds(*_bounds(geom), transform=src.transform)
    c0, r0 = math.floor(w.col_off) - halo, math.floor(w.row_off) - halo
    win = Window(c0, r0, math.ceil(w.col_off + w.width) + halo - c0, math.ceil(w.row_off + w.height) + halo - r0)
    try:
        return win.intersection(Window(0, 0, src.width, src.height))
    except rasterio.errors.WindowError:
        return None


def zonal_stats(
    probability: str | os.PathLike[str], mask: str | os.PathLike[str], regions: pd.DataFrame, id_column: str = "id"
) -> pd.DataFrame:
    """Region statistics (indexed by id) of each polygon in ``regions`` (a ``geometry`` column
    of GeoJSON dicts, as :func:`~landslide_fusion.io.geojson.read_geojson` returns) over a
    scene's ``probability.tif`` and ``mask.tif`` (see the module docstring)."""
    import rasterio
    from rasterio.features import geometry_mask

    if id_column not in regions.columns:
        raise DataError(f"regions have no {id_column!r} property; properties: {', '.join(map(str, regions.columns))}")
    rows, ids, empty = [], [], []
    with rasterio.open(Path(probability)) as src, rasterio.open(Path(mask)) as msrc:
        if (msrc.width, msrc.height) != (src.width, src.height):
            raise DataError(
                f"{mask}: {msrc.width}x{msrc.height} pixels, {probability} has {src.width}x{src.height}; "
                "pass the probability and mask rasters of one scene prediction"
            )
        area = abs(src.transform.a * src.transform.e - src.transform.b * src.transform.d)
        for rid, geom in zip(regions[id_column], regions["geometry"]):
            win = region_window(src, geom)
            p = src.read(1, window=win) if win is not None else np.zeros((0, 0), np.float32)
            inside = (
                ~geometry_mask([geom], out_shape=p.shape, transform=src.window_transform(win))
                if p.size
                else np.zeros(p.shape, bool)
            )
            m = msrc.read(1, window=win) if p.size else np.zeros(p.shape, np.uint8)
            inside &= np.isfinite(p) & (m != 255)
            if src.nodata is not None and np.isfinite(src.nodata):
                inside &= p != src.nodata
            if not inside.any():
                empty.append(str(rid))
                continue
            rows.append(mask_statistics(p, m, inside, area))
            ids.append(rid)
    if empty:
        raise DataError(
            f"{len(empty)} region(s) cover no valid pixel of {probability} ({', '.join(empty[:10])}); "
            "check that the regions and the scene share a CRS and overlap"
        )
    return stats_frame(rows, ids)
