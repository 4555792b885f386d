"""Per-region statistics of predicted landslide probabilities (the image side of fusion).

A region is anything with an id: a patch, a tile of a scene, a slope unit, a polygon. Given
its probability map ``p`` (H, W) and the segmentation run's tuned threshold ``t``:

* ``landslide_fraction`` = mean(p >= t) over the region's valid pixels
* ``max_probability``, ``mean_probability``, ``p95_probability`` (95th percentile of p)
* ``n_components``: connected components of the mask ``p >= t`` (8-connectivity)
* ``largest_component_px`` and ``largest_component_area`` (pixels x ``pixel_area``, in squared
  map units; NaN when the region is not georeferenced)
* ``mean_probability_in_mask``: mean of p over the mask, 0 when the mask is empty
* ``n_pixels``: valid pixels counted
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from scipy import ndimage

from ..errors import DataError

__all__ = ["region_stats", "STAT_COLUMNS", "PROBABILITY_COLUMNS"]

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
PROBABILITY_COLUMNS = ("landslide_fraction", "max_probability", "mean_probability", "p95_probability",
                       "mean_probability_in_mask")

_EIGHT = np.ones((3, 3), dtype=bool)


def _as_maps(probabilities) -> list[np.ndarray]:
    if isinstance(probabilities, torch.Tensor):
        probabilities = probabilities.detach().cpu().numpy()
    if isinstance(probabilities, np.ndarray):
        if probabilities.ndim == 2:
            probabilities = probabilities[None]
        if probabilities.ndim != 3:
            raise DataError(f"probabilities must be (N, H, W) or a list of (H, W) maps; got shape {probabilities.shape}")
        return list(probabilities)
    maps = [np.asarray(p.detach().cpu() if isinstance(p, torch.Tensor) else p) for p in probabilities]
    for i, p in enumerate(maps):
        if p.ndim != 2:
            raise DataError(f"probability map {i} has shape {p.shape}; each region needs one (H, W) map")
    return maps


def _one(p: np.ndarray, valid: np.ndarray | None, threshold: float, pixel_area: float) -> dict[str, float]:
    p = np.nan_to_num(p.astype(np.float64), nan=0.0)
    inside = np.ones(p.shape, bool) if valid is None else np.asarray(valid, bool)
    values = p[inside]
    if values.size == 0:
        return {c: (0.0 if c != "largest_component_area" else np.nan) for c in STAT_COLUMNS}
    mask = (p >= threshold) & inside
    labels, n = ndimage.label(mask, structure=_EIGHT)
    largest = int(np.bincount(labels.ravel())[1:].max()) if n else 0
    return {
        "landslide_fraction": float(mask.sum() / values.size),
        "max_probability": float(values.max()),
        "mean_probability": float(values.mean()),
        "p95_probability": float(np.percentile(values, 95)),
        "n_components": int(n),
        "largest_component_px": largest,
        "largest_component_area": largest * pixel_area,
        "mean_probability_in_mask": float(p[mask].mean()) if n else 0.0,
        "n_pixels": int(values.size),
    }


def region_stats(
    probabilities: np.ndarray | torch.Tensor | Sequence[np.ndarray],
    threshold: float,
    region_ids: Sequence | None = None,
    *,
    pixel_area: float | Sequence[float] | None = None,
    valid: Sequence[np.ndarray] | None = None,
) -> pd.DataFrame:
    """Mask statistics per region, as a frame indexed by region id (see the module docstring).

    Args:
        probabilities: (N, H, W) landslide probabilities, or a list of (H, W) maps of any sizes.
        threshold: the pixel threshold that makes the mask (the run's tuned threshold).
        region_ids: one id per map; defaults to 0..N-1.
        pixel_area: squared map units per pixel (one number, or one per region); None leaves
            ``largest_component_area`` as NaN.
        valid: optional boolean maps; pixels outside (nodata, outside a polygon) are ignored.
    """
    if not 0.0 <= float(threshold) <= 1.0:
        raise DataError(f"threshold {threshold} is outside [0, 1]; pass the run's probability threshold")
    maps = _as_maps(probabilities)
    ids = list(range(len(maps))) if region_ids is None else list(region_ids)
    if len(ids) != len(maps):
        raise DataError(f"{len(ids)} region ids for {len(maps)} probability maps; pass one id per map")
    if len(set(ids)) != len(ids):
        dup = sorted({str(i) for i in ids if ids.count(i) > 1})[:10]
        raise DataError(f"region ids repeat ({', '.join(dup)}); each region needs a unique id")
    areas = [np.nan] * len(maps) if pixel_area is None else (
        list(pixel_area) if isinstance(pixel_area, Sequence) else [float(pixel_area)] * len(maps))
    if valid is not None and len(valid) != len(maps):
        raise DataError(f"{len(valid)} valid-pixel maps for {len(maps)} probability maps")
    rows = [_one(p, None if valid is None else valid[i], float(threshold), float(areas[i])) for i, p in enumerate(maps)]
    frame = pd.DataFrame(rows, columns=list(STAT_COLUMNS), index=pd.Index(ids, name="id"))
    return frame.astype({"n_components": int, "largest_component_px": int, "n_pixels": int})
