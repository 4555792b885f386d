"""Windowed, Dask-backed reads of only the box, through ``odc-stac`` (fourth stage of :mod:`.fetch`).

``odc.stac.load`` builds a lazy (Dask) array on a target grid and reads each COG only through the
windows (HTTP range requests) that cover a chunk, so the bytes read grow with the box, not with
the 110 x 110 km tiles.

**Sentinel-2.** One load per group of a :class:`.plan.ScenePlan` (a day and a scaling), on the
output grid (10 m on the box's UTM zone), ``nearest`` resampling (DNs and SCL classes stay
exact; the 20 m and 60 m bands are repeated, as Sen2Cor does), ``nodata = 0`` for every band
whatever the item declares, so where tiles of a day overlap the first tile's fill never hides the
next tile's data. Each slice becomes reflectance (:func:`.sentinel2.to_reflectance`) with clouds
and shadows as NaN (:func:`.sentinel2.clear_mask`); the composite is the per-pixel median of clear
observations (NaN where no date is clear).

**Terrain.** DEM tiles are mosaicked first, then resampled, then differentiated: the tiles are
read onto their own grid (the first tile's lattice, extended over the box plus a margin;
Copernicus DEM tiles share one lattice, whose pixel centres sit on whole arc-seconds, so this
copies pixels exactly), then that mosaic is resampled bilinearly onto the output grid, then slope
is computed (:mod:`.terrain`). Resampling each tile on its own would leave a band along every
tile edge where bilinear interpolation lacks the neighbour tile's pixels.

**Faults.** Reads retry transient HTTP errors (GDAL's ``GDAL_HTTP_MAX_RETRY`` with
``GDAL_HTTP_RETRY_CODES`` = :data:`.search.RETRY_STATUS` and exponential backoff from
:data:`.search.BACKOFF_S`); :func:`reading` turns a read that still fails into one line naming
the item and the asset.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from ..errors import DataError
from .plan import ScenePlan
from .request import BBox
from .search import BACKOFF_S, RETRY_STATUS
from .sentinel2 import NODATA_DN, clear_mask, to_reflectance
from .terrain import slope_degrees

__all__ = ["CHUNK", "output_geobox", "read_env", "reading", "load_composite", "offset_statistics", "load_terrain"]

#: Dask chunk (pixels per side) of every lazy array: bounds memory per task.
CHUNK = 1024
#: Side (pixels) of the coarse grid on which :func:`offset_statistics` samples the pixels.
STATS_SIDE = 256


def output_geobox(box: BBox, epsg: int, resolution: float) -> Any:
    """The output grid: the box projected to ``EPSG:epsg`` at ``resolution`` m, pixel edges on
    multiples of the resolution (so adjacent boxes line up)."""
    from odc.geo.geobox import GeoBox
    from odc.geo.geom import BoundingBox

    bounds = BoundingBox(*box.as_tuple(), crs="EPSG:4326").to_crs(f"EPSG:{epsg}")
    return GeoBox.from_bbox(bounds, crs=f"EPSG:{epsg}", resolution=resolution, tight=False)


def read_env(retries: int) -> dict[str, str]:
    """GDAL options for reads that retry transient HTTP errors (see the module docstring)."""
    return {
        "GDAL_HTTP_MAX_RETRY": str(retries),
        "GDAL_HTTP_RETRY_DELAY": str(BACKOFF_S),
        "GDAL_HTTP_RETRY_CODES": ",".join(map(str, RETRY_STATUS)),
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    }


def _status(text: str, retries: int) -> str:
    """``HTTP 404``, ``HTTP 503 after 3 retries``, or the message's first line."""
    import re

    m = re.search(r"HTTP (?:response )?(?:code|status)[: ]+(\d{3})", text, re.IGNORECASE)
    if m is None:
        return text.splitlines()[0][:160] if text else "unknown error"
    code = int(m.group(1))
    return f"HTTP {code}" + (f" after {retries} retries" if code in RETRY_STATUS else "")


def _failed_url(e: BaseException) -> str:
    """The URL a failed read was reading: GDAL's message often lacks it, odc-loader's reader holds
    it (``src.uri`` in the frame of ``rio_read``), so the traceback's frames are asked too."""
    text = " ".join(str(a) for a in (e, e.__cause__, e.__context__) if a is not None)
    tb = e.__traceback__
    while tb is not None:
        uri = getattr(tb.tb_frame.f_locals.get("src"), "uri", None)
        if isinstance(uri, str):
            text = f"{uri} {text}"
        tb = tb.tb_next
    return text


@contextmanager
def reading(plan: ScenePlan, retries: int) -> Iterator[None]:
    """Turn a failed read of any asset of ``plan`` into one line naming the item and the asset."""
    import rasterio

    try:
        with rasterio.Env(**read_env(retries)):
            yield
    except (rasterio.errors.RasterioError, OSError) as e:
        where = plan.asset_in(_failed_url(e))
        if where is None:  # not a read of the plan's assets (e.g. writing the output): as it is
            raise
        item, key, url = where
        raise DataError(
            f"STAC item {item}: asset {key!r} ({url}) cannot be read ({_status(str(e), retries)}); "
            "choose other dates, try again later or raise --retries"
        ) from None


