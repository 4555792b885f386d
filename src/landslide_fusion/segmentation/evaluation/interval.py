"""How far an estimate from held-out images moves with the images it was made on: a stratified
percentile bootstrap of the pixel figures at a declared mix.

An estimate for unseen images (:func:`~.tuning.cross_fitted`) sums the held-out pixel counts of
each labelled image. Which images happened to be labelled is chance, and a handful of
landslide-free images with false-positive blobs can move precision by several points. The images
with and without landslides are resampled apart (each class with replacement, its size kept, so
the mix and the prior weight ``w`` stay those of the estimate), and for each resample

    F1_pi = 2 TP / (2 TP + FP_landslide + w FP_free + FN),
    precision_pi = TP / (TP + FP_landslide + w FP_free),   recall = TP / (TP + FN)

are recomputed; the interval is the central ``level`` of their percentiles (Efron and
Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13). It measures sampling error only:
imagery unlike the labelled images (another region, season or sensor) can fall outside it.
"""

from __future__ import annotations

import numpy as np

from ...prior import weighted_f1

__all__ = ["bootstrap_interval", "LEVEL", "RESAMPLES"]

#: Central share of the resampled figures the interval spans.
LEVEL = 0.9
#: Resamples drawn (about 10 ms for a thousand images).
RESAMPLES = 1000


def bootstrap_interval(
    counts: np.ndarray,
    positive: np.ndarray,
    weight: float,
    *,
    level: float = LEVEL,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict:
    """``{"level", "resamples", "f1": [lo, hi], "precision": [lo, hi], "recall": [lo, hi]}`` of
    per-image held-out pixel counts ``counts`` (images, >= 3: TP, FP, FN first) with labels
    ``positive`` (image holds a landslide) and landslide-free images weighted by ``weight``
    (module docstring). Deterministic for a ``seed``."""
    counts = np.asarray(counts, dtype=np.float64)[:, :3]
    positive = np.asarray(positive, dtype=bool)
    rng = np.random.default_rng(seed)

    def resampled(rows: np.ndarray) -> np.ndarray:
        """(resamples, 3) sums of the class's counts over resamples of its images."""
        if len(rows) == 0:
            return np.zeros((resamples, 3))
        return rows[rng.integers(0, len(rows), (resamples, len(rows)))].sum(axis=1)

    ls, free = resampled(counts[positive]), resampled(counts[~positive])
    tp, fp, fn = ls[:, 0], ls[:, 1] + weight * free[:, 1], ls[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        figures = {
            "f1": weighted_f1(tp, ls[:, 1], free[:, 1], fn, weight),
            "precision": np.where(tp + fp > 0, tp / (tp + fp), 0.0),
            "recall": np.where(tp + fn > 0, tp / (tp + fn), 0.0),
        }
    ends = 100 * np.array([(1 - level) / 2, (1 + level) / 2])
    return {
        "level": level,
        "resamples": resamples,
        **{name: [float(v) for v in np.percentile(values, ends)] for name, values in figures.items()},
    }
