import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_validate
from typer.testing import CliRunner

from landslide_fusion.cli import app
from landslide_fusion.errors import DataError, NotFittedError, SchemaError
from landslide_fusion.synth import synth_region_table
from landslide_fusion.tabular import LandslideGBM, SpatialBlockKFold, leakage_report, shap_importance, shap_values
from landslide_fusion.tabular.cv import LeakageWarning

runner = CliRunner()
FAST = dict(n_estimators=80, learning_rate=0.1, early_stopping_rounds=20, min_child_samples=10)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    y = (rng.random(600) < 0.3).astype(int)
    return synth_region_table([f"r{i}" for i in range(600)], y, seed=0)


def _xy(t):
    return t.drop(columns=["region_id", "landslide", "x", "y"]), t["landslide"]


def test_fit_predict_calibrated_and_learns(table):
    X, y = _xy(table)
    m = LandslideGBM(**FAST).fit(X.iloc[:450], y.iloc[:450])
    assert m.fit(X.iloc[:450], y.iloc[:450]) is m
    p = m.predict_proba(X.iloc[450:])
    assert p.shape == (150, 2) and np.allclose(p.sum(1), 1) and ((p >= 0) & (p <= 1)).all()
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y.iloc[450:], p[:, 1]) > 0.75
    assert set(m.predict(X.iloc[450:])) <= {0, 1} and 0 < m.threshold_ < 1
    assert "lithology" in m.schema_.categories


def test_sklearn_contract(table):
    X, y = _xy(table)
    m = LandslideGBM(num_leaves=5)
    assert clone(m).get_params()["num_leaves"] == 5 and m.set_params(num_leaves=9).num_leaves == 9
    with pytest.raises(NotFittedError):
        m.predict(X)
    scores = cross_validate(
        LandslideGBM(**FAST), X, y, cv=SpatialBlockKFold(3, 2000.0, ("x", "y")).split(table, y), scoring="roc_auc"
    )
    assert len(scores["test_score"]) == 3


def test_save_load_without_pickle(table, tmp_path):
    X, y = _xy(table)
    m = LandslideGBM(**FAST, calibration="sigmoid").fit(X, y)
    m.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["meta.json", "model.txt"]
    back = LandslideGBM.load(tmp_path / "m")
    np.testing.assert_allclose(back.predict_proba(X), m.predict_proba(X))
    assert back.threshold_ == m.threshold_ and json.loads((tmp_path / "m" / "meta.json").read_text())["data_sha256"]


def test_bad_inputs(table):
    X, y = _xy(table)
    with pytest.raises(DataError, match="labels must be binary"):
        LandslideGBM(**FAST).fit(X, y * 2 + 1)
    with pytest.raises(DataError, match="only one class"):
        LandslideGBM(**FAST).fit(X, np.zeros(len(y)))
    with pytest.raises(SchemaError, match="constant column"):
        LandslideGBM(**FAST).fit(X.assign(c=1.0), y)
    m = LandslideGBM(**FAST).fit(X, y)
    with pytest.raises(SchemaError, match="missing feature column\\(s\\) rainfall_mm"):
        m.predict(X.drop(columns=["rainfall_mm"]))
    with pytest.raises(SchemaError, match="unseen in training \\(basalt\\)"):
        m.predict(X.assign(lithology="basalt"))
    assert m.set_params(unseen_categories="missing").predict(X.assign(lithology="basalt")).shape == (len(X),)


def test_spatial_blocks_keep_neighbours_together(table):
    cv = SpatialBlockKFold(4, 2600.0, ("x", "y"))
    blocks = cv.blocks(table)
    for tr, te in cv.split(table, table["landslide"]):
        assert not set(blocks[tr]) & set(blocks[te])
    with pytest.raises(SchemaError, match="coordinate columns"):
        list(SpatialBlockKFold(2).split(table.drop(columns=["x"])))


def test_leakage_guard_names_column(table):
    X, y = _xy(table)
    with pytest.warns(LeakageWarning, match="'copy'"):
        found = leakage_report(X.assign(copy=y * 10.0), y.to_numpy())
    assert list(found) == ["copy"]


def test_shap_adds_up_and_matches_lightgbm(table):
    X, y = _xy(table)
    m = LandslideGBM(**FAST).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values, expected, Xt = shap_values(m, X.iloc[:50])
    np.testing.assert_allclose(values.sum(1) + expected, m.decision_function(X.iloc[:50]), atol=1e-6)
    contrib = m.booster_.predict(Xt, pred_contrib=True)
    np.testing.assert_allclose(values, contrib[:, :-1], atol=1e-6)
    imp = shap_importance(m, X)
    assert list(imp["rank"]) == list(range(1, len(imp) + 1)) and imp.iloc[0]["feature"] in (
        "rainfall_mm",
        "fault_distance_m",
        "lithology",
    )


