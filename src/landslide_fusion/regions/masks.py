"""The landslide mask: made here, and only here, from a probability map.

Every output that shows or counts landslide pixels (the masks ``segment predict`` writes,
``segment evaluate``'s scores, the region statistics fusion learns from, scene rasters and
polygons, overlays) goes through :func:`landslide_mask`, so they always agree:

1. ``m = p >= threshold`` (the run's tuned threshold);
2. binary opening with a ``opening`` x ``opening`` square, then closing with a ``closing`` x
   ``closing`` square (0 or 1: off). Opening removes specks smaller than the square, closing
   fills gaps narrower than it (Serra, *Image Analysis and Mathematical Morphology*, 1982).
   Outside the map counts as background, as in ``scipy.ndimage.binary_opening`` with
   ``border_value=0``;
3. pixels outside ``valid`` (nodata, outside a polygon) are never landslide;
4. the image gate (``gate > 0``, for a map that is one region: a patch or an image): the region
   keeps its mask only if its peak valid probability reaches ``gate``, else the mask is empty.
   With ``gate > threshold`` this is hysteresis thresholding at the level of the region (the
   two-threshold rule of Canny, *A computational approach to edge detection*, 1986): a region is
   judged to hold a landslide only where the model is confident somewhere in it, and then its
   landslide pixels are those above the lower ``threshold``. Scenes are not one region and are
   masked without a gate. The peak compared is the map's own (:func:`region_peak`) unless the
   caller passes the one its gate was chosen on (a fold ensemble's members' peaks averaged).

:func:`valid_pixels` says which pixels of an image hold data, and :func:`has_landslide` is the
patch label (any landslide pixel), both used wherever a sample is read.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DataError

__all__ = ["landslide_mask", "morphology", "morphology_halo", "valid_pixels", "has_landslide"]


def _dilate(t: torch.Tensor, k: int) -> torch.Tensor:
    # max over [i - (k-1)//2, i + k//2]: scipy's dilation window (reflected structure), zeros outside
    a, b = (k - 1) // 2, k // 2
    return F.max_pool2d(F.pad(t, (a, b, a, b), value=0.0), k, stride=1)


def _erode(t: torch.Tensor, k: int) -> torch.Tensor:
    # min over [i - k//2, i + (k-1)//2]: scipy's erosion window, zeros outside (border_value=0)
    a, b = k // 2, (k - 1) // 2
    return -F.max_pool2d(F.pad(-t, (a, b, a, b), value=0.0), k, stride=1)


def morphology(mask: torch.Tensor | np.ndarray, opening: int = 0, closing: int = 0) -> torch.Tensor | np.ndarray:
    """Binary opening then closing of ``mask`` ((H, W) or (B, H, W)) with square structuring
    elements of the given sizes (0 or 1: off); returns the same type, shape and dtype.

    Equals ``scipy.ndimage.binary_closing(binary_opening(m, s_o, border_value=0), s_c,
    border_value=0)`` with ``s = np.ones((k, k))``.
    """
    if opening < 0 or closing < 0:
        raise DataError(f"post.opening={opening} and post.closing={closing} must be >= 0 (0 turns them off)")
    if opening <= 1 and closing <= 1:
        return mask
    is_numpy = isinstance(mask, np.ndarray)
    t = torch.from_numpy(np.ascontiguousarray(mask)) if is_numpy else mask
    m = t.reshape(-1, 1, *t.shape[-2:]).float()
    if opening > 1:
        m = _dilate(_erode(m, opening), opening)
    if closing > 1:
        m = _erode(_dilate(m, closing), closing)
    out = m.reshape(t.shape).to(t.dtype)
    return out.numpy() if is_numpy else out


def morphology_halo(opening: int = 0, closing: int = 0) -> int:
    """Pixels of context a block needs on each side so that :func:`morphology` of the block's
    interior equals that of the whole map: an opening or a closing with a k x k square depends on
    pixels up to ``k - 1`` away (erosion ``k // 2`` one way, dilation ``(k - 1) // 2`` the same way)."""
    return max(opening - 1, 0) + max(closing - 1, 0)


def landslide_mask(
    probability: torch.Tensor | np.ndarray,
    threshold: float,
    opening: int = 0,
    closing: int = 0,
    valid: torch.Tensor | np.ndarray | None = None,
    gate: float = 0.0,
    peak: float | None = None,
) -> torch.Tensor | np.ndarray:
    """The 0/1 landslide mask (uint8) of a probability map ((H, W) or (B, H, W): each map a
    region for the gate); see the module docstring. NaN probabilities are never landslide.
    ``peak``: what the gate compares for a single (H, W) map, instead of its own peak."""
    for name, value in (("threshold", threshold), ("gate", gate)):
        if not 0.0 <= float(value) <= 1.0:
            raise DataError(f"{name} {value} is outside [0, 1]; pass the run's probability {name}")
    is_numpy = isinstance(probability, np.ndarray)
    p = torch.nan_to_num(torch.from_numpy(np.ascontiguousarray(probability)) if is_numpy else probability, nan=0.0)
    m = morphology((p >= threshold).to(torch.uint8), opening, closing)
    if valid is not None:
        ok = torch.as_tensor(np.ascontiguousarray(valid, bool) if is_numpy else valid, dtype=torch.bool)
        m = m & ok.to(torch.uint8)
        p = p.where(ok, torch.zeros((), dtype=p.dtype))
    if gate > 0:
        top = p.flatten(-2).amax(-1) if p.numel() else p.new_zeros(p.shape[:-2])
        top = top if peak is None else torch.full_like(top, float(peak))
        m = m * (top >= gate).to(torch.uint8)[..., None, None]
    return m.numpy() if is_numpy else m


def region_peak(probability: np.ndarray, valid: np.ndarray) -> float:
    """The highest probability of a region's ``valid`` pixels, 0 without any: what its gate compares."""
    return float(probability[valid].max()) if valid.any() else 0.0


def valid_pixels(image: np.ndarray, nodata: float | None = None) -> np.ndarray:
    """(H, W) bool: pixels of a (C, H, W) image that are finite in every band and not
    ``nodata`` in every band (a pixel is nodata when all its bands hold the nodata value,
    GDAL's per-dataset convention)."""
    ok = np.isfinite(image).all(0)
    if nodata is not None and np.isfinite(nodata):
        ok &= ~(image == nodata).all(0)
    return ok


def has_landslide(mask: np.ndarray | torch.Tensor) -> bool:
    """The patch label: True when the (H, W) mask holds any landslide pixel (value 1)."""
    return bool((mask == 1).any())
