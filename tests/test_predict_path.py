"""One path from pixels to regions: a patch, an image and a scene are predicted the same way, and
the out-of-fold statistics a stacker learns from equal what 'segment predict' writes; inputs on
another declared scale are converted on the way in, or refused."""

import numpy as np
import pandas as pd
import pytest
import rasterio
from typer.testing import CliRunner

from landslide_fusion.bands import L4S14
from landslide_fusion.cli import app
from landslide_fusion.config import load_config
from landslide_fusion.domains import Domain, convert
from landslide_fusion.io.open import open_dataset
from landslide_fusion.io.raster import write_geotiff
from landslide_fusion.io.sample import GeoInfo
from landslide_fusion.regions import STAT_COLUMNS, landslide_mask
from landslide_fusion.segmentation import SegmentationRun, SegmentConfig, train_segmentation
from landslide_fusion.segmentation.inference import scene as scene_module
from landslide_fusion.segmentation.evaluation.evaluate import evaluate_run
from landslide_fusion.segmentation.outputs import predict_input
from landslide_fusion.segmentation.inference.predict import predict_array, predict_region
from landslide_fusion.synth import synth_patch

TINY = [
    "model.widths=[4, 8, 8, 16, 16]",
    "train.batch_size=4",
    'post.tta="none"',
    "train.warmup_epochs=0",
    "train.epochs=1",
    'features.preset="l4s14"',
    "scene.window=32",
    "post.tune_threshold=false",
    "post.threshold=0.45",
    "post.opening=2",
    "post.closing=3",
]
GEO = GeoInfo("EPSG:32633", (10.0, 0.0, 500000.0, 0.0, -10.0, 4100000.0))
L4S = Domain("l4s14", "l4s")


@pytest.fixture(scope="module")
def kfold(l4s_root, tmp_path_factory):
    """A 2-fold run (tiny network, window 32, morphology on) over the 12 generated patches."""
    out = tmp_path_factory.mktemp("predict_path") / "cv"
    cfg = load_config(SegmentConfig, None, [f'data.root="{l4s_root}"', *TINY])
    train_segmentation(cfg, out, folds=2, progress=False)
    return out


def test_oof_statistics_equal_what_predict_writes(kfold, l4s_root, tmp_path):
    oof = pd.read_csv(kfold / "oof_stats.csv").set_index("id")
    held = oof[oof["fold"] == 1]
    predict_input(kfold / "fold_1", l4s_root, tmp_path / "pred")
    written = pd.read_csv(tmp_path / "pred" / "predictions.csv").set_index("id").loc[held.index]
    np.testing.assert_allclose(
        held[list(STAT_COLUMNS)].to_numpy(float), written[list(STAT_COLUMNS)].to_numpy(float), rtol=1e-6, atol=1e-6
    )
    assert (held["label"] == written["label"]).all()


def test_written_masks_are_the_counted_masks(kfold, l4s_root, tmp_path):
    from PIL import Image

    run = SegmentationRun.load(kfold / "fold_1")
    predict_input(kfold / "fold_1", l4s_root, tmp_path / "pred")
    stats = pd.read_csv(tmp_path / "pred" / "predictions.csv").set_index("id")
    for sample in open_dataset(l4s_root):
        pred = predict_region(run, sample)
        png = np.asarray(Image.open(tmp_path / "pred" / "masks" / f"{sample.id}.png")) // 255
        assert np.array_equal(png, pred.mask)
        assert stats.loc[sample.id, "n_components"] == pred.stats["n_components"]


def test_evaluate_scores_the_written_masks(kfold, l4s_root):
    run = SegmentationRun.load(kfold / "fold_1")
    tp = fp = fn = 0
    for sample in open_dataset(l4s_root, require_masks=True):
        m, t = predict_region(run, sample).mask == 1, sample.mask == 1
        tp, fp, fn = tp + int((m & t).sum()), fp + int((m & ~t).sum()), fn + int((~m & t).sum())
    r = evaluate_run(run, l4s_root)
    assert (r["tp"], r["fp"], r["fn"]) == (tp, fp, fn) and r["n_images"] == 12
    assert r["landslide_images"]["n"] + r["landslide_free_images"]["n"] == 12


