"""Per-region statistics of predicted landslide probabilities (the image side of fusion).

A region is anything with an id: a patch, an image, a tile of a scene, a slope unit, a polygon.
Given its probability map ``p`` (H, W), its valid pixels ``v`` and its landslide mask ``m``
(made once by :func:`~landslide_fusion.regions.masks.landslide_mask`: the run's threshold, then
the configured opening/closing):

* ``landslide_fraction`` = sum(m) / sum(v)
* ``max_probability``, ``mean_probability``, ``p95_probability`` (95th percentile of p over v)
* ``n_components``: connected components of ``m`` (8-connectivity)
* ``largest_component_px`` and ``largest_component_area`` (pixels x ``pixel_area``, in squared
  map units; NaN when the region is not georeferenced)
* ``mean_probability_in_mask``: mean of p over m, 0 when the mask is empty
* ``n_pixels``: valid pixels counted

:func:`mask_statistics` computes them for one region from ``(p, m, v)``; :func:`region_stats` makes
the masks of many regions and tabulates them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from scipy import ndimage

from ..errors import DataError
from .masks import landslide_mask

__all__ = ["region_stats", "mask_statistics", "stats_frame", "STAT_COLUMNS", "PROBABILITY_COLUMNS"]

#: Columns of :func:`region_stats`, in order.
STAT_COLUMNS = (
    "landslide_fraction",
    "max_probability",
    "mean_probability",
    "p95_probability",
    "n_components",
    "largest_component_px",
    "largest_component_area",
    "mean_probability_in_mask",
    "n_pixels",
)
#: The statistics that live in [0, 1].
PROBABILITY_COLUMNS = (
    "landslide_fraction",
    "max_probability",
    "mean_probability",
    "p95_probability",
    "mean_probability_in_mask",
)

_EIGHT = np.ones((3, 3), dtype=bool)


def _as_maps(probabilities) -> list[np.ndarray]:
    if isinstance(probabilities, torch.Tensor):
        probabilities = probabilities.detach().cpu().numpy()
    if isinstance(probabilities, np.ndarray):
        if probabilities.ndim == 2:
            probabilities = probabilities[None]
        if probabilities.ndim != 3:
            raise DataError(
                f"probabilities must be (N, H, W) or a list of (H, W) maps; got shape {probabilities.shape}"
            )
        return list(probabilities)
    maps = [np.asarray(p.detach().cpu() if isinstance(p, torch.Tensor) else p) for p in probabilities]
    for i, p in enumerate(maps):
        if p.ndim != 2:
            raise DataError(f"probability map {i} has shape {p.shape}; each region needs one (H, W) map")
    return maps


def mask_statistics(
    probability: np.ndarray, mask: np.ndarray, valid: np.ndarray | None = None, pixel_area: float = np.nan
) -> dict[str, float]:
    """The statistics (module docstring) of one region from its probability map, its landslide
    mask (from :func:`~landslide_fusion.regions.masks.landslide_mask`) and its valid pixels."""
    p = np.nan_to_num(np.asarray(probability, np.float64), nan=0.0)
    inside = np.ones(p.shape, bool) if valid is None else np.asarray(valid, bool)
    values = p[inside]
    if values.size == 0:
        return {c: (0.0 if c != "largest_component_area" else np.nan) for c in STAT_COLUMNS}
    m = (np.asarray(mask) == 1) & inside
    labels, n = ndimage.label(m, structure=_EIGHT)
    largest = int(np.bincount(labels.ravel())[1:].max()) if n else 0
    return {
        "landslide_fraction": float(m.sum() / values.size),
        "max_probability": float(values.max()),
        "mean_probability": float(values.mean()),
        "p95_probability": float(np.percentile(values, 95)),
        "n_components": int(n),
        "largest_component_px": largest,
        "largest_component_area": largest * float(pixel_area),
        "mean_probability_in_mask": float(p[m].mean()) if n else 0.0,
        "n_pixels": int(values.size),
    }


def stats_frame(rows: Sequence[dict[str, float]], ids: Sequence) -> pd.DataFrame:
    """Rows of :func:`mask_statistics` as a frame indexed by region id (``id``), ids checked unique."""
    ids = list(ids)
    if len(set(ids)) != len(ids):
        dup = sorted({str(i) for i in ids if ids.count(i) > 1})[:10]
        raise DataError(f"region ids repeat ({', '.join(dup)}); each region needs a unique id")
    frame = pd.DataFrame(list(rows), columns=list(STAT_COLUMNS), index=pd.Index(ids, name="id"))
    return frame.astype({"n_components": int, "largest_component_px": int, "n_pixels": int})


def region_stats(
    probabilities: np.ndarray | torch.Tensor | Sequence[np.ndarray],
    threshold: float,
    region_ids: Sequence | None = None,
    *,
    pixel_area: float | Sequence[float] | None = None,
    valid: Sequence[np.ndarray] | None = None,
    opening: int = 0,
    closing: int = 0,
) -> pd.DataFrame:
    """Mask statistics per region, as a frame indexed by region id (see the module docstring).

    Args:
        probabilities: (N, H, W) landslide probabilities, or a list of (H, W) maps of any sizes.
        threshold: the pixel threshold that makes the mask (the run's tuned threshold).
        region_ids: one id per map; defaults to 0..N-1.
        pixel_area: squared map units per pixel (one number, or one per region); None leaves
            ``largest_component_area`` as NaN.
        valid: optional boolean maps; pixels outside (nodata, outside a polygon) are ignored.
        opening, closing: the run's ``post.opening``/``post.closing`` (0: off).
    """
    maps = _as_maps(probabilities)
    ids = list(range(len(maps))) if region_ids is None else list(region_ids)
    if len(ids) != len(maps):
        raise DataError(f"{len(ids)} region ids for {len(maps)} probability maps; pass one id per map")
    areas = (
        [np.nan] * len(maps)
        if pixel_area is None
        else (list(pixel_area) if isinstance(pixel_area, Sequence) else [float(pixel_area)] * len(maps))
    )
    if valid is not None and len(valid) != len(maps):
        raise DataError(f"{len(valid)} valid-pixel maps for {len(maps)} probability maps")
    rows = []
    for i, p in enumerate(maps):
        v = None if valid is None else valid[i]
        m = landslide_mask(p, float(threshold), opening, closing, v)
        rows.append(mask_statistics(p, m, v, float(areas[i])))
    return stats_frame(rows, ids)
