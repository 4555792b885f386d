"""``landslide fetch``: a box and a date in, one analysis-ready GeoTIFF out.

Steps: check the request (box, dates, size limit, output) before touching the network; search
the Sentinel-2 and DEM collections (:mod:`.search`); load only the box, 10 m on its UTM zone,
as a cloud-free median composite (:mod:`.load`); derive slope (:mod:`.terrain`); write
``B1 ... B12, SLOPE, DEM`` (band descriptions as in :data:`~landslide_fusion.bands.L4S14`, so a
run's band map resolves by name; each optical band's tag ``S2_BAND`` keeps ESA's ``B01`` form) in strips, so memory stays bounded for large boxes.

Values are on the ``reflectance`` scale (:mod:`landslide_fusion.domains`) unless ``scale``
asks for another; the file's tags record the domain (``DOMAIN_SCALE``, ``DOMAIN_BAND_SET``, by which
``segment predict`` converts the scene to a run's scale), the catalog, the items and the dates.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..bands import DEM, L4S14, SLOPE
from ..domains import BAND_SET_TAG, SCALE_TAG, Domain, band_factors
from ..errors import DataError
from ..io.atomic import output_file
from ..progress import stage, track
from .catalogs import EARTH_SEARCH, Convention, detect_convention, get_convention, sign_items
from .load import CHUNK, load_composite, load_terrain, output_geobox
from .request import BBox, DateRange, check_box_size, parse_bbox, parse_dates, utm_epsg
from .search import open_catalog, search_collection, search_items
from .sentinel2 import B10_FILL

__all__ = ["FetchRequest", "fetch_scene", "catalog_band", "MAX_AREA_KM2", "write_stack"]

#: Default limit on the box area (km^2): 50 x 50 km, about 25 Mpx per band at 10 m.
MAX_AREA_KM2 = 2500.0
_MISSING_IN_L2A = ("B10",)


def catalog_band(name: str) -> str:
    """Project band name (``B1``) -> catalog band name (``B01``)."""
    return f"B{int(name[1:]):02d}"


@dataclass(frozen=True)
class FetchRequest:
    """A checked request; build it with :meth:`parse` (all validation, no network)."""

    box: BBox
    dates: DateRange
    catalog: str
    collection: str | None
    dem_collection: str | None
    convention: str | None
    max_cloud: float | None
    max_scenes: int
    resolution: float

    @classmethod
    def parse(cls, bbox: str | tuple, date: str, *, catalog: str = EARTH_SEARCH.url, collection: str | None = None,
              dem_collection: str | None = None, convention: str | None = None, max_cloud: float | None = None,
              max_scenes: int = 3, resolution: float = 10.0, max_area_km2: float = MAX_AREA_KM2) -> "FetchRequest":
        box, dates = parse_bbox(bbox), parse_dates(date)
        check_box_size(box, max_area_km2)
        if convention is not None:
            get_convention(convention)
        if max_cloud is not None and not 0 <= max_cloud <= 100:
            raise DataError(f"max cloud cover {max_cloud} must be a percentage in [0, 100]")
        if max_scenes < 1 or not resolution > 0:
            raise DataError(f"max scenes {max_scenes} must be >= 1 and resolution {resolution} m positive")
        return cls(box, dates, catalog, collection, dem_collection, convention, max_cloud, max_scenes, resolution)


def _convention(req: FetchRequest, items: list | None) -> Convention:
    if req.convention is not None:
        return get_convention(req.convention)
    if items is None:
        from .catalogs import CONVENTIONS

        same = [c for c in CONVENTIONS.values() if req.catalog.rstrip("/") == c.url]
        return same[0] if same else EARTH_SEARCH
    return detect_convention(items[0].assets, f"STAC item {items[0].id}")


def _search_all(req: FetchRequest, progress: bool) -> tuple[Convention, list, list]:
    stage(f"search {req.catalog} for {req.dates} over {req.box}", progress)
    client = open_catalog(req.catalog)
    guess = _convention(req, None)
    items = search_items(client, req.catalog, req.collection or guess.collection, req.box, req.dates,
                         max_cloud=req.max_cloud, max_scenes=req.max_scenes)
    conv = _convention(req, items)
    dem_collection = req.dem_collection or conv.dem_collection
    dem = search_collection(client, req.catalog, dem_collection, req.box, limit=100)
    if not dem:
        raise DataError(f"no {dem_collection} (DEM) item over bbox {req.box} in {req.catalog}; pass --dem-collection")
    if conv.signed and req.catalog.rstrip("/") == conv.url:
        items, dem = sign_items(items, conv), sign_items(dem, conv)
    stage(f"found {len(items)} Sentinel-2 item(s) on {len({i.datetime.date() for i in items})} day(s), "
          f"{len(dem)} DEM item(s)", progress)
    return conv, items, dem


def _lazy_bands(req: FetchRequest, conv: Convention, items: list, dem_items: list) -> tuple[Any, list]:
    """(geobox, lazy (H, W) arrays in ``L4S14`` order on the reflectance scale)."""
    import dask.array as da

    geobox = output_geobox(req.box, utm_epsg(req.box), req.resolution)
    measured = tuple(catalog_band(b) for b in L4S14.bands[:12] if b not in _MISSING_IN_L2A)
    comp = load_composite(items, conv, measured, geobox)
    dem, slope = load_terrain(dem_items, conv.dem, geobox)
    shape, chunks = (geobox.shape.y, geobox.shape.x), comp[measured[0]].data.chunks
    out = []
    for b in L4S14.bands:
        if b == SLOPE:
            out.append(slope)
        elif b == DEM:
            out.append(dem)
        elif b in _MISSING_IN_L2A:
            out.append(da.full(shape, B10_FILL, dtype=np.float32, chunks=chunks))
        else:
            out.append(comp[catalog_band(b)].data)
    return geobox, out


def write_stack(path: Path, arrays: list, names: tuple[str, ...], geobox: Any, tags: dict[str, str],
                band_tags: dict[str, dict[str, str]], progress: bool = True) -> None:
    """Write lazy (H, W) ``arrays`` as one float32 GeoTIFF, a strip of :data:`CHUNK` rows at a time."""
    import dask.array as da
    import rasterio

    h, w = geobox.shape.y, geobox.shape.x
    profile = {"driver": "GTiff", "width": w, "height": h, "count": len(arrays), "dtype": "float32",
               "nodata": float("nan"), "crs": geobox.crs.to_wkt(), "transform": geobox.transform,
               "compress": "deflate", "predictor": 3, "interleave": "pixel"}
    if w >= 256 and h >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    stack = da.stack(arrays)
    with rasterio.open(path, "w", **profile) as dst:
        for i, name in enumerate(names, start=1):
            dst.set_band_description(i, name)
            dst.update_tags(i, **band_tags.get(name, {}))
        dst.update_tags(**tags)
        for r0 in track(range(0, h, CHUNK), "read and write strips", enabled=progress):
            with warnings.catch_warnings():  # a pixel clear on no date is NaN, as documented
                warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
                block = np.asarray(stack[:, r0:r0 + CHUNK].compute(scheduler="threads"), np.float32)
            dst.write(block, window=((r0, r0 + block.shape[1]), (0, w)))


def fetch_scene(bbox: str | tuple, date: str, out: str | os.PathLike[str], *, scale: str = "reflectance",
                overwrite: bool = False, progress: bool = True, **options: Any) -> dict:
    """Search, load and write the scene of ``bbox`` on ``date`` to ``out`` (see the module docstring).

    ``options`` are :meth:`FetchRequest.parse`'s keywords (catalog, collection, dem_collection,
    convention, max_cloud, max_scenes, resolution, max_area_km2). Returns a summary.
    """
    req = FetchRequest.parse(bbox, date, **options)
    target = Domain(L4S14.name, scale)
    factors = band_factors(L4S14.bands, Domain(L4S14.name, "reflectance"), target)
    with output_file(out, overwrite) as tmp:
        conv, items, dem_items = _search_all(req, progress)
        geobox, arrays = _lazy_bands(req, conv, items, dem_items)
        arrays = [a * np.float32(f) if f != 1 else a for a, f in zip(arrays, factors)]
        tags = {BAND_SET_TAG: target.band_set, SCALE_TAG: target.scale, "CATALOG": req.catalog,
                "CONVENTION": conv.name, "ITEMS": ",".join(i.id for i in items),
                "DEM_ITEMS": ",".join(i.id for i in dem_items),
                "DATES": ",".join(sorted({i.datetime.date().isoformat() for i in items})), "BBOX": str(req.box)}
        band_tags = {b: {"S2_BAND": catalog_band(b)} for b in L4S14.bands[:12]}  # ESA's name, e.g. B01
        band_tags["B10"].update(SOURCE="filled: Sentinel-2 L2A has no B10", VALUE=f"{B10_FILL * factors[9]:g}")
        band_tags.update({SLOPE: {"UNITS": "degrees"}, DEM: {"UNITS": "metres"}})
        write_stack(tmp, arrays, L4S14.bands, geobox, tags, band_tags, progress)
    return {"out": str(out), "crs": f"EPSG:{utm_epsg(req.box)}", "width": geobox.shape.x, "height": geobox.shape.y,
            "resolution_m": req.resolution, "items": [i.id for i in items], "dem_items": [i.id for i in dem_items],
            "dates": tags["DATES"].split(","), "convention": conv.name, "domain": target.to_dict(),
            "bands": list(L4S14.bands)}
