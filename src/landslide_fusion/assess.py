"""``landslide assess``: from a place and a date to a fused risk map, in one call.

fetch (:func:`~landslide_fusion.acquire.fetch_scene`, written on the run's input domain) ->
scene prediction (:func:`~landslide_fusion.segmentation.inference.scene.predict_scene`, the windowed
path) -> the one scoring path of ``fuse score`` (:func:`~landslide_fusion.fusion.workflow.score_map`:
zonal statistics per region over the written probability and the run's mask, user polygons
reprojected to the scene's UTM grid or a regular grid of ``grid_m`` cells; tabular score per
region from the region file's properties or a joined ``table``; fused risk, decision and the
fused masks), or, without tabular model and fusion, the image-only scorer of the same path
(:func:`~landslide_fusion.fusion.score.image_only_scorer`). Decisions are made for the declared
share of landslide-free regions.

Everything is checked before the first byte is fetched (box, dates, output, run, domain, band
availability, the fusion's sources, the regions and the table); outputs are built in a
temporary folder that replaces ``OUT`` only on success: ``scene.tif``, ``probability.tif``,
``scene_mask.tif`` (the run's own mask), ``mask.tif`` and ``landslides.geojson`` (the landslides
the decision confirms), ``risk.csv``, ``risk.geojson``, ``disagreements.csv``,
``provenance.json``, ``map.png``, ``assess.json``.
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
from .io.atomic import output_dir, write_json, writes_output
from .io.geojson import read_geojson
from .prior import check_share
from .progress import stage

__all__ = ["assess", "grid_regions", "scene_band_map", "AssessInputs"]


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
        raise BandError(
            f"the run needs band(s) {', '.join(missing)}, which a fetched Sentinel-2 scene lacks "
            f"(it has {', '.join(L4S14.bands)}); use a run trained on Sentinel-2 bands"
        )
    return out


@dataclass
class AssessInputs:
    """What assess checked before fetching anything."""

    run: Any
    domain: Domain
    band_map: dict[str, str]
    fusion: Any | None
    tabular: Path | None
    regions: pd.DataFrame | None
    regions_crs: str | None
    id_column: str
    provenance: dict
    notes: list[str]


def _check_inputs(
    run: str | os.PathLike[str],
    tabular,
    fusion,
    regions,
    grid_m: float | None,
    table,
    share: float | None,
    allow_mismatch: bool,
) -> AssessInputs:
    """Everything that can be checked before the download: run, domain, bands, fusion and its
    sources, the share, the regions (and their id property) and the tabular table's columns."""
    from .fusion.join import check_region_files
    from .fusion.provenance import checked_sources
    from .segmentation.inference.infer import SegmentationRun

    check_share(share)
    if (tabular is None) != (fusion is None):
        raise ConfigError("pass both --tabular and --fusion for a fused risk, or neither for an image-only risk")
    if table is not None and tabular is None:
        raise ConfigError("--table feeds the tabular model; pass it with --tabular and --fusion")
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
        raise BandError(
            f"run {run} was trained on {domain}, which a Sentinel-2 scene (l4s14/reflectance) cannot "
            "be converted to; use a run trained on Sentinel-2 data"
        )
    fused, notes, provenance = None, [], {"run": str(Path(run).resolve())}
    if fusion is not None:
        from .fusion.workflow import load_fusion

        fused = load_fusion(fusion)
        sources, notes = checked_sources(
            fusion, run, tabular, allow_mismatch=allow_mismatch, names=(f"statistics of {run}", f"scores of {tabular}")
        )
        provenance = {"fusion": str(Path(fusion).resolve()), **sources}
        check_region_files(tabular, table=table, regions=regions)
    polys, crs = read_geojson(regions) if regions is not None else (None, None)
    id_column = _id_column(polys, tabular, str(regions)) if polys is not None else "id"
    return AssessInputs(
        seg,
        domain,
        band_map,
        fused,
        Path(tabular) if tabular is not None else None,
        polys,
        crs,
        id_column,
        provenance,
        notes,
    )


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
            if not np.isfinite(p[r0 : r0 + n, c0 : c0 + n]).any():
                continue
            x0, y0 = tr @ (c0, r0)
            x1, y1 = tr @ (min(c0 + n, p.shape[1]), min(r0 + n, p.shape[0]))
            rows.append(
                {
                    "id": f"g{r0 // n}_{c0 // n}",
                    "geometry": box_geometry(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)),
                }
            )
    if not rows:
        raise DataError(f"{scene}: no valid pixel (clouds or nodata everywhere); choose other dates")
    return pd.DataFrame(rows), crs


