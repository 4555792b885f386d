"""The README quickstart, walked as a user walks it, on tiny generated data.

data synth (training area + a new area + a scene) -> segment train --folds 2 (out-of-fold
statistics) and segment train (the full run, same config and data) -> tabular train -> fuse train
-> segment predict + tabular predict on the new area -> fuse predict, and fuse score; the scene
steps (segment predict on the scene, fuse score over its region polygons). Checked: the fusion
records where its inputs came from and accepts the full run, refuses another run in one line
(and warns with --allow-mismatch), the fused decisions are not degenerate, the pictures exist
and are readable, and risk.geojson is WGS 84. Sizes are tiny (32 px, 1 epoch) to keep it fast.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from landslide_fusion.cli import app
from landslide_fusion.io.geojson import NOTE_MEMBER
from tests.rfc7946 import assert_rfc7946

runner = CliRunner()
TINY = [
    "model.widths=[4, 8, 8, 16, 16]",
    "train.batch_size=8",
    'post.tta="none"',
    "train.warmup_epochs=0",
    "train.epochs=1",
]
SETS = sum((["--set", s] for s in TINY), [])
TAB = [
    "--label",
    "landslide",
    "--id",
    "region_id",
    "--coords",
    "x,y",
    "--cv",
    "stratified",
    "--set",
    "gbm.n_estimators=60",
    "--set",
    "gbm.early_stopping_rounds=20",
    "--set",
    "cv.folds=3",
]


def plant_signal(table, seed: int) -> None:
    """Add a ``susceptibility`` column = label + N(0, 0.35): a learnable tabular signal, so the
    fused decisions can be checked for sense while the 1-epoch segmentation runs are mostly noise
    (a region table, or the properties of a region GeoJSON)."""
    noise = np.random.default_rng(seed).normal(0, 0.35, 10_000)
    if table.suffix == ".geojson":
        doc = json.loads(table.read_text())
        for f, e in zip(doc["features"], noise):
            f["properties"]["susceptibility"] = f["properties"]["landslide"] + e
        table.write_text(json.dumps(doc))
        return
    df = pd.read_csv(table)
    df["susceptibility"] = df["landslide"] + noise[: len(df)]
    df.to_csv(table, index=False)


def ok(args: list[str]) -> dict:
    r = runner.invoke(app, [*map(str, args), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout[r.stdout.index("{") :]) if "{" in r.stdout else {}


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """Every step of the quickstart up to the fusion folder (module-scoped: built once)."""
    d = tmp_path_factory.mktemp("quickstart")
    ok(["data", "synth", d / "synth", "--n", "40", "--size", "32"])
    ok(["data", "synth", d / "new", "--n", "16", "--size", "32", "--seed", "7"])
    ok(["data", "synth", d / "area", "--layout", "scene", "--n", "4", "--size", "32", "--seed", "2"])
    plant_signal(d / "synth" / "regions.csv", 0)
    plant_signal(d / "new" / "regions.csv", 1)
    plant_signal(d / "area" / "regions.geojson", 2)
    seg = ["-c", "configs/rau-net-small.toml", "--data", d / "synth", *SETS]
    ok(["segment", "train", *seg, "--folds", "2", "-o", d / "seg"])  # k-fold + the run used for prediction
    ok(["tabular", "train", "--data", d / "synth" / "regions.csv", *TAB, "-o", d / "tab"])
    ok(
        [
            "fuse",
            "train",
            "--image",
            d / "seg" / "oof_stats.csv",
            "--tabular",
            d / "tab" / "oof.csv",
            "--folds",
            "3",
            "--set",
            "stacking.folds=3",
            "-o",
            d / "fusion",
        ]
    )
    return d


def test_fusion_records_its_sources(chain):
    prov = json.loads((chain / "fusion" / "provenance.json").read_text())
    assert prov["image"]["kind"] == "kfold" and len(prov["image"]["models"]) == 2
    assert prov["image"]["path"] == str((chain / "seg").resolve())
    assert prov["tabular"]["kind"] == "tabular" and len(prov["tabular"]["model_sha256"]) == 64
    # the component filter looked at every k-fold image's out-of-fold map
    areas = json.loads((chain / "fusion" / "fusion.json").read_text())["component_filter"]
    assert areas["images"] == 40 and areas["areas"] > 0 and areas["cut"] in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def test_quickstart_predict_and_score_on_a_new_area(chain):
    d = chain
    ok(["segment", "predict", "--run", d / "seg", "-i", d / "new", "-o", d / "pred"])
    ok(["tabular", "predict", "--model", d / "tab", "--data", d / "new" / "regions.csv", "-o", d / "scores.csv"])
    assert (d / "scores.provenance.json").is_file()
    p = ok(
        [
            "fuse",
            "predict",
            "--fusion",
            d / "fusion",
            "--image",
            d / "pred" / "predictions.csv",
            "--tabular",
            d / "scores.csv",
            "-o",
            d / "risk",
        ]
    )
    s = ok(
        [
            "fuse",
            "score",
            "--fusion",
            d / "fusion",
            "--run",
            d / "seg",
            "--tabular",
            d / "tab",
            "--data",
            d / "new",
            "--table",
            d / "new" / "regions.csv",
            "-o",
            d / "risk-score",
        ]
    )
    for r in (p, s):
        assert r["regions"] == 16 and not [w for w in r["warnings"] if "provenance" in w or "come from" in w], r
        assert (d / "risk" / "provenance.json").is_file()
    risk = pd.read_csv(d / "risk" / "risk.csv")
    assert np.isfinite(risk["risk_score"]).all() and risk["risk_score"].between(0, 1).all()
    assert risk["risk_score"].min() > 1e-6 and risk["risk_score"].max() < 1 - 1e-6  # no 1e-33 from extrapolation
    truth = pd.read_csv(d / "new" / "regions.csv").set_index("region_id")["landslide"].reindex(risk["id"]).to_numpy()
    assert 0 < risk["decision"].sum() < len(risk) and risk["risk_class"].nunique() > 1  # not degenerate
    assert (risk["decision"].to_numpy() == truth).mean() >= 0.7  # and sensible: the planted signal comes through
    # one decision per region that agrees with its own risk, and one tabular threshold everywhere
    assert not (risk["decision"].eq(0) & risk["risk_class"].isin(["high", "very high"])).any()
    assert not (risk["decision"].eq(1) & risk["risk_class"].eq("low")).any()
    scores = pd.read_csv(d / "scores.csv").set_index("id")["decision"]
    assert (risk.set_index("id")["tabular_vote"] == scores.reindex(risk["id"]).to_numpy()).all()
    # the fused masks: a region's mask is kept only where the fused decision confirms it
    fused = pd.read_csv(d / "risk-score" / "risk.csv").set_index("region_id")
    for rid, row in fused.iterrows():
        mask = np.asarray(Image.open(d / "risk-score" / "masks" / f"{rid}.png"))
        assert row["decision"] == 1 or not mask.any()
    both = risk.set_index("id")["risk_score"].sort_index()
    scored = pd.read_csv(d / "risk-score" / "risk.csv").set_index("region_id")["risk_score"].sort_index()  # its own id
    assert np.allclose(both.to_numpy(), scored.to_numpy(), atol=1e-6)  # both routes give the same map
    # the synthetic regions' x/y are map units of no known CRS: the file says so instead of posing as lon/lat
    geo = assert_rfc7946(d / "risk" / "risk.geojson", lonlat=False)
    assert len(geo["features"]) == 16 and "crs" not in geo and "unknown CRS" in geo[NOTE_MEMBER]
    assert any("unknown CRS" in w for w in p["warnings"])


def test_quickstart_scene_steps(chain):
    """The README's scene steps as written: a generated georeferenced scene, predicted with no band
    map (its band descriptions are the l4s14 names), and mapped over its region polygons; every
    GeoJSON is strict RFC 7946. A scene that does not exist is a missing file, not a folder."""
    d = chain
    r = ok(["segment", "predict", "--run", d / "seg", "-i", d / "area" / "scene.tif", "-o", d / "scene"])
    assert r["kind"] == "scene" and (r["width"], r["height"]) == (64, 64)
    assert_rfc7946(d / "scene" / "landslides.geojson")
    ok(
        [
            "fuse",
            "score",
            "--fusion",
            d / "fusion",
            "--run",
            d / "seg",
            "--tabular",
            d / "tab",
            "--scene",
            d / "area" / "scene.tif",
            "--regions",
            d / "area" / "regions.geojson",
            "-o",
            d / "map-risk",
        ]
    )
    assert_rfc7946(d / "area" / "regions.geojson")
    geo = assert_rfc7946(d / "map-risk" / "risk.geojson")
    assert len(geo["features"]) == 4
    lon, lat = np.asarray(geo["features"][0]["geometry"]["coordinates"][0]).T
    assert (abs(lon - 91.76) < 0.05).all() and (abs(lat - 22.39) < 0.05).all()  # UTM 46N near Rangamati
    r = runner.invoke(
        app, ["segment", "predict", "--run", str(d / "seg"), "-i", str(d / "scene.tif"), "-o", str(d / "x")]
    )
    assert r.exit_code == 1 and "scene.tif: file not found" in r.stderr and not (d / "x").exists()


def test_inputs_from_another_run_are_refused_then_allowed(chain, tmp_path):
    d = chain
    other = tmp_path / "other"
    ok(["segment", "train", "-c", "configs/rau-net-small.toml", "--data", d / "new", *SETS, "-o", other])
    args = [
        "fuse",
        "score",
        "--fusion",
        d / "fusion",
        "--run",
        other,
        "--tabular",
        d / "tab",
        "--data",
        d / "new",
        "--table",
        d / "new" / "regions.csv",
    ]
    r = runner.invoke(app, [*map(str, args), "-o", str(tmp_path / "refused")])
    assert (
        r.exit_code == 1
        and r.stderr.count("\n") == 1
        and str(other.resolve()) in r.stderr
        and str((d / "seg").resolve()) in r.stderr
    )
    assert not (tmp_path / "refused").exists()
    w = ok([*args, "-o", tmp_path / "allowed", "--allow-mismatch"])
    assert any(str(other.resolve()) in x for x in w["warnings"])


def test_pictures_are_readable(chain):
    for png in (chain / "seg" / "fold_1" / "curves.png", chain / "fusion" / "compare.png"):
        with Image.open(png) as im:
            assert im.size[0] > 400 and im.size[1] > 200
            assert len(np.unique(np.asarray(im.convert("L")))) > 10  # not blank


def test_tabular_warnings_of_quiet_mistakes(chain, tmp_path):
    d = chain
    r = ok(
        [
            "tabular",
            "train",
            "--data",
            d / "synth" / "regions.csv",
            "--label",
            "landslide",
            "--cv",
            "stratified",
            "--set",
            "gbm.n_estimators=30",
            "--set",
            "cv.folds=3",
            "-o",
            tmp_path / "noid",
        ]
    )
    text = " ".join(r["warnings"])
    assert "region_id" in text and "--id" in text and "x, y" in text
    e = ok(["tabular", "evaluate", "--model", d / "tab", "--data", d / "synth" / "regions.csv"])
    assert e["in_sample"] and "in-sample" in e["warnings"][0]
    e2 = ok(["tabular", "evaluate", "--model", d / "tab", "--data", d / "new" / "regions.csv"])
    assert not e2["in_sample"] and not e2["warnings"]


def test_a_table_given_as_a_folder_names_the_table_commands(chain):
    r = runner.invoke(
        app,
        [
            "segment",
            "predict",
            "--run",
            str(chain / "seg"),
            "-i",
            str(chain / "synth" / "regions.csv"),
            "-o",
            str(chain / "x"),
        ],
    )
    assert r.exit_code == 1 and "tabular train|predict" in r.stderr


def test_help_shows_no_bool_after_flags():
    r = runner.invoke(app, ["tabular", "train", "--help"], env={"COLUMNS": "160"})
    assert r.exit_code == 0 and "<bool>" not in r.stdout and "train.epochs" not in r.stdout
