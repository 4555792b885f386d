"""Fusion provenance compares what changes the image side's numbers: the weights or the recipe,
the training data (by content, not by path) and the threshold and gate the statistics were made
with (issue #24, items 1 and 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from landslide_fusion.config import load_config
from landslide_fusion.fusion.provenance import PROVENANCE_FILE, ProvenanceError, check_sources, image_source
from landslide_fusion.io.atomic import write_json
from landslide_fusion.segmentation import SegmentConfig, train_segmentation
from landslide_fusion.synth import write_synth_l4s

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = [
    "train.epochs=1",
    "train.batch_size=4",
    'post.tta="none"',
    "train.warmup_epochs=0",
    "post.tune_threshold=false",
    'model.name="vnet"',
    "model.options.base=2",
    'features.preset="l4s14"',
]


def _train(data: Path, out: Path) -> Path:
    train_segmentation(load_config(SegmentConfig, None, TINY, {"data.root": data}), out, progress=False)
    return out


def _fusion(folder: Path, image: str | Path) -> Path:
    """A fusion folder's provenance record, as 'fuse train' writes it for image inputs from ``image``."""
    write_json(folder / PROVENANCE_FILE, {"image": image_source(image), "tabular": None})
    return folder


def _edit_run_json(run: Path, **changes: float) -> None:
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps(info | changes))


@pytest.fixture(scope="module")
def data_and_run(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("prov")
    write_synth_l4s(d / "data", n=10, size=32, seed=1)
    return d / "data", _train(d / "data", d / "run")


def test_a_retuned_run_is_refused_naming_both_thresholds(data_and_run, tmp_path):
    _, run = data_and_run
    fusion = _fusion(tmp_path / "fusion", run)
    assert check_sources(fusion, image_source(run), None) == []
    for changes in ({"threshold": 0.35}, {"gate": 0.6}):  # what 'segment tune -o' writes: the same weights, retuned
        retuned = tmp_path / f"retuned-{next(iter(changes))}"
        shutil.copytree(run, retuned)
        _edit_run_json(retuned, **changes)
        with pytest.raises(ProvenanceError, match=r"statistics made at threshold .* the fusion's at threshold") as e:
            check_sources(fusion, image_source(retuned), None)
        assert str(retuned.resolve()) in str(e.value) and "\n" not in str(e.value)
        notes = check_sources(fusion, image_source(retuned), None, allow_mismatch=True)
        assert len(notes) == 1 and "retuned run" in notes[0]


def test_a_prediction_table_keeps_the_threshold_it_was_made_with(data_and_run, tmp_path):
    from landslide_fusion.segmentation.outputs import predict_dataset

    data, run = data_and_run
    mine = tmp_path / "run"
    shutil.copytree(run, mine)
    predict_dataset(mine, data, tmp_path / "pred")
    fusion = _fusion(tmp_path / "fusion", tmp_path / "pred" / "predictions.csv")
    _edit_run_json(mine, threshold=0.2)  # retuned after the table was made: the table is still good
    assert check_sources(fusion, image_source(tmp_path / "pred" / "predictions.csv"), None) == []
    with pytest.raises(ProvenanceError, match="threshold 0.2 and gate 0"):  # the run itself now makes other numbers
        check_sources(fusion, image_source(mine), None)


def test_regenerated_data_behind_the_same_path_is_refused(tmp_path):
    data = tmp_path / "data"
    write_synth_l4s(data, n=10, size=32, seed=1)
    first = _train(data, tmp_path / "first")
    fusion = _fusion(tmp_path / "fusion", first)
    assert len(image_source(first)["data_sha256"]) == 64
    write_synth_l4s(data, n=10, size=32, seed=2, overwrite=True)  # same path, same config, other patches
    other = _train(data, tmp_path / "other")
    with pytest.raises(ProvenanceError, match="the same config but other training data"):
        check_sources(fusion, image_source(other), None)
    write_synth_l4s(data, n=10, size=32, seed=1, overwrite=True)  # the same patches again: the same data
    again = _train(data, tmp_path / "again")
    assert image_source(again)["data_sha256"] == image_source(first)["data_sha256"]
    assert check_sources(fusion, image_source(again), None) == []


def test_a_kfold_compares_its_root_runs_threshold_and_gate(data_and_run, tmp_path):
    """A k-fold folder that holds a run at its root (the full-data refit): its run.json's threshold
    and gate made oof_stats.csv, so they are the fusion's; the refit's weights are accepted."""
    from landslide_fusion.fusion.provenance import kfold_fingerprint

    _, run = data_and_run
    kfold = tmp_path / "kfold"
    for sub in ("fold_1", "fold_2"):
        shutil.copytree(run, kfold / sub)
    _edit_run_json(kfold / "fold_2", threshold=0.7)  # a fold keeps its own threshold
    for name in ("model.pt", "run.json", "config.toml"):
        shutil.copy(run / name, kfold / name)
    (kfold / "cv.json").write_text("{}")
    (kfold / "oof_stats.csv").write_text("id\n")
    rec = kfold_fingerprint(kfold)
    assert rec["threshold"] == json.loads((run / "run.json").read_text())["threshold"] and rec["gate"] == 0.0
    fusion = _fusion(tmp_path / "fusion", kfold / "oof_stats.csv")
    assert check_sources(fusion, image_source(kfold), None) == []  # the refit at the root, as fuse score --run takes it
    _edit_run_json(kfold, gate=0.5)
    with pytest.raises(ProvenanceError, match="gate 0.5"):
        check_sources(fusion, image_source(kfold), None)
