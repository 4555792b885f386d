"""Ablation runner on a tiny generated dataset: 2 cells x 1 epoch, resumed, through the CLI."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from landslide_fusion.cli import app
from landslide_fusion.errors import ConfigError
from landslide_fusion.segmentation.training.ablate import ablation_cells, parse_vary, run_ablation

pytestmark = pytest.mark.usefixtures("one_thread")
runner = CliRunner()
FAST = ["train.epochs=1", "train.batch_size=4", 'post.tta="none"', "train.warmup_epochs=0", "post.tune_threshold=false"]


def test_parse_vary_and_cells(tmp_path):
    assert parse_vary(["model.name=a,b", "model.options.widths=[4, 8],[8, 16]"]) == [
        ("model.name", ["a", "b"]),
        ("model.options.widths", ["[4, 8]", "[8, 16]"]),
    ]
    with pytest.raises(ConfigError, match="expected section.key=value1,value2"):
        parse_vary(["model.name"])
    base = tmp_path / "base.toml"
    base.write_text('[model]\nname = "rau-net-small"\n[model.options]\nattention = "se"\n')
    cells = ablation_cells(base, ["model.name=rau-net-small,segformer-b0", "train.loss=ce,focal+iou"])
    assert [c[0] for c in cells] == [
        "rau-net-small_ce",
        "rau-net-small_focal+iou",
        "segformer-b0_ce",
        "segformer-b0_focal+iou",
    ]
    # varying the model resets options to each model's defaults (the base's belong to its model)
    assert cells[0][2].model.options["attention"] == "mha" and cells[2][2].model.options["decoder"] == 256
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        ablation_cells(base, ["model.name=vnet,nope"])


def test_ablation_trains_tabulates_and_resumes(l4s_root, tmp_path):
    out = tmp_path / "abl"
    vary = ["train.loss=ce,focal+iou"]
    sets = FAST + ['model.name="vnet"', "model.options.base=2"]
    r = run_ablation(None, vary, out, data=l4s_root, overrides=sets, infer_size=32, progress=False)
    assert (r.trained, r.kept) == (2, 0)
    table = pd.read_csv(out / "ablation.csv")
    assert list(table["cell"]) == ["ce", "focal+iou"]
    for col in ("parameters", "f1", "iou", "precision", "recall", "mean_f1", "train_seconds", "infer_patches_per_s"):
        assert col in table and table[col].notna().all(), col
    assert (table["parameters"] > 1000).all() and (table["train_seconds"] > 0).all()
    for cell, seconds in zip(table["cell"], table["train_seconds"]):  # the epochs' seconds, carried over by a resume
        assert seconds == pytest.approx(pd.read_csv(out / "cells" / cell / "history.csv")["seconds"].sum())
    assert (out / "ablation.png").stat().st_size > 1000
    assert "| cell | train.loss | parameters |" in (out / "ablation.md").read_text()
    # resumed: finished cells are kept, through the CLI
    res = runner.invoke(
        app,
        [
            "segment",
            "ablate",
            "--vary",
            vary[0],
            "--data",
            str(l4s_root),
            "-o",
            str(out),
            "--json",
            *sum((["--set", s] for s in sets), []),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert (doc["trained"], doc["kept"]) == (0, 2)
    # a different config for an existing cell is refused, not silently reused
    res = runner.invoke(
        app,
        [
            "segment",
            "ablate",
            "--vary",
            vary[0],
            "--data",
            str(l4s_root),
            "-o",
            str(out),
            *sum((["--set", s] for s in sets), []),
            "--set",
            "train.lr=0.1",
        ],
    )
    assert res.exit_code == 1 and "trained with a different config" in res.output
    # another fold count is refused before any training, not mixed into the table as "mean over 2 folds"
    before = sorted(p.name for p in (out / "cells").iterdir())
    res = runner.invoke(
        app,
        [
            "segment",
            "ablate",
            "--vary",
            vary[0],
            "--data",
            str(l4s_root),
            "-o",
            str(out),
            "--folds",
            "2",
            *sum((["--set", s] for s in sets), []),
        ],
    )
    assert res.exit_code == 1 and "trained with one run each (no --folds), not --folds 2" in res.stderr, res.output
    assert sorted(p.name for p in (out / "cells").iterdir()) == before


def test_models_command_lists_every_model():
    res = runner.invoke(app, ["segment", "models", "--json"])
    assert res.exit_code == 0
    rows = json.loads(res.stdout)
    assert {r["name"] for r in rows} >= {"deeplabv3", "swin-unet", "segformer-b0"}
    assert all(r["parameters"] > 0 and r["description"] for r in rows)


def test_time_budget_stops_training(l4s_root, tmp_path):
    from landslide_fusion.config import load_config
    from landslide_fusion.segmentation import SegmentConfig, train_segmentation

    sets = [
        f'data.root="{l4s_root}"',
        *FAST,
        "train.epochs=5",
        'model.name="vnet"',
        "model.options.base=2",
        "train.max_seconds=1e-6",
    ]
    r = train_segmentation(load_config(SegmentConfig, None, sets), tmp_path / "run", progress=False)
    assert r.epochs_run == 1


def test_budgeted_schedule_follows_the_budget_not_the_epochs(monkeypatch):
    from landslide_fusion.config import load_config
    from landslide_fusion.segmentation import SegmentConfig
    from landslide_fusion.segmentation.training import train as train_module

    cfg = load_config(SegmentConfig, None, ["train.max_seconds=100", "train.epochs=1000", "train.warmup_epochs=0"])
    clock = train_module._Clock(100.0)
    f = train_module._lr_lambda(cfg, steps_per_epoch=10, clock=clock)
    for spent, factor in ((0.0, 1.0), (50.0, 0.5), (100.0, 0.0), (250.0, 0.0)):
        clock.start_epoch(spent)
        monkeypatch.setattr(train_module.time, "time", lambda: clock.started)
        assert f(3) == pytest.approx(factor, abs=1e-9)


def test_paths_are_values_not_toml(tmp_path):
    """--data entered the cells' configs pasted into TOML text: 'x\\u0073' became 'xs' and a quote broke it."""
    for name in ("x\\u0073", 'a"b'):
        odd = tmp_path / name
        cells = ablation_cells(None, ["train.loss=ce"], [], {"data.root": odd})
        assert cells[0][2].data.root == str(odd)
        res = runner.invoke(
            app, ["segment", "ablate", "--vary", "train.loss=ce", "--data", str(odd), "-o", str(tmp_path / "o")]
        )
        assert res.exit_code == 1 and f"{odd}: folder not found" in res.stderr, res.stderr
        assert res.stderr.count("\n") == 1
        assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "vary,cause",
    [
        ("train.lr=0.001,-1", "train.lr = -1.0 must be > 0, e.g. 0.001 (from --vary train.lr=0.001,-1)"),
        ("train.loss=ce,nope", "nope"),
        ("model.options.base=2,0", "model.options.base = 0 must be >= 1, e.g. 7 (from --vary model.options.base=2,0)"),
        ("train.epochs=1,many", "train.epochs: expected an integer, got 'many' (from --vary train.epochs=1,many)"),
    ],
)
def test_every_cell_is_checked_before_the_first_trains(l4s_root, tmp_path, vary, cause):
    sets = FAST + ['model.name="vnet"']
    res = runner.invoke(
        app,
        [
            "segment",
            "ablate",
            "--vary",
            vary,
            "--data",
            str(l4s_root),
            "-o",
            str(tmp_path / "o"),
            *sum((["--set", s] for s in sets), []),
        ],
    )
    assert res.exit_code == 1 and cause in res.stderr and res.stderr.count("\n") == 1, res.stderr
    assert list(tmp_path.iterdir()) == []  # no cell trained, no empty cells/ left


def test_an_existing_folder_that_is_not_an_ablation_is_refused(l4s_root, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.pt").write_text("someone's run")
    args = ["segment", "ablate", "--vary", "train.loss=ce", "--data", str(l4s_root), "-o", str(out)]
    res = runner.invoke(app, args)
    assert res.exit_code == 1 and "is not an ablation folder" in res.stderr and "--overwrite" in res.stderr, res.stderr
    assert [p.name for p in out.iterdir()] == ["model.pt"] and [p.name for p in tmp_path.iterdir()] == ["run"]
