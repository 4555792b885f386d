import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from landslide_fusion.cli import app
from tests.rfc7946 import assert_rfc7946

runner = CliRunner()
# the demo trains real (small) models for minutes: slow; tests/test_quickstart.py walks the same chain on tiny data
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo"
    r = runner.invoke(app, ["demo", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    return out, json.loads(r.stdout[r.stdout.index("{") :])


def test_demo_runs_whole_pipeline(demo):
    out, s = demo
    assert s["segmentation"]["f1"] > 0.5 and s["tabular"]["gbm"]["roc_auc"] >= s["tabular"]["logistic"]["roc_auc"]
    f = {k: v["roc_auc"] for k, v in s["fusion"]["mean"].items()}
    assert min(f["tabular"], f["image"]) > 0.7 and max(f.values()) < 0.97  # each view informative and imperfect
    assert f["fused"] > max(f["tabular"], f["image"]) + 0.03  # and fusing them is worth it
    for p in (
        "data/regions.csv",
        "segmentation/fold_1/model.pt",
        "segmentation/oof_stats.csv",
        "tabular/model.txt",
        "tabular/explain/shap_bar.png",
        "fusion/compare.png",
        "fusion/disagreements.csv",
        "risk/risk.csv",
        "risk/risk.geojson",
        "summary.json",
    ):
        assert (out / p).exists(), p
    assert_rfc7946(out / "risk" / "risk.geojson", lonlat=False)  # x, y of no known CRS
    oof = pd.read_csv(out / "segmentation" / "oof_stats.csv")
    assert len(oof) == 200 and set(oof["fold"]) == {1, 2}
    r = runner.invoke(app, ["demo", "--out", str(out)])
    assert r.exit_code == 1 and "--overwrite" in r.stderr


def test_fuse_score_end_to_end(demo, tmp_path):
    out, _ = demo
    r = runner.invoke(
        app,
        [
            "fuse",
            "score",
            "--fusion",
            str(out / "fusion"),
            "--run",
            str(out / "segmentation" / "fold_1"),
            "--tabular",
            str(out / "tabular"),
            "--data",
            str(out / "data"),
            "--table",
            str(out / "data" / "regions.csv"),
            "-o",
            str(tmp_path / "score"),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    risk = pd.read_csv(tmp_path / "score" / "risk.csv")
    assert len(risk) == 200 and {"risk_score", "risk_class", "tabular_vote", "image_vote"} <= set(risk.columns)
