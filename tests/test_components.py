"""The component filter of the fused masks: area descriptors, the filter learned from labelled
maps with a planted difference (true landslides are compact, confident blobs; false alarms thin,
faint streaks), the sweep with dropped areas, and the filter applied to a mask."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from landslide_fusion.errors import DataError, NotFittedError
from landslide_fusion.fusion.component_filter import (
    AREA_FEATURES,
    ComponentFilter,
    describe_areas,
    filtered_sweep,
    keep_areas,
)
from landslide_fusion.fusion.components import COMPONENT_FEATURES, component_features

SIZE = 48


def blob(center: tuple[int, int], radius: int) -> np.ndarray:
    y, x = np.ogrid[:SIZE, :SIZE]
    return (y - center[0]) ** 2 + (x - center[1]) ** 2 <= radius**2


def streak(row: int, start: int, length: int) -> np.ndarray:
    m = np.zeros((SIZE, SIZE), bool)
    m[row : row + 2, start : start + length] = True
    return m


def labelled_map(rng: np.random.Generator, landslide: bool) -> SimpleNamespace:
    """A probability map and its truth: a compact landslide (when ``landslide``) and a streak that
    is no landslide, above every threshold too, at random places."""
    p = rng.uniform(0, 0.2, (SIZE, SIZE))
    truth = np.zeros((SIZE, SIZE), np.int64)
    if landslide:
        b = blob((int(rng.integers(10, 20)), int(rng.integers(10, 38))), int(rng.integers(4, 7)))
        p[b], truth[b] = rng.uniform(0.8, 1.0, int(b.sum())), 1
    s = streak(int(rng.integers(30, 44)), int(rng.integers(2, 10)), int(rng.integers(20, 35)))
    p[s] = rng.uniform(0.72, 0.9, int(s.sum()))
    return SimpleNamespace(probability=p, mask=truth, valid=np.ones((SIZE, SIZE), bool))


def test_descriptors_tell_a_compact_blob_from_a_streak():
    p = np.zeros((SIZE, SIZE))
    disk, line = blob((15, 15), 6), streak(40, 5, 30)
    p[disk], p[line] = 0.9, 0.55
    labels, areas = component_features(p, disk | line, np.ones_like(disk), 0.5)
    assert list(areas.columns) == list(COMPONENT_FEATURES) and len(areas) == 2
    d, s = areas.loc[labels[15, 15]], areas.loc[labels[40, 10]]
    assert d["axis_ratio"] > 0.9 and s["axis_ratio"] < 0.1
    assert d["compactness"] > s["compactness"] and d["extent"] > 0.6
    assert d["mean_probability"] == pytest.approx(0.9) and d["ring_probability"] == 0.0
    assert d["edge_contrast"] == pytest.approx(0.9) and d["is_largest"] == 1.0
    assert areas["mask_share"].sum() == pytest.approx(1.0) and (areas["n_components"] == 2).all()
    assert d["touches_edge"] == 0.0 and np.exp(d["log_pixels"]) - 1 == pytest.approx(disk.sum())
    edge = np.zeros((SIZE, SIZE), bool)
    edge[:3, :5] = True
    assert component_features(p, edge, np.ones_like(edge), 0.5)[1]["touches_edge"].iloc[0] == 1.0


def test_an_empty_mask_has_no_areas_and_nodata_is_ignored():
    p = np.full((SIZE, SIZE), np.nan)
    labels, areas = component_features(p, np.zeros((SIZE, SIZE), bool), np.zeros((SIZE, SIZE), bool), 0.5)
    assert labels.max() == 0 and areas.empty and list(areas.columns) == list(COMPONENT_FEATURES)
    p[:, :24] = 0.8
    m = np.zeros((SIZE, SIZE), bool)
    m[10:20, 10:30] = True  # half of it over nodata: the caller's valid mask cuts it
    m &= np.isfinite(p)
    areas = component_features(p, m, np.isfinite(p), 0.5)[1]
    assert areas["max_probability"].iloc[0] == pytest.approx(0.8) and np.isfinite(areas.to_numpy()).all()


@pytest.fixture(scope="module")
def learned():
    """Areas of 60 labelled maps at every threshold, the filter fitted on them, and the sweep."""
    rng = np.random.default_rng(0)
    maps = [labelled_map(rng, landslide=k % 2 == 0) for k in range(60)]
    thresholds = np.array([0.3, 0.4, 0.5, 0.7])
    sweep, parts, each = describe_areas(
        thresholds, 0, 0, lambda i: {"fused_probability": 0.8, "tabular_probability": 0.7}
    )
    for k, m in enumerate(maps):
        each(SimpleNamespace(id=f"img{k}", mask=m.mask), m)
    areas = pd.concat(parts, ignore_index=True)
    y = (2 * areas["tp"] >= areas["pixels"]).astype(int)
    f = ComponentFilter(n_estimators=50, random_state=0).fit(areas, y, areas["pixels"], groups=areas["image"])
    return SimpleNamespace(sweep=sweep, areas=areas, y=y, filter=f)


def test_area_rows_add_up_to_the_sweep(learned):
    a, sweep = learned.areas, learned.sweep
    counts = np.stack(sweep.counts)
    totals = a.groupby(["image", "step"])[["tp", "fp"]].sum()
    for (img, step), row in totals.iterrows():
        assert counts[img, step, 0] == row["tp"] and counts[img, step, 1] == row["fp"]
    assert set(AREA_FEATURES) <= set(a.columns) and len(sweep.ids) == 60


def test_the_filter_learns_the_planted_difference_held_out(learned):
    from sklearn.metrics import roc_auc_score

    oof = learned.filter.oof_probability_
    assert np.isfinite(oof).all()
    assert roc_auc_score(learned.y, oof, sample_weight=learned.areas["pixels"]) > 0.95


def test_dropping_areas_moves_their_pixels_and_keeps_the_totals(learned):
    oof = learned.filter.oof_probability_
    before = np.stack(learned.sweep.counts)
    after = np.stack(filtered_sweep(learned.sweep, learned.areas, oof, 0.5).counts)
    assert (after.sum(-1) == before.sum(-1)).all()
    assert after[..., 1].sum() < 0.2 * before[..., 1].sum()  # the streaks' false positives are gone
    assert after[..., 0].sum() > 0.9 * before[..., 0].sum()  # the landslides stay
    unchanged = np.stack(filtered_sweep(learned.sweep, learned.areas, oof, 0.0).counts)
    assert (unchanged == before).all()


def test_a_mask_keeps_only_the_areas_the_filter_judges_likely(learned, tmp_path):
    m = labelled_map(np.random.default_rng(5), landslide=True)
    mask = (m.probability >= 0.4).astype(np.uint8)
    region = {"fused_probability": 0.8, "tabular_probability": 0.7}
    f = learned.filter.set_params(cut=0.5)
    kept = keep_areas(f, m.probability, mask, m.valid, 0.4, region)
    assert kept.dtype == mask.dtype and kept[m.mask == 1].all() and kept.sum() == (m.mask == 1).sum()
    assert (keep_areas(f.set_params(cut=0.0), m.probability, mask, m.valid, 0.4, region) == mask).all()
    assert (keep_areas(None, m.probability, mask, m.valid, 0.4, None) == mask).all()
    with pytest.raises(DataError, match="tabular_probability"):
        keep_areas(f.set_params(cut=0.5), m.probability, mask, m.valid, 0.4, {"fused_probability": 0.8})
    f.save(tmp_path, {"cut": 0.5})
    again = ComponentFilter.load(tmp_path)
    assert again.cut == 0.5 and (again.predict_proba(learned.areas) == f.predict_proba(learned.areas)).all()
    assert ComponentFilter.load(tmp_path / "none") is None


def test_an_unfitted_filter_says_so():
    with pytest.raises(NotFittedError):
        ComponentFilter().predict_proba(pd.DataFrame(columns=list(AREA_FEATURES)))


def test_the_cut_is_chosen_with_the_decision_and_kept_only_when_it_helps(tmp_path, monkeypatch):
    from landslide_fusion.config import save_config
    from landslide_fusion.fusion import component_filter as cf
    from landslide_fusion.fusion.decision import DecisionRule
    from landslide_fusion.segmentation import SegmentConfig
    from landslide_fusion.segmentation.training import out_of_fold
    from landslide_fusion.segmentation.evaluation.tuning import SWEEP_FILE, PostSweep

    rng = np.random.default_rng(1)
    labels = np.array([k % 3 == 0 for k in range(90)])  # two in three images hold no landslide
    maps = {f"img{k}": labelled_map(rng, bool(y)) for k, y in enumerate(labels)}
    save_config(SegmentConfig(), tmp_path / "config.toml")
    recorded = PostSweep(np.array([0.3, 0.4, 0.5, 0.7]))  # the k-fold's sweep: its thresholds are used
    recorded.update(maps["img0"].probability, maps["img0"].mask, maps["img0"].valid, "img0")
    recorded.save(tmp_path / SWEEP_FILE)
    peaks = [float(m.probability.max()) for m in maps.values()]  # what the k-fold recorded of each map
    pd.DataFrame({"id": list(maps), "max_probability": peaks}).to_csv(tmp_path / "oof_stats.csv", index=False)

    def predictions(root, each, *, data=None, ids=None, progress=False) -> int:
        for i in ids:
            each(SimpleNamespace(id=i, mask=maps[i].mask), maps[i])
        return len(ids)

    monkeypatch.setattr(out_of_fold, "out_of_fold_predictions", predictions)
    ids = list(maps)
    fused = rng.uniform(0.4, 0.6, len(labels))  # a decision that cannot tell the images apart
    scores = pd.DataFrame({"fused_probability": fused, "tabular_probability": 0.5}, index=ids)

    def fit_rule(sweep):
        return DecisionRule.fit(
            labels.astype(int), fused, ids, edges=(0.25, 0.5, 0.75), mask_threshold=0.5, sweep=sweep
        )

    area_filter, sweep, evidence = cf.fit_area_filter(tmp_path, scores, fit_rule, 0.7)
    f1 = {c["cut"]: c["f1"] for c in evidence["candidates"]}
    assert list(f1) == list(cf.CUTS) and evidence["images"] == 90
    assert area_filter is not None and area_filter.cut == evidence["cut"] > 0
    assert f1[evidence["cut"]] == max(f1.values()) > f1[0.0] + 0.2  # the streaks' false alarms are gone
    assert fit_rule(sweep).choose(0.7).expected["pixels"]["f1"] == pytest.approx(f1[evidence["cut"]])
    maps["img3"].probability[0, 0] = 1.0  # other imagery under the same id
    with pytest.raises(DataError, match="img3"):
        cf.fit_area_filter(tmp_path, scores, fit_rule, 0.7)


def test_written_fused_masks_keep_the_filtered_areas_and_are_what_is_counted(learned, tmp_path):
    from PIL import Image

    from landslide_fusion.fusion.decision import Decision
    from landslide_fusion.fusion.score import confirm_images, pack_mask
    from landslide_fusion.io.raster import write_geotiff

    rng = np.random.default_rng(9)
    maps = {f"r{k}": labelled_map(rng, landslide=k != 2) for k in range(3)}
    (tmp_path / "probabilities").mkdir()
    for rid, m in maps.items():
        write_geotiff(tmp_path / "probabilities" / f"{rid}.tif", m.probability.astype(np.float32))
    table = pd.DataFrame(
        {"status": ["landslide", "none", "landslide"], "fused_probability": 0.8, "tabular_probability": 0.7},
        index=list(maps),
    )
    d = Decision(0.7, 0.5, 0.5, 0.4, {})
    truth = {rid: pack_mask(m.mask) for rid, m in maps.items()}
    pixels, counts = confirm_images(tmp_path, table, d, 0, 0, learned.filter.set_params(cut=0.5), truth)
    written = {rid: np.asarray(Image.open(tmp_path / "masks" / f"{rid}.png")) // 255 for rid in maps}
    assert (written["r0"] == maps["r0"].mask).all()  # the landslide kept, its streak dropped
    assert not written["r1"].any() and not written["r2"].any()  # not confirmed; confirmed but only a streak
    assert pixels == sum(int(w.sum()) for w in written.values())
    assert counts["r0"].tolist() == [maps["r0"].mask.sum(), 0, 0, SIZE * SIZE - maps["r0"].mask.sum()]
    assert counts["r1"][2] == maps["r1"].mask.sum()  # a region not confirmed misses its landslide