def test_cli_train_predict_evaluate_explain(table, tmp_path):
    csv = tmp_path / "t.csv"
    table.to_csv(csv, index=False)
    sets = sum((["--set", f"gbm.{k}={v}"] for k, v in FAST.items()), [])
    r = runner.invoke(
        app,
        [
            "tabular",
            "train",
            "--data",
            str(csv),
            "--label",
            "landslide",
            "--id",
            "region_id",
            "--coords",
            "x,y",
            "--cv",
            "spatial",
            "--block-size",
            "2600",
            "-o",
            str(tmp_path / "m"),
            "--json",
            *sets,
        ],
    )
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["gbm"]["mean"]["roc_auc"] > 0.7 and len(res["gbm"]["per_fold"]) == 5 and res["logistic_baseline"]
    # the generated factors act non-linearly (a rainfall threshold, aspect on a circle): the trees follow them
    assert res["gbm"]["mean"]["roc_auc"] > res["logistic_baseline"]["mean"]["roc_auc"] + 0.02
    oof = pd.read_csv(tmp_path / "m" / "oof.csv")
    assert oof["probability"].notna().all() and set(oof["id"]) == set(table["region_id"])
    r = runner.invoke(
        app, ["tabular", "predict", "--model", str(tmp_path / "m"), "--data", str(csv), "-o", str(tmp_path / "p.csv")]
    )
    assert r.exit_code == 0 and len(pd.read_csv(tmp_path / "p.csv")) == 600
    r = runner.invoke(app, ["tabular", "evaluate", "--model", str(tmp_path / "m"), "--data", str(csv), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["roc_auc"] > 0.7
    r = runner.invoke(
        app, ["tabular", "explain", "--model", str(tmp_path / "m"), "--data", str(csv), "-o", str(tmp_path / "x")]
    )
    assert r.exit_code == 0 and (tmp_path / "x" / "shap_beeswarm.png").stat().st_size > 1000


def test_cli_errors(table, tmp_path):
    csv = tmp_path / "t.csv"
    table.to_csv(csv, index=False)
    r = runner.invoke(app, ["tabular", "train", "--data", str(csv), "--label", "slides", "-o", str(tmp_path / "m")])
    assert r.exit_code == 1 and "missing column(s) 'slides'" in r.stderr and not (tmp_path / "m").exists()
    r = runner.invoke(app, ["tabular", "train", "--data", str(tmp_path / "none.csv"), "-o", str(tmp_path / "m")])
    assert r.exit_code == 1 and "file not found" in r.stderr
    r = runner.invoke(app, ["tabular", "train", "--data", str(csv), "--cv", "spatial", "-o", str(tmp_path / "m")])
    assert r.exit_code == 1 and "--coords" in r.stderr


#: scikit-learn checks that fail by design, and why.
BY_DESIGN = {
    "check_estimators_dtypes": (
        "labels must be 0/1 or true/false: the landslide class is never guessed from other names"
    ),
    "check_classifier_data_not_an_array": "labels must be 0/1 or true/false (the check uses 1/2)",
    "check_classifiers_classes": "labels must be 0/1 or true/false (the check uses string class names)",
    "check_fit2d_1feature": "labels must be 0/1 or true/false (the check uses 1/2)",
    "check_classifiers_train": "predict applies the threshold tuned on out-of-fold probabilities, not 0.5",
}


@pytest.mark.parametrize(
    "make",
    [
        lambda: LandslideGBM(n_estimators=20, early_stopping_rounds=5, calibration_folds=2, min_child_samples=2),
        lambda: __import__("landslide_fusion.fusion", fromlist=["StackingFusion"]).StackingFusion(folds=2),
    ],
    ids=["LandslideGBM", "StackingFusion"],
)
def test_check_estimator(make):
    """scikit-learn's estimator checks; the failures expected by design are listed with their reasons."""
    from sklearn.utils.estimator_checks import check_estimator

    est = make()
    expected = dict(BY_DESIGN)
    if isinstance(est, LandslideGBM):
        expected |= {
            "check_class_weight_classifiers": "class_weight is 'balanced' or None (the check passes a dict)",
            "check_dtype_object": "object columns are categorical features, so dicts in them are not an error here",
        }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(est, expected_failed_checks=expected)