def _one_slice(*_: Any) -> int:
    """odc-stac ``groupby`` that puts every item of a load into one time slice (one mosaic)."""
    return 0


def _load(items: list, keys: list[str], geobox: Any, resampling: str, **kw: Any) -> Any:
    import odc.stac

    return odc.stac.load(
        items,
        bands=keys,
        geobox=geobox,
        groupby=_one_slice,
        chunks={"x": CHUNK, "y": CHUNK},
        resampling=resampling,
        **kw,
    ).isel(time=0)


def load_composite(plan: ScenePlan, geobox: Any) -> Any:
    """Lazy ``xarray.Dataset`` (y, x) of the median clear reflectance of the plan's bands (names
    such as ``B04``) on ``geobox``; call inside :func:`reading`."""
    import xarray as xr

    conv = plan.convention
    keys = [conv.asset(b) for b in plan.bands]
    slices = []
    for (_, scaling), items in plan.groups().items():
        ds = _load(items, keys + [conv.scl], geobox, "nearest", nodata=NODATA_DN, dtype="uint16")
        clear = xr.apply_ufunc(clear_mask, ds[conv.scl], dask="parallelized", output_dtypes=[bool])
        refl = {
            b: xr.apply_ufunc(
                to_reflectance, ds[k], kwargs={"scaling": scaling}, dask="parallelized", output_dtypes=[np.float32]
            ).where(clear)
            for b, k in zip(plan.bands, keys)
        }
        slices.append(xr.Dataset(refl))
    stack = xr.concat(slices, dim="time").chunk({"time": -1})
    return stack.median("time", skipna=True).astype(np.float32)


def offset_statistics(plan: ScenePlan, geobox: Any, band: str = "B02") -> dict[str, tuple[float, int]]:
    """Per item whose scaling removes an offset: (share of its clear ``band`` DNs below the offset,
    clear pixels counted), sampled on ``geobox`` coarsened to at most :data:`STATS_SIDE` px a side
    (a few reads of each COG's overviews); call inside :func:`reading`."""
    conv = plan.convention
    todo = [p for p in plan.items if p.scaling.dn_offset > 0]
    if not todo:
        return {}
    coarse = geobox.zoom_out(max(1.0, max(geobox.shape) / STATS_SIDE))
    out = {}
    for p in todo:
        ds = _load([p.item], [conv.asset(band), conv.scl], coarse, "nearest", nodata=NODATA_DN, dtype="uint16").compute(
            scheduler="threads"
        )
        dn, scl = ds[conv.asset(band)].values, ds[conv.scl].values
        ok = (dn != NODATA_DN) & clear_mask(scl)
        n = int(ok.sum())
        out[p.item.id] = (float((dn[ok] < p.scaling.dn_offset).mean()) if n else 0.0, n)
    return out


def _native_geobox(items: list, key: str, geobox: Any, margin: int = 3) -> Any:
    """The first item's pixel lattice, extended to cover ``geobox`` plus ``margin`` pixels."""
    import odc.stac
    from affine import Affine
    from odc.geo.geobox import GeoBox

    grids = odc.stac.parse_item(items[0]).geoboxes([key])
    if not grids:
        raise DataError(
            f"DEM item {items[0].id} declares no grid for asset {key!r} (proj:shape and "
            "proj:transform, or proj:bbox); choose a DEM collection that does (--dem-collection)"
        )
    tile = grids[0]
    inv = ~tile.affine
    cols, rows = zip(*(inv @ pt for pt in geobox.footprint(tile.crs, buffer=0).exterior.points))
    c0, r0 = math.floor(min(cols)) - margin, math.floor(min(rows)) - margin
    c1, r1 = math.ceil(max(cols)) + margin, math.ceil(max(rows)) + margin
    return GeoBox((r1 - r0, c1 - c0), tile.affine @ Affine.translation(c0, r0), tile.crs)


def _slope_block(block: np.ndarray, dx: float) -> np.ndarray:
    if min(block.shape) < 2:
        return np.full(block.shape, np.nan, np.float32)
    return slope_degrees(block, dx)


def load_terrain(items: list, key: str, geobox: Any) -> tuple[Any, Any]:
    """Lazy (DEM metres, slope degrees) on ``geobox`` from DEM ``items`` (asset ``key``): the
    tiles mosaicked on their own grid, resampled bilinearly, then differentiated (see the module
    docstring); call inside :func:`reading`."""
    from odc.geo.xr import xr_reproject

    native = _native_geobox(items, key, geobox)
    mosaic = _load(items, [key], native, "nearest", dtype="float32", nodata=np.nan)[key]
    dem = xr_reproject(mosaic, geobox, resampling="bilinear", dst_nodata=np.nan).astype(np.float32)
    data = dem.data.rechunk(CHUNK)
    dx = abs(float(geobox.resolution.x))
    slope = data.map_overlap(_slope_block, depth=1, boundary="none", dx=dx, dtype=np.float32)
    return data, slope
