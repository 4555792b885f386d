"""The bootstrap interval of an estimate made on held-out images (``evaluation.interval``)."""

import numpy as np
import pytest

from landslide_fusion.segmentation.evaluation.interval import bootstrap_interval
from landslide_fusion.segmentation.evaluation.tuning import PostSweep, cross_fitted


def _counts(rng: np.random.Generator, n_landslide: int, n_free: int, blobs: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-image (TP, FP, FN, TN): landslide images found at about 80 %, and a share ``blobs`` of the
    landslide-free images carrying a false-positive blob of about 3,000 pixels."""
    tp = rng.integers(1500, 2500, n_landslide)
    ls = np.c_[tp, rng.integers(100, 400, n_landslide), tp // 4, np.full(n_landslide, 9000)]
    fp = np.where(rng.random(n_free) < blobs, rng.integers(2000, 4000, n_free), 0)
    free = np.c_[np.zeros(n_free, int), fp, np.zeros(n_free, int), 12000 - fp]
    return np.r_[ls, free], np.r_[np.ones(n_landslide, bool), np.zeros(n_free, bool)]


def _point(counts: np.ndarray, positive: np.ndarray, w: float) -> dict:
    tp, fn = counts[positive, 0].sum(), counts[positive, 2].sum()
    fp = counts[positive, 1].sum() + w * counts[~positive, 1].sum()
    return {"f1": 2 * tp / (2 * tp + fp + fn), "precision": tp / (tp + fp), "recall": tp / (tp + fn)}


def test_the_interval_holds_the_estimate_and_narrows_with_more_images():
    rng = np.random.default_rng(0)
    counts, positive = _counts(rng, 60, 40, blobs=0.1)
    small = bootstrap_interval(counts, positive, weight=3.0)
    assert (small["level"], small["resamples"]) == (0.9, 1000)
    point = _point(counts, positive, 3.0)
    for name in ("f1", "precision", "recall"):
        lo, hi = small[name]
        assert lo < point[name] < hi, (name, lo, point[name], hi)
    big = bootstrap_interval(*_counts(rng, 600, 400, blobs=0.1), weight=3.0)
    assert np.diff(big["precision"])[0] < 0.5 * np.diff(small["precision"])[0]  # ~1/sqrt(10) as wide


def test_rare_blobs_on_landslide_free_images_widen_precision_not_recall():
    """Recall depends on the landslide images only; the blobs of a few landslide-free images,
    weighted up to a sparse mix, are what make precision uncertain."""
    counts, positive = _counts(np.random.default_rng(1), 80, 80, blobs=0.05)
    sparse, as_is = bootstrap_interval(counts, positive, 5.0), bootstrap_interval(counts, positive, 1.0)
    assert sparse["recall"] == as_is["recall"]
    assert np.diff(sparse["precision"])[0] > 2 * np.diff(as_is["precision"])[0]


def test_identical_images_give_a_point_and_a_seed_repeats():
    counts = np.tile([[100, 10, 20, 900]], (10, 1))
    positive = np.r_[np.ones(5, bool), np.zeros(5, bool)]
    counts[~positive] = [0, 0, 0, 1000]
    flat = bootstrap_interval(counts, positive, 2.0)
    assert flat["f1"] == pytest.approx([200 / 230] * 2) and flat["precision"] == pytest.approx([100 / 110] * 2)
    varied, positive = _counts(np.random.default_rng(2), 30, 30, blobs=0.2)
    assert bootstrap_interval(varied, positive, 2.0, seed=4) == bootstrap_interval(varied, positive, 2.0, seed=4)
    narrow, wide = bootstrap_interval(varied, positive, 2.0, level=0.5), bootstrap_interval(varied, positive, 2.0)
    assert narrow["f1"][0] > wide["f1"][0] and narrow["f1"][1] < wide["f1"][1]


def test_cross_fitted_estimates_carry_their_interval():
    rng = np.random.default_rng(3)
    sweep = PostSweep()
    for i in range(16):
        truth = np.zeros((32, 32), np.uint8)
        prob = rng.uniform(0, 0.3, truth.shape).astype(np.float32)
        if i < 8:
            truth[4:20, 4:20] = 1
            prob[4:20, 4:20] = rng.uniform(0.55, 0.95, (16, 16))
        elif i % 3 == 0:
            prob[20:28, 20:28] = 0.7  # a blob on some landslide-free images
        sweep.update(prob, truth, np.ones(truth.shape, bool))
    held = cross_fitted(sweep, 0.8, folds=4)
    for name in ("f1", "precision", "recall"):
        lo, hi = held["interval"][name]
        assert lo <= held[name] <= hi, (name, lo, held[name], hi)
