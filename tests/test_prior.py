"""One prior for every decision: the prior shift, thresholds for a declared share, decisions inside
the risk classes, and the stacker's default inputs."""

import warnings

import numpy as np
import pandas as pd
import pytest

from landslide_fusion.errors import ConfigError
from landslide_fusion.fusion import StackingFusion
from landslide_fusion.fusion.decision import DecisionRule
from landslide_fusion.fusion.risk import risk_classes
from landslide_fusion.prior import OperatingCurve, check_share, prior_weight, shift_probability
from landslide_fusion.segmentation.evaluation.tuning import PostSweep


def _scores(n: int = 400, seed: int = 0):
    """Held-out scores of a decent classifier on a mix with 40 % landslide-free regions."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.6).astype(int)
    p = 1 / (1 + np.exp(-(2.2 * (y - 0.5) * 2 + rng.normal(0, 1.3, n))))
    return y, p


def test_shift_is_bayes_rule_and_round_trips():
    p = np.array([0.1, 0.5, 0.9])
    # from a 50/50 mix to 90 % landslide-free: the odds fall by 9
    q = shift_probability(p, 0.5, 0.9)
    np.testing.assert_allclose(q / (1 - q), (p / (1 - p)) / 9)
    np.testing.assert_allclose(shift_probability(q, 0.9, 0.5), p)
    assert shift_probability(p, 0.5, None) is not None and np.array_equal(shift_probability(p, None, 0.9), p)


def test_check_share_names_the_value_and_the_meaning():
    assert check_share(None) is None and check_share(0.0) == 0.0 and check_share("0.9") == 0.9
    for bad in (1.0, 1.5, -0.1, float("nan"), float("inf"), "many"):
        with pytest.raises(ConfigError, match=r"--landslide-free-share .* outside \[0, 1\).*landslide-free regions"):
            check_share(bad)


def test_curve_matches_sklearn_and_the_threshold_rises_with_the_share():
    from sklearn.metrics import f1_score

    y, p = _scores()
    curve = OperatingCurve.from_scores(y, p)
    t = curve.threshold()
    best = max(f1_score(y, p >= c) for c in np.unique(p))
    assert f1_score(y, p >= t) == pytest.approx(best)
    assert curve.expected(t)["f1"] == pytest.approx(best)
    chosen = [curve.threshold(s) for s in (0.2, 0.4, 0.7, 0.9, 0.99)]
    assert chosen == sorted(chosen) and chosen[-1] > chosen[0]
    # expected precision at a share equals precision measured on a resampled mix
    w = prior_weight(0.9, int(y.sum()), int((1 - y).sum()))
    tp, fp = ((p >= t) & (y == 1)).sum(), ((p >= t) & (y == 0)).sum()
    assert curve.expected(t, 0.9)["precision"] == pytest.approx(tp / (tp + w * fp))
    assert OperatingCurve.from_dict(curve.to_dict()).threshold(0.9) == chosen[3]


def test_decisions_stay_inside_the_moderate_class_and_say_when_that_binds():
    y, p = _scores()
    rule = DecisionRule.fit(y, p, [str(i) for i in range(len(y))], edges=(0.25, 0.5, 0.75), mask_threshold=0.5)
    for share in (None, 0.5, 0.9, 0.99):
        d = rule.choose(share)
        risk = rule.risk(p, share)
        decided = p >= d.cut
        classes = np.asarray(risk_classes(risk).astype(str))
        assert 0.25 - 1e-9 <= d.threshold <= 0.5 + 1e-9
        assert not (decided & (classes == "low")).any()
        assert not (~decided & np.isin(classes, ["high", "very high"])).any()
    # a training set separated too easily puts the best cut at the edge of the scores: moved, with a note
    easy = np.where(y == 1, 0.9999, 0.0001)
    d = DecisionRule.fit(y, easy, [str(i) for i in range(len(y))], edges=(0.25, 0.5, 0.75), mask_threshold=0.5).choose(
        None
    )
    assert d.note is not None and "moderate" in d.note and 0.25 <= d.threshold <= 0.5


def test_fused_masks_threshold_and_cut_are_chosen_together_on_pixel_counts():
    """Two landslide-free images whose false-positive blobs a threshold cannot remove without losing
    landslide pixels, but a fused probability that knows they hold no landslide can."""
    rng = np.random.default_rng(3)
    sweep = PostSweep()
    fused = []
    for i in range(20):
        truth = np.zeros((32, 32), np.uint8)
        prob = rng.uniform(0, 0.2, truth.shape).astype(np.float32)
        if i < 10:
            truth[4:20, 4:20] = 1
            prob[4:20, 4:20] = rng.uniform(0.6, 0.9, (16, 16))
            fused.append(0.8 + 0.01 * i)
        else:
            prob[10:26, 10:26] = 0.75  # a confident false positive
            fused.append(0.1 + 0.01 * i)
        sweep.update(prob, truth, np.ones(truth.shape, bool), f"im{i}")
    y = np.array([1] * 10 + [0] * 10)
    rule = DecisionRule.fit(y, np.array(fused), sweep.ids, edges=(0.25, 0.5, 0.75), mask_threshold=0.5, sweep=sweep)
    d = rule.choose(0.9)
    assert d.expected["pixels"]["f1"] == pytest.approx(1.0) and d.mask_threshold < 0.6
    without = DecisionRule.fit(y, np.array(fused), sweep.ids, edges=(0.25, 0.5, 0.75), mask_threshold=0.5)
    assert without.choose(0.9).expected["pixels"] == {}
    back = DecisionRule.from_dict(rule.to_dict(), rule.sweep_frame())
    assert back.choose(0.9) == d


def test_stacker_defaults_take_features_only():
    """The README's library example: the join of oof_stats.csv and oof.csv holds the label, the folds and
    an all-missing area column; the stacker's defaults leave them out."""
    rng = np.random.default_rng(0)
    n = 120
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "max_probability": np.clip(0.3 + 0.5 * y + rng.normal(0, 0.2, n), 0, 1),
            "tabular_probability": np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, n), 0, 1),
            "label": y,
            "fold": rng.integers(1, 6, n),
            "largest_component_area": np.nan,
            "minx": 0.0,
            "id": [f"r{i}" for i in range(n)],
        }
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = StackingFusion().fit(frame, y)
    assert est.columns_ == ["max_probability", "tabular_probability"]
    assert any("largest_component_area" in str(w.message) for w in caught)