def test_image_and_scene_are_predicted_the_same_way(kfold, tmp_path, monkeypatch):
    run = SegmentationRun.load(kfold / "fold_1")
    img, _ = synth_patch(np.random.default_rng(5), 90)
    img = img[:, :70, :90].copy()
    write_geotiff(tmp_path / "scene.tif", img, GEO)
    monkeypatch.setattr(scene_module, "MASK_BLOCK", 32)  # the mask pass crosses block borders
    monkeypatch.setattr(scene_module, "PANEL_WIDTH", 64)  # and the sweep crosses panels
    predict_input(kfold / "fold_1", tmp_path / "scene.tif", tmp_path / "out")
    in_memory = predict_array(run, img)
    with rasterio.open(tmp_path / "out" / "probability.tif") as p, rasterio.open(tmp_path / "out" / "mask.tif") as m:
        np.testing.assert_allclose(p.read(1), in_memory, atol=1e-5)
        post = run.config.post
        expected = landslide_mask(in_memory, run.threshold, post.opening, post.closing)
        assert np.array_equal(m.read(1), expected)


def _tagged_tif(path, image, scale):
    """A float32 GeoTIFF of ``image`` declaring ``scale`` with the DOMAIN_SCALE tag."""
    write_geotiff(path, image.astype(np.float32), GEO)
    with rasterio.open(path, "r+") as dst:
        dst.update_tags(DOMAIN_SCALE=scale)


def test_declared_scales_are_converted_on_both_paths(kfold, l4s_root, tmp_path):
    """A scene declaring reflectance and a folder of GeoTIFFs declaring DNs predict as their
    Landslide4Sense-scale originals do."""
    run = SegmentationRun.load(kfold / "fold_1")
    img, _ = synth_patch(np.random.default_rng(5), 64)
    _tagged_tif(tmp_path / "scene.tif", convert(img, L4S14.bands, L4S, Domain("l4s14", "reflectance")), "reflectance")
    r = predict_input(kfold / "fold_1", tmp_path / "scene.tif", tmp_path / "out")
    assert r["input_scale"] == "reflectance" and r["run_domain"] == {"band_set": "l4s14", "scale": "l4s"}
    with rasterio.open(tmp_path / "out" / "probability.tif") as p:
        np.testing.assert_allclose(p.read(1), predict_array(run, img), atol=1e-4)
    samples = list(open_dataset(l4s_root))[:3]
    for s in samples:
        _tagged_tif(
            tmp_path / "dn" / "images" / f"{s.id}.tif",
            convert(s.image, L4S14.bands, L4S, Domain("l4s14", "s2-dn")),
            "s2-dn",
        )
    predict_input(kfold / "fold_1", tmp_path / "dn", tmp_path / "pred")
    for s in samples:
        with rasterio.open(tmp_path / "pred" / "probabilities" / f"{s.id}.tif") as p:
            np.testing.assert_allclose(p.read(1), predict_region(run, s).probability, atol=1e-4)


def test_a_scene_on_another_scale_is_refused_before_anything_is_written(kfold, tmp_path):
    img, _ = synth_patch(np.random.default_rng(5), 48)
    write_geotiff(tmp_path / "scene.tif", (img * 40).astype(np.uint8), GEO)
    r = CliRunner().invoke(
        app,
        [
            "segment",
            "predict",
            "--run",
            str(kfold / "fold_1"),
            "-i",
            str(tmp_path / "scene.tif"),
            "-o",
            str(tmp_path / "out"),
        ],
    )
    assert r.exit_code == 1 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(
        f"error: {tmp_path / 'scene.tif'}: input is l4s14/uint8 (8-bit values 0-255) but the run "
        "was trained on l4s14/l4s"
    ), r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.tif"]


def test_out_of_fold_maps_come_from_the_fold_that_held_each_image_out(kfold, l4s_root, tmp_path):
    from landslide_fusion.errors import DataError
    from landslide_fusion.segmentation.training.out_of_fold import out_of_fold_predictions

    oof = pd.read_csv(kfold / "oof_stats.csv", dtype={"id": str}).set_index("id")
    seen: dict[str, float] = {}

    def each(sample, pred) -> None:
        seen[sample.id] = pred.stats["max_probability"]

    assert out_of_fold_predictions(kfold, each) == len(oof)
    assert sorted(seen) == sorted(oof.index)
    np.testing.assert_allclose([seen[i] for i in oof.index], oof["max_probability"], rtol=1e-6)
    some = list(oof.index[:3])
    seen.clear()
    assert out_of_fold_predictions(kfold, each, ids=some, data=l4s_root) == 3 and sorted(seen) == sorted(some)
    with pytest.raises(DataError, match="pass their folder"):
        out_of_fold_predictions(kfold, each, data=tmp_path / "moved")
    with pytest.raises(DataError, match="not a k-fold"):
        out_of_fold_predictions(kfold / "fold_1", each)
