"""The tabular side on a point inventory shaped like a public slope-failure set (terrain variables,
a string class ``wet``/``not``), used as its authors used it (issue #24): string classes with the
landslide class named or inferred, calibration that keeps the booster's ranking, and LightGBM
threads chosen by table size."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from typer.testing import CliRunner

from landslide_fusion.cli import app
from landslide_fusion.tabular import LandslideGBM

runner = CliRunner()
GBM = ["--set", "gbm.n_estimators=40", "--set", "gbm.early_stopping_rounds=10", "--set", "cv.folds=3"]


def slope_failure_inventory(n: int, seed: int, classes: tuple[str, str] = ("wet", "not")) -> pd.DataFrame:
    """``n`` points with slope (degrees), elevation (m), plan and profile curvature (1/m), log10
    catchment area and distance to a road (m); the class is drawn from a logistic model of them
    (steep, concave, large catchments, near roads fail), named ``classes[0]`` for a failure."""
    rng = np.random.default_rng(seed)
    t = pd.DataFrame(
        {
            "pid": [f"p{seed}_{i}" for i in range(n)],
            "slope": rng.gamma(4.0, 7.0, n),
            "elevation": rng.normal(1800, 350, n),
            "plan_curvature": rng.normal(0, 0.01, n),
            "profile_curvature": rng.normal(0, 0.01, n),
            "log10_carea": rng.normal(3.0, 0.6, n),
            "road_distance": rng.exponential(400, n),
        }
    )
    logit = 2 * (
        0.09 * (t["slope"] - 28)
        - 120 * t["profile_curvature"]
        + 1.1 * (t["log10_carea"] - 3)
        - 0.002 * (t["road_distance"] - 400)
        - 0.001 * (t["elevation"] - 1800)
    )
    t["class"] = np.where(rng.random(n) < expit(logit), *classes)
    return t


def _train(tmp_path, table: pd.DataFrame, *extra: str) -> object:
    table.to_csv(tmp_path / "inventory.csv", index=False)
    return runner.invoke(
        app,
        [
            "tabular",
            "train",
            "--data",
            str(tmp_path / "inventory.csv"),
            "--label",
            "class",
            "--id",
            "pid",
            "-o",
            str(tmp_path / "model"),
            *GBM,
            *extra,
        ],
    )


def test_string_classes_with_the_landslide_class_named(tmp_path):
    train, test = slope_failure_inventory(240, 0), slope_failure_inventory(200, 1)
    r = _train(tmp_path, train, "--positive", "wet", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["positives"] == int((train["class"] == "wet").sum())
    test.to_csv(tmp_path / "test.csv", index=False)
    r = runner.invoke(
        app, ["tabular", "evaluate", "--model", str(tmp_path / "model"), "--data", str(tmp_path / "test.csv"), "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["roc_auc"] > 0.8  # the learnable terrain signal comes through, wet as the landslide


def test_classes_are_inferred_only_when_unambiguous(tmp_path):
    r = _train(tmp_path, slope_failure_inventory(300, 0))
    assert r.exit_code == 1 and r.stderr.count("\n") == 1, r.output
    assert "found not, wet" in r.stderr and "--positive" in r.stderr, r.stderr
    r = _train(tmp_path, slope_failure_inventory(300, 0), "--positive", "dry")
    assert r.exit_code == 1 and "--positive 'dry': no label is 'dry'; the labels are not, wet" in r.stderr, r.stderr
    assert not (tmp_path / "model").exists()
    r = _train(tmp_path, slope_failure_inventory(300, 0, ("Yes", "No")), "--json")  # yes/no says which is which
    assert r.exit_code == 0, r.output


def test_calibration_keeps_the_boosters_ranking(tmp_path):
    """Isotonic calibration alone is a step function: many points share a probability and the
    ranking a risk map needs is flattened. Every calibration keeps one probability per raw score."""
    from sklearn.metrics import roc_auc_score

    train, test = slope_failure_inventory(600, 0), slope_failure_inventory(400, 1)
    X, y = train.drop(columns=["pid", "class"]), (train["class"] == "wet").to_numpy().astype(int)
    Xt, yt = test.drop(columns=["pid", "class"]), (test["class"] == "wet").to_numpy().astype(int)
    for calibration in ("isotonic", "sigmoid", "none"):
        m = LandslideGBM(n_estimators=80, early_stopping_rounds=20, calibration=calibration).fit(X, y)
        raw, p = m.decision_function(Xt), m.predict_proba(Xt)[:, 1]
        assert len(np.unique(p)) == len(np.unique(raw)) > 100, calibration
        assert roc_auc_score(yt, p) == pytest.approx(roc_auc_score(yt, raw), abs=1e-12), calibration
        assert np.all(np.diff(p[np.argsort(raw)]) >= 0) and (0 < p).all() and (p < 1).all(), calibration
        if calibration == "isotonic":  # and the probabilities are the isotonic ones, to within the tie-break
            iso = np.interp(raw, m.calibrator_.params["x"], m.calibrator_.params["y"])
            assert np.abs(p - iso).max() <= 1e-3


def test_lightgbm_threads_follow_the_table_size(tmp_path):
    from landslide_fusion.tabular.model import THREADED_ROWS, lgb_threads

    assert lgb_threads(2000, None) == 1 and lgb_threads(THREADED_ROWS, None) == (os.cpu_count() or 1)
    assert lgb_threads(2000, 2) == 2 and lgb_threads(10, -1) == (os.cpu_count() or 1)
    assert LandslideGBM()._lgb_params(2000)["num_threads"] == 1
    r = _train(tmp_path, slope_failure_inventory(200, 0), "--positive", "wet", "--threads", "1")
    assert r.exit_code == 0, r.output
    assert "threads = 1" in (tmp_path / "model" / "config.toml").read_text()
    assert json.loads((tmp_path / "model" / "meta.json").read_text())["params"]["n_jobs"] == 1
