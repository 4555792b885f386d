"""``landslide fetch``: a box and a date in, one analysis-ready GeoTIFF out.

One straight pipeline, each stage a module, each run once:

1. **request** (:mod:`.request`): box, dates, size limit, options, output path, checked
   before touching the network;
2. **items found** (:mod:`.search`): the Sentinel-2 items in the dates and the DEM items over
   the box;
3. **plan** (:mod:`.plan`): the convention (asset keys, detected once over all items), the
   usable items of the least cloudy days, each item's scaling and masks, then a check of the
   scaling against a coarse sample of the pixels;
4. **load** (:mod:`.load`): lazy reads of only the box, 10 m on its UTM zone, as a cloud-free
   median composite, and the DEM mosaic with its slope (:mod:`.terrain`);
5. **write**: ``B1 ... B12, SLOPE, DEM`` (band descriptions as in
   :data:`~landslide_fusion.bands.L4S14`, so a run's band map resolves by name; each optical
   band's tag ``S2_BAND`` keeps ESA's ``B01`` form) in strips, so memory stays bounded.

Stages 1-3 create nothing on disk; the file is written under a temporary name, and a failure in
stage 4 or 5 removes it and any folder the output path needed that did not exist before.

Values are on the ``reflectance`` scale (:mod:`landslide_fusion.domains`) unless ``scale``
asks for another; the file's tags record the domain (``DOMAIN_SCALE``, ``DOMAIN_BAND_SET``, by which
``segment predict`` converts the scene to a run's scale), the catalog, the convention, the items,
their scaling and the dates.
"""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..bands import DEM, L4S14, SLOPE
from ..domains import BAND_SET_TAG, SCALE_TAG, Domain, band_factors
from ..io.atomic import check_can_write, output_file
from ..io.raster import geotiff_profile
from ..progress import stage, track
from .catalogs import CONVENTIONS, EARTH_SEARCH, get_convention
from .load import CHUNK, load_composite, load_terrain, offset_statistics, output_geobox, reading
from .plan import ScenePlan, check_scaling, plan_scene
from .request import MAX_AREA_KM2, FetchRequest, utm_epsg
from .search import find_items
from .sentinel2 import B10_FILL

__all__ = ["FetchRequest", "fetch_scene", "fetch", "catalog_band", "MAX_AREA_KM2", "write_stack", "MEASURED"]

_MISSING_IN_L2A = ("B10",)


def catalog_band(name: str) -> str:
    """Project band name (``B1``) -> catalog band name (``B01``)."""
    return f"B{int(name[1:]):02d}"


#: Catalog names of the ``l4s14`` optical bands that L2A measures (all but B10).
MEASURED = tuple(catalog_band(b) for b in L4S14.bands[:12] if b not in _MISSING_IN_L2A)


def _collections(req: FetchRequest) -> tuple[str, str]:
    """(Sentinel-2 collection, DEM collection): the request's, else its convention's, else the
    convention of the catalog at that URL, else Earth Search's."""
    conv = (
        get_convention(req.convention)
        if req.convention
        else next((c for c in CONVENTIONS.values() if c.url == req.catalog), EARTH_SEARCH)
    )
    return req.collection or conv.collection, req.dem_collection or conv.dem_collection


def _stack(plan: ScenePlan, geobox: Any) -> list:
    """Lazy (H, W) arrays in ``L4S14`` order on the reflectance scale."""
    import dask.array as da

    comp = load_composite(plan, geobox)
    dem, slope = load_terrain(list(plan.dem), plan.convention.dem, geobox)
    filled = da.full((geobox.shape.y, geobox.shape.x), B10_FILL, dtype=np.float32, chunks=comp[MEASURED[0]].data.chunks)
    by_name = {SLOPE: slope, DEM: dem, **{b: filled for b in _MISSING_IN_L2A}}
    return [by_name[b] if b in by_name else comp[catalog_band(b)].data for b in L4S14.bands]


@contextmanager
def _no_new_folders(path: Path) -> Iterator[None]:
    """On error, remove the folders above ``path`` that this run created (deepest first, only if empty)."""
    new = [p for p in Path(os.path.abspath(path)).parents if not p.exists()]
    try:
        yield
    except BaseException:
        for p in new:
            try:
                p.rmdir()
            except OSError:
                break
        raise


