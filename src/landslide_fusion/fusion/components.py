"""What one landslide area of a mask looks like: the descriptors the component filter judges.

A region the fusion confirms keeps the pixels of its probability map above the mask threshold
(:mod:`.confirm`). On landslide-free imagery that is confirmed anyway, and beside a real scar,
those pixels form areas that differ from true landslides in ways a region statistic averages
away: a faint, diffuse patch with no sharp edge, a sliver along a road, a speck far from the
main body. Each connected area (8-connectivity, as the polygons written) is described here from
the probability map alone, in pixels and shares of its region (the filter learns them on image
regions and is applied to image regions, :mod:`.component_filter`):

* ``threshold``: the mask threshold the area was cut at (the filter serves every threshold the
  decision may choose);
* size: ``log_pixels`` (``log(1 + n)``), ``region_share`` (``n`` over the region's valid
  pixels), ``mask_share`` (``n`` over the region's landslide pixels), ``is_largest``;
* confidence: ``mean_probability``, ``max_probability`` and ``std_probability`` inside, the mean
  probability in a square ring :data:`RING` pixels wide around it (``ring_probability``; other
  areas and nodata excluded, a ring pixel two areas share counts for one of them) and
  ``edge_contrast`` (inside minus ring: a sharp boundary is high);
* shape: ``extent`` (``n`` over its bounding box), ``axis_ratio`` (``sqrt(l2 / l1)`` of the
  eigenvalues ``l1 >= l2`` of its pixel coordinates' covariance: 1 for a disk, near 0 for a
  line), ``compactness`` (``4 pi n / P^2`` with ``P`` its boundary pixels, those with a
  4-neighbour outside it: about 1.2-1.3 for a digital disk, whose boundary pixels undercount its
  perimeter, and small for a ragged or thin area; Haralick and Shapiro, *Computer and Robot
  Vision* I, 1992, 10.3) and ``touches_edge`` (it reaches the region's border, where it may be
  cut off);
* the region: ``n_components``, ``region_peak`` (its highest probability), and, given by the
  caller, both sides' scores of the region (:data:`REGION_SCORES`: the fusion's probability at
  its fitting mix and the tabular probability).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["COMPONENT_FEATURES", "REGION_SCORES", "RING", "component_features"]

#: Width in pixels of the ring around an area whose probabilities are its surroundings.
RING = 3

#: The region's scores from both sides a caller adds to every area's row.
REGION_SCORES = ("fused_probability", "tabular_probability")

#: The descriptors of :func:`component_features`, in column order (module docstring).
COMPONENT_FEATURES = (
    "threshold",
    "log_pixels",
    "region_share",
    "mask_share",
    "is_largest",
    "mean_probability",
    "max_probability",
    "std_probability",
    "ring_probability",
    "edge_contrast",
    "extent",
    "axis_ratio",
    "compactness",
    "touches_edge",
    "n_components",
    "region_peak",
)

_EIGHT = np.ones((3, 3), bool)


def component_features(
    probability: np.ndarray, mask: np.ndarray, valid: np.ndarray, threshold: float
) -> tuple[np.ndarray, pd.DataFrame]:
    """Label the 0/1 ``mask`` of one region (its areas numbered from 1) and describe each area
    (module docstring): ``(labels, frame indexed 1..n with COMPONENT_FEATURES)``.

    ``probability`` (H, W; NaN outside ``valid``) is the map the mask was cut from at
    ``threshold``; ``valid`` the region's pixels (data, inside its polygon)."""
    from scipy import ndimage

    labels, n = ndimage.label(np.asarray(mask, bool), structure=_EIGHT)
    if n == 0:
        return labels, pd.DataFrame(columns=list(COMPONENT_FEATURES), index=pd.RangeIndex(1, 1), dtype=float)
    valid = np.asarray(valid, bool)
    p = np.where(valid, np.nan_to_num(np.asarray(probability, np.float64)), 0.0)
    ys, xs = np.nonzero(labels)  # the areas' pixels only: areas are a small part of a region
    lab, pin = labels[ys, xs], p[ys, xs]

    def per_area(of: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(of, weights=weights, minlength=n + 1)[1:]

    pixels = per_area(lab)
    mean = per_area(lab, pin) / pixels
    var = np.maximum(per_area(lab, pin * pin) / pixels - mean * mean, 0.0)
    order = np.argsort(lab, kind="stable")
    peak = np.maximum.reduceat(pin[order], np.searchsorted(lab[order], np.arange(1, n + 1)))

    ring_labels = ndimage.grey_dilation(labels, size=(2 * RING + 1, 2 * RING + 1))
    ring = (labels == 0) & valid & (ring_labels > 0)
    ring_n = per_area(ring_labels[ring])
    ring_mean = np.where(ring_n > 0, per_area(ring_labels[ring], p[ring]) / np.maximum(ring_n, 1), 0.0)

    y, x = ys.astype(np.float64), xs.astype(np.float64)
    my, mx = per_area(lab, y) / pixels, per_area(lab, x) / pixels
    cyy = per_area(lab, y * y) / pixels - my**2
    cxx = per_area(lab, x * x) / pixels - mx**2
    cxy = per_area(lab, y * x) / pixels - my * mx
    half, root = (cyy + cxx) / 2, np.sqrt(np.maximum(((cyy - cxx) / 2) ** 2 + cxy**2, 0.0))
    axis_ratio = np.sqrt(np.maximum(half - root, 0.0) / np.maximum(half + root, 1e-12))
    axis_ratio = np.where(pixels > 1, axis_ratio, 1.0)

    boundary = (labels > 0) & ~_interior(labels > 0)
    perimeter = per_area(labels[boundary])
    compactness = 4 * np.pi * pixels / np.maximum(perimeter, 1) ** 2
    border = valid & ~_interior(valid)
    boxes = ndimage.find_objects(labels)
    box_area = np.array([(s[0].stop - s[0].start) * (s[1].stop - s[1].start) for s in boxes], float)

    frame = pd.DataFrame(
        {
            "threshold": float(threshold),
            "log_pixels": np.log1p(pixels),
            "region_share": pixels / max(int(valid.sum()), 1),
            "mask_share": pixels / pixels.sum(),
            "is_largest": (pixels == pixels.max()).astype(float),
            "mean_probability": mean,
            "max_probability": peak,
            "std_probability": np.sqrt(var),
            "ring_probability": ring_mean,
            "edge_contrast": mean - ring_mean,
            "extent": pixels / box_area,
            "axis_ratio": axis_ratio,
            "compactness": compactness,
            "touches_edge": (per_area(labels[border]) > 0).astype(float),
            "n_components": float(n),
            "region_peak": float(p[valid].max()) if valid.any() else 0.0,
        },
        index=pd.RangeIndex(1, n + 1),
    )
    return labels, frame


def _interior(m: np.ndarray) -> np.ndarray:
    """Pixels of ``m`` whose four neighbours are all in ``m`` (outside the array is not)."""
    q = np.pad(m, 1)
    return m & q[:-2, 1:-1] & q[2:, 1:-1] & q[1:-1, :-2] & q[1:-1, 2:]
