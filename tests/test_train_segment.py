import json
import subprocess

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from landslide_fusion.cli import app
from landslide_fusion.config import load_config
from landslide_fusion.errors import OutputExistsError
from landslide_fusion.segmentation import SegmentationRun, SegmentConfig, train_segmentation
from landslide_fusion.segmentation.evaluation.tuning import PostSweep
from landslide_fusion.synth import write_synth_l4s

runner = CliRunner()
TINY = ["model.widths=[4, 8, 8, 16, 16]", "train.batch_size=4", 'post.tta="none"', "train.warmup_epochs=0"]


def _cfg(root, *extra):
    return load_config(SegmentConfig, None, [f'data.root="{root}"', *TINY, *extra])


def test_train_writes_complete_run_and_reloads(l4s_root, tmp_path):
    out = tmp_path / "run"
    r = train_segmentation(_cfg(l4s_root, "train.epochs=2"), out, progress=False)
    assert sorted(p.name for p in out.iterdir()) == [
        "band_stats.json",
        "config.toml",
        "curves.png",
        "history.csv",
        "metrics.json",
        "model.pt",
        "run.json",
        "sweep.csv",
    ]
    run = SegmentationRun.load(out)
    assert run.threshold == r.threshold and len(run.info["out_bands"]) == 23
    x = torch.rand(2, 14, 32, 32) + 0.5
    assert run.predict_proba(x).shape == (2, 32, 32) and run.predict_proba(x, tta="d4").dtype == torch.float32
    with pytest.raises(OutputExistsError):
        train_segmentation(_cfg(l4s_root, "train.epochs=1"), out, progress=False)
    assert not list(tmp_path.glob(".run*"))