def write_stack(
    path: Path,
    arrays: list,
    names: tuple[str, ...],
    geobox: Any,
    tags: dict[str, str],
    band_tags: dict[str, dict[str, str]],
    progress: bool = True,
) -> None:
    """Write lazy (H, W) ``arrays`` as one float32 GeoTIFF, a strip of :data:`CHUNK` rows at a time."""
    import dask.array as da
    import rasterio

    h, w = geobox.shape.y, geobox.shape.x
    profile = geotiff_profile(
        w,
        h,
        len(arrays),
        "float32",
        nodata=float("nan"),
        crs=geobox.crs.to_wkt(),
        transform=geobox.transform,
        predictor=3,
        interleave="pixel",
    )
    stack = da.stack(arrays)
    with rasterio.open(path, "w", **profile) as dst:
        for i, name in enumerate(names, start=1):
            dst.set_band_description(i, name)
            dst.update_tags(i, **band_tags.get(name, {}))
        dst.update_tags(**tags)
        for r0 in track(range(0, h, CHUNK), "read and write strips", enabled=progress):
            with warnings.catch_warnings():  # a pixel clear on no date is NaN, as documented
                warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
                block = np.asarray(stack[:, r0 : r0 + CHUNK].compute(scheduler="threads"), np.float32)
            dst.write(block, window=((r0, r0 + block.shape[1]), (0, w)))


def fetch(
    req: FetchRequest,
    out: str | os.PathLike[str],
    *,
    scale: str = "reflectance",
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Run the pipeline of the module docstring for a parsed request; returns a summary."""
    target = Domain(L4S14.name, scale)
    factors = band_factors(L4S14.bands, Domain(L4S14.name, "reflectance"), target)
    check_can_write(out, overwrite)
    collection, dem_collection = _collections(req)
    stage(f"search {req.catalog} for {req.dates} over {req.box}", progress)
    found = find_items(req, collection, dem_collection)
    plan = plan_scene(req, found, MEASURED)
    geobox = output_geobox(req.box, utm_epsg(req.box), req.resolution)
    stage(
        f"found {len(found.scenes)} Sentinel-2 item(s); using {len(plan.items)} on "
        f"{len({p.day for p in plan.items})} day(s) ({plan.convention.name}), {len(plan.dem)} DEM item(s)",
        progress,
    )
    with reading(plan, req.retries):
        check_scaling(plan, offset_statistics(plan, geobox))
    days = sorted({p.day for p in plan.items})
    tags = {
        BAND_SET_TAG: target.band_set,
        SCALE_TAG: target.scale,
        "CATALOG": req.catalog,
        "CONVENTION": plan.convention.name,
        "ITEMS": ",".join(p.item.id for p in plan.items),
        "SCALING": "; ".join(f"{p.item.id}: {p.scaling.describe()}" for p in plan.items),
        "DEM_ITEMS": ",".join(i.id for i in plan.dem),
        "DATES": ",".join(days),
        "BBOX": str(req.box),
    }
    band_tags = {b: {"S2_BAND": catalog_band(b)} for b in L4S14.bands[:12]}  # ESA's name, e.g. B01
    band_tags["B10"].update(SOURCE="filled: Sentinel-2 L2A has no B10", VALUE=f"{B10_FILL * factors[9]:g}")
    band_tags.update({SLOPE: {"UNITS": "degrees"}, DEM: {"UNITS": "metres"}})
    with _no_new_folders(Path(out)), output_file(out, overwrite) as tmp, reading(plan, req.retries):
        arrays = [a * np.float32(f) if f != 1 else a for a, f in zip(_stack(plan, geobox), factors)]
        write_stack(tmp, arrays, L4S14.bands, geobox, tags, band_tags, progress)
    return {
        "out": str(out),
        "crs": f"EPSG:{utm_epsg(req.box)}",
        "width": geobox.shape.x,
        "height": geobox.shape.y,
        "resolution_m": req.resolution,
        "items": [p.item.id for p in plan.items],
        "skipped_items": sorted(plan.skipped),
        "scaling": {p.item.id: p.scaling.describe() for p in plan.items},
        "dem_items": [i.id for i in plan.dem],
        "dates": days,
        "convention": plan.convention.name,
        "domain": target.to_dict(),
        "bands": list(L4S14.bands),
    }


def fetch_scene(
    bbox: str | tuple,
    date: str,
    out: str | os.PathLike[str],
    *,
    scale: str = "reflectance",
    overwrite: bool = False,
    progress: bool = True,
    **options: Any,
) -> dict:
    """Search, load and write the scene of ``bbox`` on ``date`` to ``out`` (see the module docstring).

    ``options`` are :meth:`FetchRequest.parse`'s keywords (catalog, collection, dem_collection,
    convention, max_cloud, max_scenes, resolution, max_area_km2, retries, boa_offset). Returns a
    summary.
    """
    return fetch(FetchRequest.parse(bbox, date, **options), out, scale=scale, overwrite=overwrite, progress=progress)
