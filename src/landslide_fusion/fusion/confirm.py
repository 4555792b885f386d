"""The fused mask: the image model's landslide pixels kept only in regions the fusion confirms.

A region's mask is :func:`~landslide_fusion.regions.landslide_mask` of its probabilities at the
fusion's mask threshold (with the run's opening and closing; no image gate: the fused decision
is the gate) when the region is kept, and empty otherwise. A region is kept when the fusion
decides it holds a landslide, and, with a cross-check fusion, also when the two models disagree:
such a region is kept for a person to review, not dropped (its ``status`` says ``review``).
With a component filter (:mod:`.component_filter`), a kept image keeps only the landslide areas
the filter judges likely, from the area's descriptors and the image's ``fused_probability`` and
``tabular_probability``; a scene's region polygons keep every area (the filter learned on images).

* images (one region each): :func:`confirm_image` on a probability map;
* a scene with region polygons: :func:`confirm_scene` writes the fused ``mask.tif`` (1 landslide,
  0 not, 255 nodata) and one polygon per connected landslide area inside each kept region, with
  the region's id, fused probability, decision, status and both models' votes, reading one
  region's window at a time (with a halo for the morphology), so memory follows the largest
  region, not the scene.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.geojson import write_features
from ..regions import landslide_mask, morphology_halo
from .component_filter import ComponentFilter, keep_areas

__all__ = ["confirm_image", "confirm_scene", "region_status", "POLYGON_COLUMNS"]

#: Region columns each landslide polygon of a fused map carries.
POLYGON_COLUMNS = ("risk_score", "risk_class", "decision", "status", "tabular_vote", "image_vote", "agree")


def region_status(table: pd.DataFrame, review_disagreements: bool) -> pd.Series:
    """``landslide`` (decided), ``review`` (not decided, but the models disagree and the fusion is a
    cross-check) or ``none``, per region of a risk table."""
    status = np.where(table["decision"] == 1, "landslide", "none")
    if review_disagreements and "agree" in table.columns:
        status = np.where((status == "none") & (table["agree"] == 0), "review", status)
    return pd.Series(status, index=table.index, name="status")


def confirm_image(
    probability: np.ndarray,
    valid: np.ndarray,
    keep: bool,
    threshold: float,
    opening: int = 0,
    closing: int = 0,
    *,
    area_filter: ComponentFilter | None = None,
    region: Mapping[str, float] | None = None,
) -> np.ndarray:
    """The fused 0/1 mask (uint8) of one image-region (module docstring); ``region`` holds its
    scores when there is a component filter."""
    if not keep:
        return np.zeros(probability.shape, np.uint8)
    mask = landslide_mask(probability, threshold, opening, closing, valid)
    return keep_areas(area_filter, probability, mask, valid, threshold, region)


def confirm_scene(
    probability: str | os.PathLike[str],
    regions: pd.DataFrame,
    threshold: float,
    out_mask: Path,
    out_polygons: Path,
    *,
    opening: int = 0,
    closing: int = 0,
) -> dict:
    """Write the fused mask raster and polygons of a scene (module docstring).

    ``regions`` is a risk table indexed by region id with a ``geometry`` column (GeoJSON dicts in
    the probability raster's CRS) and ``status``; returns the landslide pixel and polygon counts."""
    import rasterio

    from ..regions.zonal import region_window

    halo = morphology_halo(opening, closing)
    kept = regions[regions["status"] != "none"]
    counts = {"pixels": 0, "polygons": 0}
    with rasterio.open(probability) as src:
        profile = {**src.profile, "dtype": "uint8", "nodata": 255, "count": 1}
        with rasterio.open(out_mask, "w", **profile) as dst:
            for _, win in src.block_windows(1):  # nodata where the probability is
                p = src.read(1, window=win)
                dst.write(np.where(np.isfinite(p), 0, 255).astype(np.uint8), 1, window=win)
        with rasterio.open(out_mask, "r+") as dst:

            def features() -> Iterator[tuple[dict, dict]]:
                for rid, row in kept.iterrows():
                    win = region_window(src, row["geometry"], halo)
                    if win is None:
                        continue
                    m = _region_mask(src, win, row["geometry"], threshold, opening, closing)
                    if not m.any():
                        continue
                    old = dst.read(1, window=win)
                    dst.write(np.where(m, np.uint8(1), old), 1, window=win)
                    counts["pixels"] += int((m & (old != 1)).sum())
                    for props, geom in _polygons(src, win, m):
                        counts["polygons"] += 1
                        yield {"region": rid, **props, **{c: row[c] for c in POLYGON_COLUMNS if c in row}}, geom

            write_features(out_polygons, features(), src.crs.to_string() if src.crs else None)
    return counts


def _region_mask(src, win, geometry: dict, threshold: float, opening: int, closing: int) -> np.ndarray:
    """Landslide pixels of one region's window: the mask over the window (halo included), kept
    inside the polygon."""
    from rasterio.features import geometry_mask

    p = src.read(1, window=win)
    valid = np.isfinite(p)
    inside = ~geometry_mask([geometry], out_shape=p.shape, transform=src.window_transform(win))
    return (landslide_mask(p, threshold, opening, closing, valid) == 1) & inside


def _polygons(src, win, mask: np.ndarray) -> Iterator[tuple[dict, dict]]:
    """Connected landslide areas (8-connectivity) of a window's mask as (properties, geometry)."""
    from rasterio.features import shapes
    from scipy import ndimage

    from ..segmentation.inference.scene import equal_area

    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    prob = np.nan_to_num(src.read(1, window=win))
    counts = np.bincount(labels.ravel(), minlength=n + 1)
    sums = np.bincount(labels.ravel(), weights=prob.ravel(), minlength=n + 1)
    area_m2 = equal_area(src)
    for geom, value in shapes(labels.astype(np.int32), mask=mask, connectivity=8, transform=src.window_transform(win)):
        k = int(value)
        area = area_m2(geom)
        yield (
            {
                "area_m2": area,
                "area_ha": None if area is None else area / 1e4,
                "pixels": int(counts[k]),
                "mean_probability": float(sums[k] / counts[k]),
            },
            geom,
        )