def test_resume_continues_from_checkpoint(l4s_root, tmp_path, monkeypatch):
    import landslide_fusion.segmentation.training.train as T

    cfg = _cfg(l4s_root, "train.epochs=3")
    calls = {"n": 0}
    real = T._validate

    def crash_on_third(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(T, "_validate", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        train_segmentation(cfg, tmp_path / "run", progress=False)
    partial = list(tmp_path.glob(".run.partial-*"))
    assert not (tmp_path / "run").exists() and len(partial) == 1 and (partial[0] / "last.pt").exists()
    monkeypatch.setattr(T, "_validate", real)
    r = train_segmentation(cfg, tmp_path / "run", resume=True, progress=False)
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert r.epochs_run == 3 and len(history) == 4
    assert not list(tmp_path.glob(".run*"))


def test_kfold_chooses_out_of_fold_and_predicts_with_its_fold_models_averaged(l4s_root, tmp_path):
    r = train_segmentation(
        _cfg(l4s_root, "train.epochs=1", "post.tune_gate=true", "post.landslide_free_share=0.8"),
        tmp_path / "cv",
        folds=2,
        progress=False,
    )
    cv = json.loads((tmp_path / "cv" / "cv.json").read_text())
    assert cv["folds"] == 2 and len(cv["per_fold"]) == 2 and "f1" in cv["std"]
    assert (tmp_path / "cv" / "fold_1" / "model.pt").exists()
    oof = pd.read_csv(tmp_path / "cv" / "oof_stats.csv", dtype={"id": str})
    assert len(oof) == 12 and set(oof["fold"]) == {1, 2} and {"id", "label", "max_probability"} <= set(oof.columns)
    # the root is the run used for prediction: the fold models averaged, post chosen on the out-of-fold sweep
    run = SegmentationRun.load(tmp_path / "cv")
    sweep = PostSweep.load(tmp_path / "cv" / "sweep.csv")
    assert sorted(sweep.ids) == sorted(oof["id"]) and run.info["ensemble"]["members"] == 2
    folds = [SegmentationRun.load(tmp_path / "cv" / f"fold_{k}") for k in (1, 2)]
    x = torch.rand(2, 14, 32, 32) + 0.5
    mean = (folds[0].predict_proba(x) + folds[1].predict_proba(x)) / 2  # the members' probabilities averaged
    assert torch.allclose(run.predict_proba(x), mean, atol=1e-5)
    assert [m.path for m in run.members] == [run.path, run.path] and not folds[0].members
    from landslide_fusion.errors import ConfigError
    from landslide_fusion.segmentation.inference.export import export_onnx

    with pytest.raises(ConfigError, match="train.final"):  # the gate reads each member's map
        export_onnx(tmp_path / "cv", tmp_path / "m.onnx")
    assert (run.threshold, run.gate) == (cv["threshold"], cv["gate"]) == (r.threshold, cv["out_of_fold"]["gate"])
    assert cv["out_of_fold"]["cross_fitted"]["landslide_free_share"] == 0.8
    # the out-of-fold statistics are made with that threshold and gate: an image below the gate has none
    below = oof["max_probability"] < run.gate
    assert (oof.loc[below, "landslide_fraction"] == 0).all()


def test_kfold_can_refit_one_model_on_every_image(l4s_root, tmp_path):
    r = train_segmentation(
        _cfg(l4s_root, "train.epochs=1", 'train.final="refit"'), tmp_path / "cv", folds=2, progress=False
    )
    run = SegmentationRun.load(tmp_path / "cv")
    assert run.info["refit"]["images"] == 12 and "ensemble" not in run.info and run.threshold == r.threshold
    assert run.predict_proba(torch.rand(1, 14, 32, 32) + 0.5).shape == (1, 32, 32)


def test_kfold_pools_the_training_and_validation_splits(tmp_path):
    from landslide_fusion.synth import write_synth_folder

    root = tmp_path / "d"
    write_synth_folder(root, n=12, size=32, seed=1)  # splits/train.txt and splits/val.txt: 80/20
    cfg = load_config(
        SegmentConfig,
        None,
        [
            f'data.root="{root}"',
            'data.train_split="train"',
            'data.val_split="val"',
            'features.source="rgb"',
            'features.preset="rgb9"',
            "data.size=32",
            *TINY,
            "train.epochs=1",
        ],
    )
    train_segmentation(cfg, tmp_path / "cv", folds=2, refit=False, progress=False)
    oof = pd.read_csv(tmp_path / "cv" / "oof_stats.csv")
    assert len(oof) == 12 and not (tmp_path / "cv" / "model.pt").exists()


def test_kfold_killed_mid_fold_resumes_to_the_uninterrupted_result(l4s_root, tmp_path):
    from tests.conftest import cli_command, cli_env, debris

    args = [
        "segment",
        "train",
        "--data",
        str(l4s_root),
        *[a for t in TINY for a in ("--set", t)],
        "--set",
        "train.epochs=3",
        "--folds",
        "2",
        "--set",
        "train.threads=1",
    ]
    whole = tmp_path / "whole"
    subprocess.run(cli_command([*args, "-o", str(whole)]), env=cli_env(), check=True, capture_output=True)
    out = tmp_path / "killed"
    proc = subprocess.Popen(cli_command([*args, "-o", str(out)]), env=cli_env(), stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # fold 1 done, fold 2 one epoch in: kill
        if "fold 2/2" in line:
            break
    for line in proc.stderr:
        if "epoch   1/3" in line:
            proc.kill()
            break
    proc.wait()
    assert not out.exists() and any(tmp_path.glob(".killed.partial*/fold_1/model.pt"))
    subprocess.run(cli_command([*args, "-o", str(out), "--resume"]), env=cli_env(), check=True, capture_output=True)
    for name in ("oof_stats.csv", "sweep.csv", "fold_2/history.csv"):
        a, b = pd.read_csv(whole / name), pd.read_csv(out / name)
        pd.testing.assert_frame_equal(
            a.drop(columns=["seconds", "patches_per_s"], errors="ignore"),
            b.drop(columns=["seconds", "patches_per_s"], errors="ignore"),
        )
    for name in ("model.pt", "fold_1/model.pt", "fold_2/model.pt"):
        wa, wb = torch.load(whole / name, weights_only=True), torch.load(out / name, weights_only=True)
        assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert debris(tmp_path) == []


def test_learns_planted_signal(tmp_path):
    root = tmp_path / "d"
    write_synth_l4s(root, n=64, size=48, seed=3)
    cfg = load_config(
        SegmentConfig,
        None,
        [
            f'data.root="{root}"',
            "train.epochs=10",
            "train.lr=3e-3",
            "train.batch_size=8",
            'post.tta="none"',
            'features.preset="l4s21"',
        ],
    )
    r = train_segmentation(cfg, tmp_path / "run", progress=False)
    assert r.metrics["f1"] > 0.5, r.metrics


def test_cli_train_evaluate_predict(l4s_root, tmp_path):
    sets = sum((["--set", s] for s in TINY + ["train.epochs=1"]), [])
    r = runner.invoke(app, ["segment", "train", "--data", str(l4s_root), "-o", str(tmp_path / "run"), "--json", *sets])
    assert r.exit_code == 0, r.output
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert json.loads(r.stdout)["f1"] == written["f1"]  # the figure printed is the one the run keeps
    r = runner.invoke(app, ["segment", "evaluate", "--run", str(tmp_path / "run"), "--data", str(l4s_root), "--json"])
    m = json.loads(r.stdout)
    assert (
        r.exit_code == 0 and m["n_images"] == 12 and {"f1", "iou", "miou", "mean_f1", "landslide_free_images"} <= set(m)
    )
    r = runner.invoke(
        app, ["segment", "predict", "--run", str(tmp_path / "run"), "-i", str(l4s_root), "-o", str(tmp_path / "p")]
    )
    assert r.exit_code == 0 and len(list((tmp_path / "p" / "masks").iterdir())) == 12
    r = runner.invoke(app, ["segment", "models", "--json"])
    assert [m["name"] for m in json.loads(r.stdout)][:3] == ["unet", "rau-net", "rau-net-small"]  # then the model zoo


def test_cli_bad_inputs(l4s_root, folder_root, tmp_path):
    r = runner.invoke(app, ["segment", "train", "-o", str(tmp_path / "x")])
    assert r.exit_code == 1 and "data.root is empty" in r.stderr
    r = runner.invoke(
        app, ["segment", "train", "-o", str(tmp_path / "x"), "--data", str(l4s_root), "--set", "train.optimiser=sgd"]
    )
    assert r.exit_code == 1 and "--set train.optimiser=sgd: unknown key 'optimiser'" in r.stderr
    r = runner.invoke(app, ["segment", "evaluate", "--run", str(tmp_path), "--data", str(l4s_root)])
    assert r.exit_code == 1 and "not a segmentation run" in r.stderr
    r = runner.invoke(app, ["segment", "train", "-o", str(tmp_path / "x"), "--data", str(folder_root)])
    assert r.exit_code == 1 and "error:" in r.stderr
    assert not (tmp_path / "x").exists()


def test_ddp_two_cpu_processes_on_gloo(l4s_root, tmp_path):
    """The training loop runs unchanged under torchrun: 2 CPU processes, gloo backend."""
    import os
    import subprocess
    import sys

    sets = sum((["--set", s] for s in TINY + ["train.epochs=2"]), [])
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "landslide_fusion.cli",
        "segment",
        "train",
        "--data",
        str(l4s_root),
        "-o",
        str(tmp_path / "run"),
        *sets,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["world_size"] == 2 and info["epochs_run"] == 2
    assert SegmentationRun.load(tmp_path / "run").predict_proba(torch.rand(1, 14, 32, 32) + 0.5).shape == (1, 32, 32)
    assert not list(tmp_path.glob(".run*"))