def _id_column(polys: pd.DataFrame, tabular, source: str) -> str:
    """The tabular model's id column when the regions carry it, else ``id``."""
    names = ["id"]
    if tabular is not None:
        from .config import load_config
        from .tabular.config import TabularConfig

        names.insert(0, load_config(TabularConfig, Path(tabular) / "config.toml").id or "id")
    for n in names:
        if n in polys.columns:
            return n
    raise DataError(
        f"{source}: regions have no {' or '.join(repr(n) for n in names)} property; "
        f"properties: {', '.join(c for c in polys.columns if c != 'geometry')}"
    )


def _risk(tmp: Path, inputs: AssessInputs, grid_m, table, share: float | None):
    """Risk per region through the one scoring path (:func:`~landslide_fusion.fusion.workflow.score_map`)."""
    import rasterio

    from .fusion.config import RiskConfig
    from .fusion.workflow import score_map
    from .fusion.score import image_only_scorer

    with rasterio.open(tmp / "probability.tif") as src:
        crs = src.crs.to_string()
    if inputs.regions is not None:
        from rasterio.warp import transform_geom

        polys = inputs.regions.assign(
            geometry=[dict(transform_geom(inputs.regions_crs, crs, g)) for g in inputs.regions["geometry"]]
        )
    else:
        polys, _ = grid_regions(tmp / "probability.tif", grid_m or 500.0)
    source = "regions" if inputs.regions is not None else f"{grid_m or 500:g} m grid"
    if inputs.fusion is None:
        edges = RiskConfig().edges
        scorer, cfg = image_only_scorer(inputs.run, edges), None
    else:
        scorer, cfg, edges = inputs.fusion.scorer, inputs.fusion.cfg, inputs.fusion.cfg.risk.edges
    share = scorer.share(share)
    risk, d, notes, counts = score_map(
        scorer,
        inputs.run,
        tmp,
        polys,
        inputs.id_column,
        share,
        edges,
        tabular_model=inputs.tabular,
        table=table,
        source=source,
        cfg=cfg,
    )
    return risk, d, notes, counts, crs


@writes_output("out")
def assess(
    bbox: str,
    date: str,
    run: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    tabular: str | os.PathLike[str] | None = None,
    fusion: str | os.PathLike[str] | None = None,
    regions: str | os.PathLike[str] | None = None,
    grid_m: float | None = None,
    table: str | os.PathLike[str] | None = None,
    place: str | None = None,
    landslide_free_share: float | None = None,
    allow_mismatch: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    **fetch_options: Any,
) -> dict:
    """Run the whole assessment (see the module docstring); ``fetch_options`` go to
    :meth:`~landslide_fusion.acquire.FetchRequest.parse`. Returns a summary."""
    from .acquire.fetch import fetch
    from .acquire.request import FetchRequest
    from .fusion.workflow import predict_scene_into
    from .fusion.score import write_scores
    from .riskmap import draw_risk_map

    req = FetchRequest.parse(bbox, date, **fetch_options)
    inputs = _check_inputs(run, tabular, fusion, regions, grid_m, table, landslide_free_share, allow_mismatch)
    with output_dir(out, overwrite) as tmp:
        scene = fetch(req, tmp / "scene.tif", scale=inputs.domain.scale, progress=progress)
        stage("predict the scene", progress)
        predict_scene_into(inputs.run, tmp / "scene.tif", tmp, inputs.band_map, progress)
        stage("zonal statistics, risk per region and fused masks", progress)
        risk, d, notes, counts, crs = _risk(tmp, inputs, grid_m, table, landslide_free_share)
        r = write_scores(tmp, risk, d, None, inputs.notes + notes, crs, inputs.provenance, inputs.id_column)
        title = f"Landslide risk: {place or req.box}, {', '.join(scene['dates'])}"
        draw_risk_map(tmp / "scene.tif", risk, tmp / "landslides.geojson", tmp / "map.png", title)
        summary = {
            "out": str(out),
            "bbox": str(req.box),
            "dates": scene["dates"],
            "crs": crs,
            "width": scene["width"],
            "height": scene["height"],
            "run_domain": inputs.domain.to_dict(),
            "items": scene["items"],
            "method": "fused" if inputs.fusion is not None else "image-only",
            **{
                k: r[k]
                for k in ("regions", "landslide", "review", "disagreements", "risk_classes", "decision", "warnings")
            },
            "landslide_pixels": counts["pixels"],
            "landslide_polygons": counts["polygons"],
            "files": [
                "scene.tif",
                "probability.tif",
                "scene_mask.tif",
                "mask.tif",
                "landslides.geojson",
                *r["files"],
                "provenance.json",
                "map.png",
                "assess.json",
            ],
        }
        write_json(tmp / "assess.json", summary)
    return summary
