"""Post-processing chosen on validation: threshold, image gate and the prior of landslide-free regions."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from landslide_fusion.cli import app
from landslide_fusion.regions import landslide_mask
from landslide_fusion.segmentation.evaluation.scores import Scores
from landslide_fusion.segmentation.evaluation.metrics import ConfusionMatrix
from landslide_fusion.prior import prior_weight
from landslide_fusion.segmentation.evaluation.tuning import PostSweep


def _images(rng: np.random.Generator, n_landslide: int = 6, n_free: int = 6):
    """Landslide images (a block at 0.55-0.95 over 0-0.3 noise) and landslide-free images whose
    only confident-looking pixels are a weak 0.6 blob: a threshold alone cannot drop the blobs
    without dropping landslide pixels, a gate at 0.8 can."""
    out = []
    for i in range(n_landslide + n_free):
        truth = np.zeros((48, 40), np.uint8)
        prob = rng.uniform(0, 0.3, truth.shape).astype(np.float32)
        if i < n_landslide:
            truth[8:30, 6:26] = 1
            prob[8:30, 6:26] = rng.uniform(0.55, 0.95, (22, 20))
        else:
            prob[30:40, 20:32] = 0.6
        valid = np.ones(truth.shape, bool)
        valid[0, :3] = False  # a few nodata pixels, never scored
        out.append((np.where(valid, prob, np.nan).astype(np.float32), truth, valid))
    return out


def test_sweep_counts_equal_the_masks_as_made(rng=np.random.default_rng(0)):
    images = _images(rng)
    sweep = PostSweep(opening=2, closing=3)
    for prob, truth, valid in images:
        sweep.update(prob, truth, valid)
    for threshold, gate in ((0.5, 0.0), (0.5, 0.8), (0.25, 0.9)):
        direct = Scores()
        for prob, truth, valid in images:
            m = landslide_mask(prob, threshold, 2, 3, valid, gate=gate)[valid] == 1
            t = truth[valid] == 1
            direct.add(ConfusionMatrix().update(torch.from_numpy(m), torch.from_numpy(t)), bool(truth.any()))
        assert sweep.scores(threshold, gate).as_dict() == direct.as_dict()


def test_gate_removes_false_positives_a_threshold_cannot():
    sweep = PostSweep()
    for prob, truth, valid in _images(np.random.default_rng(1)):
        sweep.update(prob, truth, valid)
    plain = sweep.best()
    gated = sweep.best(gates=np.array([0.0, 0.7, 0.8, 0.9]))
    assert plain.gate == 0.0 and gated.gate > gated.threshold
    assert gated.metrics["f1"] > plain.metrics["f1"]
    assert gated.metrics["landslide_free_images"]["false_positive_fraction"] == 0.0
    assert plain.metrics["landslide_free_images"]["false_positive_fraction"] > 0.0 or plain.threshold > 0.6


def test_prior_weight_formula_and_threshold_rises_with_the_share_of_free_images():
    assert prior_weight(0.5, 6, 6) == pytest.approx(1.0)  # the validation mix itself
    assert prior_weight(0.9, 6, 6) == pytest.approx(9.0)
    assert prior_weight(-1, 6, 6) == 1.0 and prior_weight(0.9, 0, 6) == 1.0
    sweep = PostSweep()
    for prob, truth, valid in _images(np.random.default_rng(2)):
        sweep.update(prob, truth, valid)
    chosen = [sweep.best(share).threshold for share in (-1.0, 0.5, 0.9, 0.99)]
    assert chosen == sorted(chosen) and chosen[-1] > chosen[0]
    # the metrics reported are the split's own, whatever the prior the choice was made for
    c = sweep.best(0.99)
    assert c.metrics == {
        **sweep.scores(c.threshold, 0.0).as_dict(),
        "threshold": c.threshold,
        "gate": 0.0,
        "landslide_free_share": 0.99,
        "prior_weight": pytest.approx(99.0),
        "tuned_f1": c.metrics["tuned_f1"],
    }


def test_gate_applies_per_map_and_both_array_kinds():
    p = np.stack([np.full((4, 5), 0.6, np.float32), np.full((4, 5), 0.85, np.float32)])
    m = landslide_mask(p, 0.5, gate=0.8)
    assert m[0].sum() == 0 and m[1].sum() == 20 and m.dtype == np.uint8
    assert torch.equal(landslide_mask(torch.from_numpy(p), 0.5, gate=0.8), torch.from_numpy(m))
    valid = np.ones((4, 5), bool)
    p1 = np.full((4, 5), 0.7, np.float32)
    p1[0, 0], valid[0, 0] = 0.99, False  # an invalid peak does not open the gate
    assert landslide_mask(p1, 0.5, valid=valid, gate=0.8).sum() == 0
    assert landslide_mask(p1, 0.5, valid=valid, gate=0.7).sum() == 19
    with pytest.raises(Exception, match="gate 1.5 is outside"):
        landslide_mask(p, 0.5, gate=1.5)


def test_cli_tune_writes_a_retuned_run_and_keeps_the_source(l4s_root, tmp_path):
    runner = CliRunner()
    run = tmp_path / "run"
    r = runner.invoke(
        app,
        [
            "segment",
            "train",
            "-o",
            str(run),
            "--data",
            str(l4s_root),
            "--set",
            "train.epochs=1",
            "--set",
            "model.widths=[4, 8, 8, 16, 16]",
            "--set",
            'post.tta="none"',
            "--set",
            'features.preset="l4s14"',
        ],
    )
    assert r.exit_code == 0, r.output
    before = (run / "run.json").read_text()
    r = runner.invoke(
        app,
        [
            "segment",
            "tune",
            "--run",
            str(run),
            "--data",
            str(l4s_root),
            "-o",
            str(tmp_path / "t"),
            "--landslide-free-share",
            "0.95",
            "--gate",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    info = json.loads((tmp_path / "t" / "run.json").read_text())
    assert info["metrics"]["landslide_free_share"] == 0.95 and "gate" in info
    assert (run / "run.json").read_text() == before
    assert (tmp_path / "t" / "model.pt").read_bytes() == (run / "model.pt").read_bytes()
    r = runner.invoke(app, ["segment", "evaluate", "--run", str(tmp_path / "t"), "--data", str(l4s_root), "--json"])
    scored = json.loads(r.stdout)
    assert r.exit_code == 0 and scored["gate"] == info["gate"] and scored["f1"] == pytest.approx(info["metrics"]["f1"])
    r = runner.invoke(app, ["segment", "tune", "--run", str(run), "--data", str(l4s_root), "-o", str(tmp_path / "t")])
    assert r.exit_code != 0 and "exists" in r.output


def test_cross_fitted_scores_choose_on_other_folds():
    from landslide_fusion.segmentation.evaluation.tuning import cross_fitted

    sweep = PostSweep()
    for prob, truth, valid in _images(np.random.default_rng(3), 8, 8):
        sweep.update(prob, truth, valid)
    held = cross_fitted(sweep, gates=np.array([0.0, 0.8]), folds=4)
    assert held["folds"] == 4 and held["landslide_images"]["n"] == 8 and held["landslide_free_images"]["n"] == 8
    assert 0.5 < held["f1"] <= 1.0  # the planted signal holds on images the choice never saw
    assert cross_fitted(sweep.subset(np.array([0, 1, 8])), folds=5) is None  # one landslide-free image: no folds


def test_tune_refuses_bad_shares_data_without_landslides_and_an_existing_output_before_predicting(
    l4s_root, tmp_path, monkeypatch
):
    """Issue #24, item 6: every share outside [0, 1) is one line; data with no landslide image cannot
    choose anything; an existing output is refused before a single image is predicted."""
    import h5py

    from landslide_fusion.segmentation.evaluation import tuning
    from landslide_fusion.synth import write_synth_l4s

    runner = CliRunner()
    run = tmp_path / "run"
    sets = ["train.epochs=1", "model.widths=[4, 8, 8, 16, 16]", 'post.tta="none"', 'features.preset="l4s14"']
    r = runner.invoke(
        app, ["segment", "train", "-o", str(run), "--data", str(l4s_root), *[x for s in sets for x in ("--set", s)]]
    )
    assert r.exit_code == 0, r.output
    for bad in ("1.5", "nan", "inf", "1", "-0.2"):
        r = runner.invoke(
            app, ["segment", "tune", "--run", str(run), "-o", str(tmp_path / bad), "--landslide-free-share", bad]
        )
        assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "--landslide-free-share" in r.stderr
        assert "is outside [0, 1)" in r.stderr
        assert not (tmp_path / bad).exists()
    # without --data the run's own sweep is used: nothing is predicted
    monkeypatch.setattr(tuning, "predict_regions", lambda *a, **k: pytest.fail("predicted without --data"))
    r = runner.invoke(
        app, ["segment", "tune", "--run", str(run), "-o", str(tmp_path / "s"), "--landslide-free-share", "0.9"]
    )
    assert r.exit_code == 0, r.output
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("")
    r = runner.invoke(
        app, ["segment", "tune", "--run", str(run), "--data", str(l4s_root), "-o", str(tmp_path / "taken")]
    )
    assert r.exit_code == 1 and "taken" in r.stderr and "already exists" in r.stderr  # refused before predicting
    monkeypatch.undo()
    free = tmp_path / "free"
    write_synth_l4s(free, n=4, size=32, seed=5)
    for f in (free / "mask").glob("*.h5"):  # every patch landslide-free
        with h5py.File(f, "r+") as h:
            h["mask"][...] = 0
    r = runner.invoke(app, ["segment", "tune", "--run", str(run), "--data", str(free), "-o", str(tmp_path / "f")])
    assert r.exit_code == 1 and "none of the 4 labelled images holds a landslide" in r.stderr
    assert not (tmp_path / "f").exists()
