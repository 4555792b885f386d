"""Checks every reader applies to what it loads; each error names the file and the fix."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import numpy as np

from ..errors import DataError

__all__ = ["NanPolicy", "check_finite", "binary_mask"]


class NanPolicy(str, Enum):
    """What to do with NaN/inf pixel values: fail (default) or replace them with 0."""

    RAISE = "raise"
    ZERO = "zero"


def check_finite(
    image: np.ndarray, path: Path, bands: tuple[str, ...], policy: NanPolicy | str = NanPolicy.RAISE
) -> np.ndarray:
    """Return ``image`` (C, H, W) with non-finite values handled per ``policy``."""
    policy = NanPolicy(policy)
    bad = ~np.isfinite(image)
    if not bad.any():
        return image
    if policy is NanPolicy.ZERO:
        return np.where(bad, 0, image).astype(image.dtype, copy=False)
    per_band = bad.reshape(bad.shape[0], -1).sum(axis=1)
    where = ", ".join(f"{b}: {int(n)}" for b, n in zip(bands, per_band) if n)
    n_nan = int(np.isnan(image).sum())
    n_inf = int(bad.sum()) - n_nan
    raise DataError(
        f"{path}: {n_nan} NaN and {n_inf} inf values ({where}); fix the file or pass --fix-nan to replace them with 0"
    )


def binary_mask(mask: np.ndarray, path: Path) -> np.ndarray:
    """Map a 0/1 or 0/255 mask to int64 {0, 1}; other values are an error."""
    values = np.unique(mask)
    if np.isin(values, (0, 1)).all():
        return mask.astype(np.int64)
    if np.isin(values, (0, 255)).all():
        return (mask == 255).astype(np.int64)
    shown = ", ".join(str(v) for v in values[:8]) + (" ..." if len(values) > 8 else "")
    raise DataError(f"{path}: mask values {shown} are not binary; masks must hold 0/1 or 0/255 (landslide = 1 or 255)")
