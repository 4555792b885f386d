"""``landslide assess``: from a place and a date to a fused risk map, in one call.

fetch (:func:`~landslide_fusion.acquire.fetch_scene`, written on the run's input domain) ->
scene prediction (:func:`~landslide_fusion.segmentation.scene.predict_scene`, the windowed
path) -> zonal statistics per region (:func:`~landslide_fusion.regions.zonal_stats` over the written
probability and mask; user polygons, reprojected to the scene's UTM grid, or a
regular grid of ``grid_m`` cells) -> tabular score per region (the region file's columns, or a
joined ``table``) -> fused risk (the fusion folder's estimator), or, without tabular model and
fusion, an image-only risk (score = the region's 95th-percentile landslide probability,
decision = any pixel in the run's mask).

Everything is checked before the first byte is fetched (box, dates, output, run, domain, band
availability); outputs are built in a temporary folder that replaces ``OUT`` only on success:
``scene.tif``, ``probability.tif``, ``mask.tif``, ``landslides.geojson``, ``risk.csv``,
``risk.geojson``, ``map.png``, ``assess.json``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .bands import L4S14, get_band_set
from .domains import Domain, band_factors, run_domain
from .errors import BandError, ConfigError, DataError
from .io.atomic import check_can_write, output_dir, write_json, writes_output
from .io.geojson import read_geojson
from .progress import stage

__all__ = ["assess", "grid_regions", "scene_band_map", "AssessInputs"]

_IMAGE_ONLY_SCORE = "p95_probability"


def scene_band_map(model_bands: tuple[str, ...], band_set: str) -> dict[str, str]:
    """Model band -> fetched (``l4s14``) band, by name, else by spectral role; raises naming the
    bands the scene cannot provide."""
    try:
        roles = {band: role for role, band in get_band_set(band_set).roles.items()}
    except BandError:  # a band set this version does not register: match by name only
        roles = {}
    out, missing = {}, []
    for b in model_bands:
        if b in L4S14.bands:
            out[b] = b
        elif b in roles and L4S14.has(roles[b]):
            out[b] = L4S14.band_for(roles[b])
        else:
            missing.append(b)
    if missing:
        raise BandError(f"the run needs band(s) {', '.join(missing)}, which a fetched Sentinel-2 scene lacks "
                        f"(it has {', '.join(L4S14.bands)}); use a run trained on Sentinel-2 bands")
    return out


@dataclass
class AssessInputs:
    """What assess checked before fetching anything."""

    run: Any
    domain: Domain
    band_map: dict[str, str]
    fusion: tuple | None
    tabular: Path | None


def _check_inputs(run: str | os.PathLike[str], tabular, fusion, regions, grid_m: float | None) -> AssessInputs:
    from .segmentation.infer import SegmentationRun

    if (tabular is None) != (fusion is None):
        raise ConfigError("pass both --tabular and --fusion for a fused risk, or neither for an image-only risk")
    if regions is not None and grid_m is not None:
        raise ConfigError("pass either --regions or --grid, not both")
    if grid_m is not None and not 20 <= grid_m < np.inf:
        raise ConfigError(f"grid cell {grid_m} m must be a finite size of at least 20 m (two 10 m pixels), e.g. 500m")
    if regions is not None and not Path(regions).is_file():
        raise DataError(f"{regions}: file not found; pass a GeoJSON FeatureCollection of regions")
    seg = SegmentationRun.load(run)
    source = seg.config.features.source
    domain = run_domain(seg.info, source)
    band_map = scene_band_map(seg.bands, source)
    band_factors(tuple(band_map.values()), Domain(L4S14.name, "reflectance"), Domain(L4S14.name, domain.scale))
    if domain.scale not in ("reflectance", "s2-dn", "l4s"):
        raise BandError(f"run {run} was trained on {domain}, which a Sentinel-2 scene (l4s14/reflectance) cannot "
                        "be converted to; use a run trained on Sentinel-2 data")
    fused = None
    if fusion is not None:
        from .fusion.run import load_fusion

        fused = load_fusion(fusion)
    return AssessInputs(seg, domain, band_map, fused, Path(tabular) if tabular is not None else None)


def grid_regions(scene: str | os.PathLike[str], cell_m: float) -> tuple[pd.DataFrame, str]:
    """Square cells of ``cell_m`` metres over the scene (ids ``g<row>_<col>``), keeping only
    cells with at least one valid (non-nodata) probability pixel."""
    import rasterio

    from .io.geojson import box_geometry

    with rasterio.open(scene) as src:
        p, tr, crs = src.read(1), src.transform, src.crs.to_string()
    n = max(1, int(round(cell_m / abs(tr.a))))
    rows = []
    for r0 in range(0, p.shape[0], n):
        for c0 in range(0, p.shape[1], n):
            if not np.isfinite(p[r0:r0 + n, c0:c0 + n]).any():
                continue
            x0, y0 = tr @ (c0, r0)
            x1, y1 = tr @ (min(c0 + n, p.shape[1]), min(r0 + n, p.shape[0]))
            rows.append({"id": f"g{r0 // n}_{c0 // n}", "geometry": box_geometry(min(x0, x1), min(y0, y1),
                                                                                  max(x0, x1), max(y0, y1))})
    if not rows:
        raise DataError(f"{scene}: no valid pixel (clouds or nodata everywhere); choose other dates")
    return pd.DataFrame(rows), crs


def _image_only(stats: pd.DataFrame) -> pd.DataFrame:
    from .fusion.risk import risk_table

    score = stats[_IMAGE_ONLY_SCORE].to_numpy(float)
    decision = (stats["landslide_fraction"].to_numpy(float) > 0).astype(int)
    return risk_table(stats, score, decision)


def _fused(stats: pd.DataFrame, props: pd.DataFrame, inputs: AssessInputs, table, source: str) -> pd.DataFrame:
    from .fusion.run import fuse_frame, read_regions
    from .io.tables import read_table
    from .tabular.train import score_table

    estimator, cross, cfg = inputs.fusion
    rows = read_table(table) if table is not None else props
    tab = score_table(inputs.tabular, rows, str(table or source))
    image = stats.reset_index().rename(columns={stats.index.name or "index": cfg.id})
    tab = tab.drop(columns=["landslide"]).rename(columns={"id": cfg.id})
    frame, _, _ = read_regions(image, tab, cfg)
    return fuse_frame(frame, estimator, cross, cfg)[0]


def _id_column(polys: pd.DataFrame, inputs: AssessInputs, source: str) -> str:
    """The tabular model's id column when the regions carry it, else ``id``."""
    names = ["id"]
    if inputs.tabular is not None:
        from .config import load_config
        from .tabular.config import TabularConfig

        names.insert(0, load_config(TabularConfig, inputs.tabular / "config.toml").id or "id")
    for n in names:
        if n in polys.columns:
            return n
    raise DataError(f"{source}: regions have no {' or '.join(repr(n) for n in names)} property; "
                    f"properties: {', '.join(c for c in polys.columns if c != 'geometry')}")


