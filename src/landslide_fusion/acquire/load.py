"""Windowed, Dask-backed reads of only the box, through ``odc-stac``.

``odc.stac.load`` builds a lazy (Dask) array on the output grid, 10 m on the box's UTM zone,
and reads each COG only through the windows (HTTP range requests) that cover a chunk, so the
bytes read grow with the box, not with the 110 x 110 km tiles. Every band is resampled with
``nearest`` (DNs and SCL classes stay exact; the 20 m and 60 m bands are repeated, as Sen2Cor
does). Items are grouped per acquisition day and BOA offset; each group becomes one time slice,
converted to reflectance (:func:`.sentinel2.to_reflectance`) with clouds and shadows as NaN
(:func:`.sentinel2.clear_mask`). The composite is the per-pixel median of clear observations
(NaN where no date is clear).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ..errors import DataError
from .catalogs import Convention
from .request import BBox
from .sentinel2 import boa_offset, clear_mask, to_reflectance
from .terrain import slope_degrees

__all__ = ["CHUNK", "output_geobox", "load_composite", "load_terrain"]

#: Dask chunk (pixels per side) of every lazy array: bounds memory per task.
CHUNK = 1024


def output_geobox(box: BBox, epsg: int, resolution: float) -> Any:
    """The output grid: the box projected to ``EPSG:epsg`` at ``resolution`` m, pixel edges on
    multiples of the resolution (so adjacent boxes line up)."""
    from odc.geo.geobox import GeoBox
    from odc.geo.geom import BoundingBox

    bounds = BoundingBox(*box.as_tuple(), crs="EPSG:4326").to_crs(f"EPSG:{epsg}")
    return GeoBox.from_bbox(bounds, crs=f"EPSG:{epsg}", resolution=resolution, tight=False)


def _groups(items: list) -> dict[tuple[str, int], list]:
    groups: dict[tuple[str, int], list] = defaultdict(list)
    for it in items:
        groups[(it.datetime.date().isoformat(), boa_offset(it.properties, it.collection_id))].append(it)
    return dict(sorted(groups.items()))


def _check_assets(items: list, keys: list[str]) -> None:
    for it in items:
        missing = [k for k in keys if k not in it.assets]
        if missing:
            raise DataError(f"STAC item {it.id} has no asset(s) {', '.join(missing)} (it has {', '.join(it.assets)}); "
                            "the scene lacks bands the run needs: choose another collection or --convention")


def load_composite(items: list, convention: Convention, bands: tuple[str, ...], geobox: Any,
                   patch_url: Any = None) -> Any:
    """Lazy ``xarray.Dataset`` (y, x) of the median clear reflectance of ``bands`` (names such as
    ``B04``) over ``items`` on ``geobox``."""
    import odc.stac
    import xarray as xr

    keys = [convention.asset(b) for b in bands]
    _check_assets(items, keys + [convention.scl])
    slices = []
    for (_, offset), group in _groups(items).items():
        ds = odc.stac.load(group, bands=keys + [convention.scl], geobox=geobox, groupby="solar_day",
                           chunks={"x": CHUNK, "y": CHUNK}, resampling="nearest", patch_url=patch_url).isel(time=0)
        clear = xr.apply_ufunc(clear_mask, ds[convention.scl], dask="parallelized", output_dtypes=[bool])
        refl = {b: xr.apply_ufunc(to_reflectance, ds[k], kwargs={"offset": offset}, dask="parallelized",
                                  output_dtypes=[np.float32]).where(clear)
                for b, k in zip(bands, keys)}
        slices.append(xr.Dataset(refl))
    stack = xr.concat(slices, dim="time").chunk({"time": -1})
    return stack.median("time", skipna=True).astype(np.float32)


def _slope_block(block: np.ndarray, dx: float) -> np.ndarray:
    if min(block.shape) < 2:
        return np.full(block.shape, np.nan, np.float32)
    return slope_degrees(block, dx)


def load_terrain(items: list, key: str, geobox: Any, patch_url: Any = None) -> tuple[Any, Any]:
    """Lazy (DEM metres, slope degrees) on ``geobox`` from DEM ``items`` (asset ``key``), the
    tiles mosaicked (highest valid value where they overlap), resampled bilinearly."""
    import odc.stac

    _check_assets(items, [key])
    ds = odc.stac.load(items, bands=[key], geobox=geobox, groupby="solar_day", chunks={"x": CHUNK, "y": CHUNK},
                       resampling="bilinear", dtype="float32", patch_url=patch_url)
    dem = ds[key]
    nodata = dem.attrs.get("nodata")
    if nodata is not None and np.isfinite(nodata):
        dem = dem.where(dem != nodata)
    dem = dem.max("time", skipna=True).astype(np.float32)
    dx = abs(float(geobox.resolution.x))
    slope = dem.data.map_overlap(_slope_block, depth=1, boundary="none", dx=dx, dtype=np.float32)
    return dem.data, slope
