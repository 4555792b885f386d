"""Fusion: region statistics, join, stacking, cross-check, risk, comparison."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from landslide_fusion.errors import ConfigError, DataError, NotFittedError, SchemaError
from landslide_fusion.fusion import (
    CrossCheckFusion,
    StackingFusion,
    compare_fusion,
    describe_samples,
    image_descriptors,
    join_regions,
    mcnemar,
    region_stats,
    risk_classes,
)
from landslide_fusion.fusion.join import UnmatchedRegionsWarning
from landslide_fusion.synth import synth_fusion_regions


def test_region_stats_hand_computed():
    p = np.zeros((6, 6), np.float32)
    p[0, 0] = p[1, 1] = 0.9  # diagonal neighbours: one component with 8-connectivity
    p[4:6, 4:6] = 0.6
    p[3, 0] = 0.4  # below the threshold
    s = region_stats(p[None], 0.5, ["a"], pixel_area=100.0).loc["a"]
    assert s["landslide_fraction"] == pytest.approx(6 / 36)
    assert s["max_probability"] == pytest.approx(0.9)
    assert s["mean_probability"] == pytest.approx((0.9 * 2 + 0.6 * 4 + 0.4) / 36)
    assert s["p95_probability"] == pytest.approx(np.percentile(p, 95))
    assert s["n_components"] == 2 and s["largest_component_px"] == 4
    assert s["largest_component_area"] == pytest.approx(400.0)
    assert s["mean_probability_in_mask"] == pytest.approx((0.9 * 2 + 0.6 * 4) / 6)


def test_region_stats_sizes_valid_pixels_and_empty_mask():
    maps = [np.full((4, 4), 0.2), np.pad(np.ones((2, 2)), 1)]
    valid = [np.ones((4, 4), bool), np.eye(4, dtype=bool)]
    s = region_stats(maps, 0.5, ["x", "y"], valid=valid)
    assert list(s.index) == ["x", "y"] and s.index.name == "id"
    assert s.loc["x", "n_components"] == 0 and s.loc["x", "mean_probability_in_mask"] == 0.0
    assert np.isnan(s.loc["x", "largest_component_area"])
    # only the diagonal counts: (1,1) and (2,2) are inside the square of ones
    assert s.loc["y", "n_pixels"] == 4 and s.loc["y", "landslide_fraction"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"threshold": 1.5}, "outside"),
        ({"region_ids": ["a"]}, "1 region ids for 2"),
        ({"region_ids": ["a", "a"]}, "repeat"),
    ],
)
def test_region_stats_errors(kwargs, match):
    args = {"threshold": 0.5, **kwargs}
    with pytest.raises(DataError, match=match):
        region_stats(np.zeros((2, 4, 4)), **args)


def test_join_names_unmatched_ids_and_checks_labels():
    a = pd.DataFrame({"id": ["r1", "r2", "r3"], "max_probability": [0.1, 0.2, 0.3], "label": [0, 1, 0]})
    b = pd.DataFrame({"id": ["r2", "r3", "r4"], "tabular_probability": [0.5, 0.6, 0.7], "label": [1, 0, 1]})
    with pytest.raises(DataError, match=r"1 only in image \(r1\); 1 only in tabular \(r4\)"):
        join_regions(a, b)
    with pytest.warns(UnmatchedRegionsWarning, match="r1"):
        joined, unmatched = join_regions(a, b, on_missing="drop")
    assert list(joined.index) == ["r2", "r3"] and list(joined.columns) == [
        "max_probability",
        "label",
        "tabular_probability",
    ]
    assert unmatched.to_dict("list") == {"id": ["r1", "r4"], "missing_from": ["tabular", "image"]}
    b.loc[1, "label"] = 1
    with pytest.raises(DataError, match="'label' differs .* r3"), pytest.warns(UnmatchedRegionsWarning):
        join_regions(a, b, on_missing="drop")


def _regions(n=400, seed=0, ts=1.2, is_=1.2):
    df = synth_fusion_regions(n, seed, tabular_signal=ts, image_signal=is_).set_index("id")
    return df, df["label"].to_numpy()


def test_stacking_is_a_sklearn_estimator_and_round_trips(tmp_path):
    X, y = _regions(200)
    est = StackingFusion(columns=("tabular_probability", "max_probability"))
    with pytest.raises(NotFittedError):
        est.predict(X)
    assert clone(est).get_params() == est.get_params()
    assert est.fit(X, y) is est
    assert 0 < est.threshold_ < 1 and set(est.coefficients().index) == {"tabular_probability", "max_probability"}
    p = est.predict_proba(X)
    assert p.shape == (200, 2) and np.allclose(p.sum(1), 1)
    loaded = StackingFusion.load(est.save(tmp_path / "stack.json"))
    assert np.allclose(loaded.predict_proba(X), p) and (loaded.predict(X) == est.predict(X)).all()
    with pytest.raises(SchemaError, match="max_probability"):
        est.predict(X.drop(columns=["max_probability"]))


def test_stacking_lightgbm_meta_round_trips(tmp_path):
    X, y = _regions(200)
    est = StackingFusion(meta="lightgbm", calibration="isotonic").fit(X[["tabular_probability", "max_probability"]], y)
    loaded = StackingFusion.load(est.save(tmp_path / "s.json"))
    assert np.allclose(loaded.predict_proba(X), est.predict_proba(X))
    with pytest.raises(ConfigError, match="valid: logistic, lightgbm"):
        StackingFusion(meta="svm").fit(X[["max_probability"]], y)


def test_stacking_beats_each_single_model_with_independent_signal():
    X, y = _regions(400, seed=0)
    r = compare_fusion(X, y)
    fused = r.mean["fused"]["roc_auc"]
    assert fused > r.mean["tabular"]["roc_auc"] + 0.03 and fused > r.mean["image"]["roc_auc"] + 0.03
    assert r.agreement["mcnemar"]["fused_vs_tabular"]["p_value"] < 0.05
    assert len(r.per_fold) == 5 and set(r.oof.columns) >= {"p_tabular", "p_image", "p_fused", "fold"}


@pytest.mark.parametrize("ts, is_, better", [(1.5, 0.0, "tabular"), (0.0, 1.5, "image")])
def test_stacking_does_not_lose_to_the_better_model_when_one_side_is_noise(ts, is_, better):
    X, y = _regions(400, seed=1, ts=ts, is_=is_)
    r = compare_fusion(X, y)
    assert r.mean["fused"]["roc_auc"] >= r.mean[better]["roc_auc"] - 0.02
    assert r.agreement["mcnemar"][f"fused_vs_{better}"]["p_value"] > 0.05


def test_mcnemar_hand_computed():
    y = np.array([1, 1, 1, 1, 0, 0])
    a = np.array([1, 1, 1, 1, 0, 0])  # all right
    b = np.array([0, 0, 0, 1, 0, 0])  # three wrong where a is right
    m = mcnemar(y, a, b)
    assert m["first_right_second_wrong"] == 3 and m["first_wrong_second_right"] == 0
    assert m["p_value"] == pytest.approx(0.25)  # 2 * 0.5**3


def test_crosscheck_policies_and_disagreements():
    X = pd.DataFrame(
        {"tabular_probability": [0.9, 0.9, 0.1, 0.1], "max_probability": [0.8, 0.2, 0.7, 0.1]},
        index=pd.Index(["a", "b", "c", "d"], name="id"),
    )
    kw = {"tabular_threshold": 0.5, "image_threshold": 0.5}
    assert CrossCheckFusion("both", **kw).fit(X).predict(X).tolist() == [1, 0, 0, 0]
    assert CrossCheckFusion("either", **kw).fit(X).predict(X).tolist() == [1, 1, 1, 0]
    w = CrossCheckFusion("weighted", weight=0.75, threshold=0.5, **kw).fit(X)
    assert np.allclose(w.predict_proba(X)[:, 1], [0.875, 0.725, 0.25, 0.1]) and w.predict(X).tolist() == [1, 1, 0, 0]
    d = w.disagreements(X)
    assert list(d.index) == ["b", "c"] and d.loc["b", "tabular_vote"] == 1 and d.loc["b", "image_vote"] == 0
    with pytest.raises(ConfigError, match="needs labels to tune threshold"):
        CrossCheckFusion("weighted", **kw).fit(X)
    with pytest.raises(NotFittedError):
        CrossCheckFusion().predict(X)
    tuned = CrossCheckFusion("both").fit(X, [1, 0, 0, 0])
    assert tuned.predict(X).tolist() == [1, 0, 0, 0]
    assert CrossCheckFusion.from_dict(json.loads(json.dumps(tuned.to_dict(), allow_nan=True))).predict(X).tolist() == [
        1,
        0,
        0,
        0,
    ]


def test_risk_classes_edges():
    c = risk_classes(np.array([0.0, 0.25, 0.49, 0.5, 0.8, 1.0]))
    assert list(c) == ["low", "moderate", "moderate", "high", "very high", "very high"] and c.ordered
    with pytest.raises(ConfigError, match="increase strictly"):
        risk_classes(np.array([0.1]), edges=(0.5, 0.25, 0.75))


def test_descriptors_by_band_set(l4s_root, folder_root):
    from landslide_fusion.io.open import open_dataset

    l4s = describe_samples(open_dataset(l4s_root))
    assert {"ndvi_mean", "grvi_p90", "gradient_std", "slope_mean", "b8_p10", "landslide"} <= set(l4s.columns)
    rgb = describe_samples(open_dataset(folder_root))
    assert "ndvi_mean" not in rgb.columns and "grvi_mean" in rgb.columns and len(rgb) == 10
    texture = {"coherence2_mean", "contrast21_p90", "gradient4_mean", "lbp_9", "bright_extent"}
    assert texture <= set(rgb.columns) and texture <= set(l4s.columns)
    flat = image_descriptors(np.zeros((3, 8, 8), np.float32), "rgb")
    assert all(np.isfinite(v) for v in flat.values())


def test_stacking_rejects_missing_values():
    X, y = _regions(50)
    X.iloc[3, X.columns.get_loc("max_probability")] = np.nan
    with pytest.raises(DataError, match="'max_probability' has 1 missing"):
        StackingFusion(columns=("max_probability",)).fit(X, y)


def test_join_warning_is_a_user_warning():
    assert issubclass(UnmatchedRegionsWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        join_regions(pd.DataFrame({"id": [1], "a": [0.1]}), pd.DataFrame({"id": ["1"], "b": [0.2]}))


def test_fusion_methods_register_and_round_trip():
    from sklearn.base import BaseEstimator, ClassifierMixin

    from landslide_fusion.errors import ConfigError
    from landslide_fusion.fusion import FusionConfig, create_method, get_method, list_methods, method_from_dict
    from landslide_fusion.fusion.methods import _REGISTRY, register_method
    from landslide_fusion.synth import synth_fusion_regions

    assert {"stacking", "crosscheck"} <= set(list_methods())
    with pytest.raises(ConfigError, match="valid: .*crosscheck.*stacking"):
        get_method("voting")
    frame = synth_fusion_regions(n=120, seed=3).set_index("id")
    y = frame.pop("label").to_numpy()
    for name in ("stacking", "crosscheck"):
        est = create_method(FusionConfig(method=name)).fit(frame, y)
        back = method_from_dict(est.to_dict())
        assert type(back) is get_method(name) and np.allclose(back.predict_proba(frame), est.predict_proba(frame))

    @register_method
    class MeanFusion(ClassifierMixin, BaseEstimator):  # a new method is one registered class
        name = "mean-test"

        @classmethod
        def from_config(cls, cfg):
            return cls()

        def fit(self, X, y=None):
            self.threshold_ = 0.5
            return self

        def predict_proba(self, X):
            s = X[["tabular_probability", "max_probability"]].mean(1).to_numpy()
            return np.column_stack([1 - s, s])

        def to_dict(self):
            return {"method": self.name}

        @classmethod
        def from_dict(cls, d):
            return cls().fit(None)

    try:
        assert "mean-test" in list_methods()
        assert isinstance(
            method_from_dict(create_method(FusionConfig(method="mean-test")).fit(frame).to_dict()), MeanFusion
        )
        with pytest.raises(ConfigError, match="fusion method 'mean-test' is already registered"):
            register_method(type("Other", (MeanFusion,), {}))
        assert register_method(replace=True)(MeanFusion) is MeanFusion
    finally:
        _REGISTRY.unregister("mean-test")


def test_stacker_does_not_extrapolate_beyond_its_training_range():
    from landslide_fusion.fusion import StackingFusion
    from landslide_fusion.synth import synth_fusion_regions

    frame = synth_fusion_regions(n=200, seed=4).set_index("id")
    y = frame.pop("label").to_numpy()
    est = StackingFusion(columns=("tabular_probability", "max_probability")).fit(frame, y)
    lo, hi = (
        frame[["tabular_probability", "max_probability"]].min(),
        frame[["tabular_probability", "max_probability"]].max(),
    )
    edge = pd.DataFrame([lo, hi])
    beyond = pd.DataFrame({c: [lo[c] / 1e6, 1 - (1 - hi[c]) / 1e6] for c in lo.index})
    assert np.allclose(est.predict_proba(beyond), est.predict_proba(edge))  # scored as the training extremes
    p = est.predict_proba(beyond)[:, 1]
    assert 1e-6 < p.min() and p.max() < 1 - 1e-6
