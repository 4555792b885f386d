"""Decision thresholds chosen on validation scores (see :class:`~landslide_fusion.prior.OperatingCurve`)."""

from __future__ import annotations

import numpy as np

from ..prior import OperatingCurve

__all__ = ["choose_threshold"]


def choose_threshold(
    y: np.ndarray,
    p: np.ndarray,
    rule: str = "f1",
    target_recall: float = 0.9,
    landslide_free_share: float | None = None,
) -> float:
    """``f1``: the threshold of maximum F1 (expected at ``landslide_free_share``, None: the data's
    own mix); ``recall``: the highest threshold reaching ``target_recall``."""
    return OperatingCurve.from_scores(y, p).threshold(landslide_free_share, rule, target_recall)
