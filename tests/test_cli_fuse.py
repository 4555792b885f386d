"""``landslide fuse``: train, predict, compare, describe through typer's runner."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from landslide_fusion.cli import app
from landslide_fusion.regions import STAT_COLUMNS
from landslide_fusion.synth import synth_fusion_regions
from tests.rfc7946 import assert_rfc7946

runner = CliRunner()


@pytest.fixture(scope="module")
def sides(tmp_path_factory):
    """Image statistics and tabular scores of 200 generated regions, as the pipeline writes them."""
    d = tmp_path_factory.mktemp("fuse")
    df = synth_fusion_regions(200, seed=3)
    df[["id", *STAT_COLUMNS, "label"]].to_csv(d / "image.csv", index=False)
    tab = df[["id", "tabular_probability", "label"]].rename(columns={"tabular_probability": "probability"})
    tab.assign(x=range(200), y=0.0).to_csv(d / "tabular.csv", index=False)
    return d


def _json(r):
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout[r.stdout.index("{") :])


def test_fuse_train_predict_compare(sides, tmp_path):
    img, tab = str(sides / "image.csv"), str(sides / "tabular.csv")
    s = _json(
        runner.invoke(app, ["fuse", "train", "--image", img, "--tabular", tab, "-o", str(tmp_path / "f"), "--json"])
    )
    assert s["regions"] == 200 and s["compare"]["mean"]["fused"]["roc_auc"] > s["compare"]["mean"]["image"]["roc_auc"]
    for name in ("fusion.json", "config.toml", "compare.json", "compare.png", "compare_oof.csv", "disagreements.csv"):
        assert (tmp_path / "f" / name).is_file(), name
    written = json.loads((tmp_path / "f" / "fusion.json").read_text())
    assert written["inputs"]["columns"] == written["estimator"]["params"]["columns"][1:] == s["inputs"]["columns"]
    p = _json(
        runner.invoke(
            app,
            [
                "fuse",
                "predict",
                "--fusion",
                str(tmp_path / "f"),
                "--image",
                img,
                "--tabular",
                tab,
                "-o",
                str(tmp_path / "risk"),
                "--json",
            ],
        )
    )
    risk = pd.read_csv(tmp_path / "risk" / "risk.csv")
    assert list(risk.columns[:4]) == ["id", "risk_score", "risk_class", "decision"] and len(risk) == 200
    assert set(risk["risk_class"]) <= {"low", "moderate", "high", "very high"}
    # one decision per region that agrees with its own risk
    assert not ((risk["decision"] == 1) & (risk["risk_class"] == "low")).any()
    assert not ((risk["decision"] == 0) & (risk["risk_class"] == "very high")).any()
    # one prior for every decision: a sparser mix lowers every risk and never adds a landslide
    sparse = _json(
        runner.invoke(
            app,
            [
                "fuse",
                "predict",
                "--fusion",
                str(tmp_path / "f"),
                "--image",
                img,
                "--tabular",
                tab,
                "-o",
                str(tmp_path / "risk90"),
                "--landslide-free-share",
                "0.9",
                "--json",
            ],
        )
    )
    r90 = pd.read_csv(tmp_path / "risk90" / "risk.csv")
    assert (r90["risk_score"] <= risk["risk_score"] + 1e-12).all() and (r90["decision"] <= risk["decision"]).all()
    assert sparse["decision"]["landslide_free_share"] == 0.9 and p["decision"]["landslide_free_share"] is None
    assert sparse["landslide"] < p["landslide"]
    geo = assert_rfc7946(tmp_path / "risk" / "risk.geojson", lonlat=False)  # x, y of no known CRS
    assert len(geo["features"]) == 200 and geo["features"][0]["geometry"]["type"] == "Point"
    dis = pd.read_csv(tmp_path / "risk" / "disagreements.csv")
    assert len(dis) == p["disagreements"] and (dis["tabular_vote"] != dis["image_vote"]).all()
    c = runner.invoke(
        app, ["fuse", "compare", "--image", img, "--tabular", tab, "-o", str(tmp_path / "c"), "--folds", "3"]
    )
    assert c.exit_code == 0 and "Cohen's kappa" in c.stdout and (tmp_path / "c" / "compare.png").stat().st_size > 1000
    crossed = _json(
        runner.invoke(
            app,
            [
                "fuse",
                "train",
                "--image",
                img,
                "--tabular",
                tab,
                "-o",
                str(tmp_path / "x"),
                "--method",
                "crosscheck",
                "--set",
                'crosscheck.policy="both"',
                "--json",
            ],
        )
    )
    assert crossed["method"] == "crosscheck"


def test_fuse_unmatched_ids_error_then_drop(sides, tmp_path):
    tab = pd.read_csv(sides / "tabular.csv").iloc[5:]
    tab.to_csv(tmp_path / "tab.csv", index=False)
    args = [
        "fuse",
        "train",
        "--image",
        str(sides / "image.csv"),
        "--tabular",
        str(tmp_path / "tab.csv"),
        "-o",
        str(tmp_path / "f"),
    ]
    r = runner.invoke(app, args)
    assert r.exit_code == 1 and "5 only in" in r.stderr and "region_0" in r.stderr and "--on-missing drop" in r.stderr
    assert not (tmp_path / "f").exists()
    r = runner.invoke(app, [*args, "--on-missing", "drop"])
    assert r.exit_code == 0, r.output
    assert pd.read_csv(tmp_path / "f" / "unmatched.csv")["id"].tolist() == [f"region_{i}" for i in range(5)]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.drop(columns=["probability"]), "missing column(s) 'id', 'tabular_probability'"),
        (lambda t: t.assign(probability=t["probability"] * 3), "outside [0, 1]"),
    ],
)
def test_fuse_bad_tabular_side(sides, tmp_path, edit, message):
    tab = edit(pd.read_csv(sides / "tabular.csv"))
    if "tabular_probability" in message:
        tab = tab.drop(columns=["id"])
    tab.to_csv(tmp_path / "tab.csv", index=False)
    r = runner.invoke(
        app,
        [
            "fuse",
            "train",
            "--image",
            str(sides / "image.csv"),
            "--tabular",
            str(tmp_path / "tab.csv"),
            "-o",
            str(tmp_path / "f"),
        ],
    )
    assert r.exit_code == 1 and message in r.stderr and str(tmp_path / "tab.csv") in r.stderr


def test_fuse_predict_keeps_existing_output(sides, tmp_path):
    img, tab = str(sides / "image.csv"), str(sides / "tabular.csv")
    assert (
        runner.invoke(app, ["fuse", "train", "--image", img, "--tabular", tab, "-o", str(tmp_path / "f")]).exit_code
        == 0
    )
    (tmp_path / "risk").mkdir()
    (tmp_path / "risk" / "keep.txt").write_text("mine")
    r = runner.invoke(
        app,
        [
            "fuse",
            "predict",
            "--fusion",
            str(tmp_path / "f"),
            "--image",
            img,
            "--tabular",
            tab,
            "-o",
            str(tmp_path / "risk"),
        ],
    )
    assert r.exit_code == 1 and "--overwrite" in r.stderr and (tmp_path / "risk" / "keep.txt").read_text() == "mine"
    r = runner.invoke(
        app,
        [
            "fuse",
            "predict",
            "--fusion",
            str(tmp_path / "nope"),
            "--image",
            img,
            "--tabular",
            tab,
            "-o",
            str(tmp_path / "r2"),
        ],
    )
    assert r.exit_code == 1 and "not a fusion folder" in r.stderr


def test_fuse_describe(folder_root, tmp_path):
    out = tmp_path / "desc.csv"
    s = _json(runner.invoke(app, ["fuse", "describe", str(folder_root), "-o", str(out), "--json"]))
    t = pd.read_csv(out)
    assert s["regions"] == len(t) == 10 and "grvi_mean" in t.columns and set(t["landslide"]) <= {0, 1}