def _risk(tmp: Path, inputs: AssessInputs, regions, grid_m, table) -> tuple[pd.DataFrame, str]:
    import rasterio

    from .regions import zonal_stats

    with rasterio.open(tmp / "probability.tif") as src:
        crs = src.crs.to_string()
    if regions is not None:
        polys, source = read_geojson(regions, to_crs=crs)[0], str(regions)
    else:
        polys, _ = grid_regions(tmp / "probability.tif", grid_m or 500.0)
        source = f"{grid_m or 500:g} m grid"
    id_col = _id_column(polys, inputs, source)
    stats = zonal_stats(tmp / "probability.tif", tmp / "mask.tif", polys, id_col)
    if inputs.fusion is None:
        table = _image_only(stats)
    else:
        table = _fused(stats, polys.drop(columns=["geometry"]), inputs, table, source)
    geoms = polys.set_index(id_col)["geometry"]
    table["geometry"] = geoms.reindex(table.index).to_numpy()
    return table, crs


def _predict(tmp: Path, inputs: AssessInputs, progress: bool) -> dict:
    from .segmentation.scene import predict_scene

    stage("predict the scene", progress)
    r = predict_scene(inputs.run, tmp / "scene.tif", tmp / "prediction", band_map=inputs.band_map, progress=progress)
    for name in ("probability.tif", "mask.tif", "landslides.geojson"):
        if (tmp / "prediction" / name).exists():
            os.replace(tmp / "prediction" / name, tmp / name)
    import shutil

    shutil.rmtree(tmp / "prediction", ignore_errors=True)
    return r


@writes_output("out")
def assess(bbox: str, date: str, run: str | os.PathLike[str], out: str | os.PathLike[str], *,
           tabular: str | os.PathLike[str] | None = None, fusion: str | os.PathLike[str] | None = None,
           regions: str | os.PathLike[str] | None = None, grid_m: float | None = None,
           table: str | os.PathLike[str] | None = None, place: str | None = None, overwrite: bool = False,
           progress: bool = True, **fetch_options: Any) -> dict:
    """Run the whole assessment (see the module docstring); ``fetch_options`` go to
    :meth:`~landslide_fusion.acquire.FetchRequest.parse`. Returns a summary."""
    from .acquire.fetch import FetchRequest, fetch_scene
    from .fusion.risk import write_risk
    from .riskmap import draw_risk_map

    req = FetchRequest.parse(bbox, date, **fetch_options)
    check_can_write(out, overwrite)
    inputs = _check_inputs(run, tabular, fusion, regions, grid_m)
    with output_dir(out, overwrite) as tmp:
        scene = fetch_scene(bbox, date, tmp / "scene.tif", scale=inputs.domain.scale, progress=progress,
                            **fetch_options)
        pred = _predict(tmp, inputs, progress)
        stage("zonal statistics and risk per region", progress)
        risk, crs = _risk(tmp, inputs, regions, grid_m, table)
        write_risk(risk, tmp, crs)
        title = f"Landslide risk: {place or req.box}, {', '.join(scene['dates'])}"
        draw_risk_map(tmp / "scene.tif", risk, tmp / "landslides.geojson", tmp / "map.png", title)
        counts = risk["risk_class"].astype(str).value_counts().to_dict()
        summary = {"out": str(out), "bbox": str(req.box), "dates": scene["dates"], "crs": crs,
                   "width": scene["width"], "height": scene["height"], "run_domain": inputs.domain.to_dict(),
                   "items": scene["items"], "regions": len(risk), "risk_classes": counts,
                   "method": "fused" if inputs.fusion is not None else "image-only",
                   "landslide_pixels": pred.get("landslide_pixels"),
                   "files": ["scene.tif", "probability.tif", "mask.tif", "landslides.geojson", "risk.csv",
                             "risk.geojson", "map.png", "assess.json"]}
        write_json(tmp / "assess.json", summary)
    return summary
