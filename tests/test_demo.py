import json

from typer.testing import CliRunner

from landslide_fusion.cli import app


def test_demo_runs_whole_pipeline(tmp_path):
    out = tmp_path / "demo"
    r = CliRunner().invoke(app, ["demo", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout[r.stdout.index("{"):])
    assert s["segmentation"]["f1"] > 0.5 and s["tabular"]["gbm"]["roc_auc"] > 0.6
    for p in ("data/regions.csv", "segmentation/model.pt", "tabular/model.txt", "tabular/explain/shap_bar.png", "summary.json"):
        assert (out / p).exists(), p
    r = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert r.exit_code == 1 and "--overwrite" in r.stderr
