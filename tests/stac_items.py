"""Real STAC item JSON (``tests/data/stac``, see its README) with pixels generated on each asset's
declared grid, for the database-backed STAC API of ``tests/stac_api.py``.

An asset's file has the asset's declared size and georeferencing (a 10980 x 10980 px tiled
GeoTIFF for a 10 m Sentinel-2 band), but only the blocks around the test box are written
(``SPARSE_OK``): the rest reads as 0, as a real tile's area outside its swath does. Values are
functions of longitude and latitude (``values(key, lon, lat)``), so tiles in different UTM zones
describe the same ground, and the expected output is computed from the same functions.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Callable

import numpy as np
import rasterio
from rasterio.transform import Affine
from rasterio.warp import transform, transform_bounds
from rasterio.windows import Window

__all__ = ["FIXTURES", "fixture_items", "copernicus_item", "asset_grid", "write_asset", "localise"]

FIXTURES = Path(__file__).resolve().parent / "data" / "stac"
#: Copernicus DEM column spacing (arc-seconds) by latitude band (upper bound of |latitude|, degrees).
_CDEM_DX = ((50, 1.0), (60, 1.5), (70, 2.0), (80, 3.0), (85, 5.0), (90, 10.0))

Values = Callable[[str, np.ndarray, np.ndarray], np.ndarray]


def fixture_items(catalog: str) -> dict[str, dict]:
    """Item id -> item (a fresh copy) of ``tests/data/stac/CATALOG``."""
    return {d["id"]: d for d in (json.loads(p.read_text()) for p in sorted((FIXTURES / catalog).glob("*.json")))}


def _tile_code(lat0: int, lon0: int, sep: str) -> str:
    return f"{'N' if lat0 >= 0 else 'S'}{abs(lat0):02d}{sep}{'E' if lon0 >= 0 else 'W'}{abs(lon0):03d}"


def copernicus_item(template: dict, lat0: int, lon0: int) -> dict:
    """The Copernicus DEM tile whose south-west corner is (``lat0``, ``lon0``), from a real item of
    the same catalog (see the README): id, footprint, grid and file name follow the tiling."""
    dx = next(a for lim, a in _CDEM_DX if abs(lat0 + 0.5) < lim) / 3600
    dy = 1 / 3600
    props = template["properties"]
    olat, olon = round(props["proj:transform"][5] - 1), round(props["proj:transform"][2])  # the template's tile
    text = json.dumps(template)
    for a, b in (
        (_tile_code(olat, olon, "_00_"), _tile_code(lat0, lon0, "_00_")),
        (_tile_code(olat, olon, ""), _tile_code(lat0, lon0, "")),
    ):
        text = text.replace(a, b)
    item = json.loads(text)
    x0, top = lon0 - dx / 2, lat0 + 1 + dy / 2
    w, s, e, n = x0, lat0 + dy / 2, x0 + 1, top
    item.update(
        bbox=[w, s, e, n], geometry={"type": "Polygon", "coordinates": [[[e, s], [e, n], [w, n], [w, s], [e, s]]]}
    )
    item["properties"].update({"proj:shape": [3600, round(1 / dx)], "proj:transform": [dx, 0.0, x0, 0.0, -dy, top]})
    if "proj:centroid" in item["properties"]:
        item["properties"]["proj:centroid"] = {"lat": lat0 + 0.5, "lon": lon0 + 0.5}
    return item


def asset_grid(item: dict, key: str) -> tuple[str, Affine, tuple[int, int]]:
    """(CRS, transform, (rows, cols)) an asset declares (its own ``proj:*`` fields, else the item's)."""
    a, p = item["assets"][key], item["properties"]
    epsg = a.get("proj:epsg", p.get("proj:epsg"))
    crs = f"EPSG:{epsg}" if epsg else a.get("proj:code", p.get("proj:code"))
    t = a.get("proj:transform", p.get("proj:transform"))
    shape = a.get("proj:shape", p.get("proj:shape"))
    return crs, Affine(*t[:6]), (int(shape[0]), int(shape[1]))


def write_asset(
    path: Path,
    item: dict,
    key: str,
    box: tuple[float, float, float, float],
    values: Values,
    dtype: str,
    nodata: float | None,
    margin: int = 6,
) -> None:
    """The asset's file on its declared grid, written only over ``box`` (lon/lat) plus ``margin`` px."""
    crs, tr, (rows, cols) = asset_grid(item, key)
    x0, y0, x1, y1 = transform_bounds("EPSG:4326", crs, *box, densify_pts=21)
    inv = ~tr
    cs, rs = zip(*(inv @ (x, y) for x in (x0, x1) for y in (y0, y1)))
    c0, r0 = max(int(np.floor(min(cs))) - margin, 0), max(int(np.floor(min(rs))) - margin, 0)
    c1, r1 = min(int(np.ceil(max(cs))) + margin, cols), min(int(np.ceil(max(rs))) + margin, rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype=dtype,
        crs=crs,
        transform=tr,
        nodata=nodata,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
        sparse_ok=True,
    ) as dst:
        if c1 > c0 and r1 > r0:
            cc, rr = np.meshgrid(np.arange(c0, c1) + 0.5, np.arange(r0, r1) + 0.5)
            xs, ys = tr.c + tr.a * cc + tr.b * rr, tr.f + tr.d * cc + tr.e * rr
            lon, lat = (np.asarray(v).reshape(cc.shape) for v in transform(crs, "EPSG:4326", xs.ravel(), ys.ravel()))
            dst.write(values(key, lon, lat).astype(dtype), 1, window=Window(c0, r0, c1 - c0, r1 - r0))


def localise(
    item: dict,
    root: Path,
    base_url: str,
    keys: list[str],
    box: tuple[float, float, float, float],
    values: Values,
    dtype: str = "uint16",
    nodata: float | None = None,
) -> dict:
    """A copy of ``item`` whose ``keys`` assets point at files generated under ``root`` (served
    at ``base_url``), with its links dropped (they point at the public catalog)."""
    item = copy.deepcopy(item)
    item["links"] = []
    for key in keys:
        rel = f"{item['collection']}/{item['id']}/{key}.tif"
        write_asset(root / rel, item, key, box, values, dtype, nodata)
        item["assets"][key]["href"] = f"{base_url}/{rel}"
    return item
