"""Zonal mask statistics: :func:`region_stats` for region polygons over a probability raster.

Each polygon is read through its own raster window (bounded memory) and rasterised with
``all_touched=False`` (a pixel belongs to the region when its centre is inside); pixels that
are nodata in the probability raster are left out. Areas are in squared map units of the
raster's CRS, which the polygons must share.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from .regions import region_stats

__all__ = ["zonal_stats"]


def _bounds(geom: dict) -> tuple[float, float, float, float]:
    polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
    xy = np.concatenate([np.asarray(ring, float) for poly in polys for ring in poly])
    return xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()


def zonal_stats(probability: str | os.PathLike[str], regions: pd.DataFrame, threshold: float,
                id_column: str = "id") -> pd.DataFrame:
    """Region statistics (indexed by id) of each polygon in ``regions`` (a ``geometry`` column
    of GeoJSON dicts, as :func:`~landslide_fusion.io.geojson.read_geojson` returns)."""
    import rasterio
    from rasterio.features import geometry_mask
    from rasterio.windows import Window, from_bounds

    if id_column not in regions.columns:
        raise DataError(f"regions have no {id_column!r} property; properties: {', '.join(map(str, regions.columns))}")
    maps, valid, ids, empty = [], [], [], []
    with rasterio.open(Path(probability)) as src:
        full = Window(0, 0, src.width, src.height)
        area = abs(src.transform.a * src.transform.e - src.transform.b * src.transform.d)
        for rid, geom in zip(regions[id_column], regions["geometry"]):
            w = from_bounds(*_bounds(geom), transform=src.transform)
            c0, r0 = math.floor(w.col_off), math.floor(w.row_off)
            win = Window(c0, r0, math.ceil(w.col_off + w.width) - c0, math.ceil(w.row_off + w.height) - r0)
            try:
                win = win.intersection(full)
            except rasterio.errors.WindowError:
                empty.append(str(rid))
                continue
            p = src.read(1, window=win)
            inside = ~geometry_mask([geom], out_shape=p.shape, transform=src.window_transform(win))
            inside &= np.isfinite(p)
            if not inside.any():
                empty.append(str(rid))
                continue
            maps.append(np.nan_to_num(p))
            valid.append(inside)
            ids.append(rid)
    if empty:
        raise DataError(f"{len(empty)} region(s) cover no valid pixel of {probability} ({', '.join(empty[:10])}); "
                        "check that the regions and the scene share a CRS and overlap")
    return region_stats(maps, threshold, ids, pixel_area=area, valid=valid)
