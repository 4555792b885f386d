"""Scenes: sliding-window prediction, georeferencing, band maps, polygons, ONNX, Dask, map risk."""

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
import torch
from typer.testing import CliRunner

from landslide_fusion.bands import L4S14
from landslide_fusion.cli import app
from landslide_fusion.config import load_config
from landslide_fusion.domains import Domain, convert
from landslide_fusion.errors import BandError, ConfigError
from landslide_fusion.io.raster import write_geotiff
from landslide_fusion.io.sample import GeoInfo
from landslide_fusion.segmentation import SegmentationRun, SegmentConfig, train_segmentation
from landslide_fusion.segmentation.inference import scene as scene_module
from landslide_fusion.segmentation.inference.scene import panels, predict_scene, resolve_band_map
from landslide_fusion.segmentation.inference.tiling import blend_weights, window_starts
from landslide_fusion.synth import synth_patch

from .rfc7946 import assert_rfc7946
from .conftest import (
    TINY_MODELS,
    assert_same_outputs,
    debris,
    invoke_ok,
    kill_9_while_writing,
    shared,
    tiny_fusion_pair,
)

pytestmark = pytest.mark.usefixtures("one_thread")
runner = CliRunner()
TINY = [
    "model.widths=[4, 8, 8, 16, 16]",
    "train.batch_size=4",
    'post.tta="none"',
    "train.warmup_epochs=0",
    "train.epochs=2",
    'features.preset="l4s14"',
]
CRS = "EPSG:32633"


@pytest.fixture(scope="module")
def run14(l4s_root, tmp_path_factory):
    """A tiny rau-net-small trained 2 epochs on 14 raw bands (no per-image features)."""
    out = tmp_path_factory.mktemp("scene") / "run"
    cfg = load_config(SegmentConfig, None, [f'data.root="{l4s_root}"', *TINY])
    train_segmentation(cfg, out, progress=False)
    return out


@pytest.fixture(scope="module")
def fusion_pair(tmp_path_factory):
    """(tabular model, fusion, region table): :func:`tests.conftest.tiny_fusion_pair`, 50 trees."""
    return tiny_fusion_pair(tmp_path_factory.mktemp("fusion"), n_estimators=50)


def _regions(table, path):
    """The table's 60 regions as overlapping 60 m squares over the top-left 64 x 64 px of a scene
    of :func:`_scene`, in its CRS, with the table's features as properties."""
    from landslide_fusion.io.geojson import box_geometry, write_geojson

    polys = [
        box_geometry(
            500000 + 40 * (i % 10),
            4100000 - 640 + 40 * (i // 10),
            500000 + 40 * (i % 10) + 60,
            4100000 - 640 + 40 * (i // 10) + 60,
        )
        for i in range(60)
    ]
    write_geojson(path, table.drop(columns=["landslide"]), polys, CRS, wgs84=False)


def _scene(path, h, w, seed=0, nodata_rows=0):
    rng = np.random.default_rng(seed)
    img, _ = synth_patch(rng, max(h, w))
    img = img[:, :h, :w].copy()
    if nodata_rows:
        img[:, :nodata_rows] = -9999.0
    write_geotiff(
        path, img, GeoInfo(CRS, (10.0, 0.0, 500000.0, 0.0, -10.0, 4100000.0)), nodata=-9999.0 if nodata_rows else None
    )
    return img


def test_windows_cover_and_weights_taper():
    assert window_starts(100, 32, 24) == [0, 24, 48, 68] and window_starts(20, 32, 24) == [0]
    w = blend_weights(8, 2)
    assert w.shape == (8, 8) and w[4, 4] == 1.0 and 0 < w[0, 0] < w[0, 4] < 1 and np.allclose(w, w.T)


def test_tiled_scene_matches_whole_prediction(run14, tmp_path):
    img = _scene(tmp_path / "s.tif", 96, 96)
    run = SegmentationRun.load(run14)
    whole = run.predict_proba(torch.from_numpy(img)[None])[0].numpy()
    predict_scene(run, tmp_path / "s.tif", tmp_path / "out", window=48, overlap=0.5, polygons=False)
    with rasterio.open(tmp_path / "out" / "probability.tif") as src:
        tiled = src.read(1)
    diff = np.abs(tiled - whole)
    assert diff.mean() < 0.01 and diff.max() < 0.08, (diff.mean(), diff.max())
    # no seams: the error on window borders is not larger than elsewhere
    borders = np.zeros_like(diff, bool)
    borders[:, [23, 24, 47, 48, 71, 72]] = borders[[23, 24, 47, 48, 71, 72], :] = True
    assert diff[borders].mean() <= 2 * diff[~borders].mean() + 1e-3


def test_panels_cover_columns_and_match_one_sweep(run14, tmp_path, monkeypatch):
    starts = window_starts(600, 64, 48)
    cut = panels(600, starts, 64, panel=256)
    assert [(a, b) for a, b, _ in cut] == [(0, 256), (256, 512), (512, 600)]
    for a, b, ws in cut:  # every window that touches the panel's columns, and no other
        assert ws == [s for s in starts if s < b and s + 64 > a]
    _scene(tmp_path / "s.tif", 80, 600, nodata_rows=3)
    one = predict_scene(run14, tmp_path / "s.tif", tmp_path / "one", window=64, overlap=0.25, polygons=True)
    monkeypatch.setattr(scene_module, "PANEL_WIDTH", 256)
    three = predict_scene(run14, tmp_path / "s.tif", tmp_path / "three", window=64, overlap=0.25, polygons=True)
    read = lambda run, name: rasterio.open(tmp_path / run / name).read(1)  # noqa: E731
    # the same windows and weights; batches differ, so float sums agree to rounding
    np.testing.assert_allclose(read("one", "probability.tif"), read("three", "probability.tif"), atol=1e-6)
    np.testing.assert_array_equal(read("one", "mask.tif"), read("three", "mask.tif"))
    assert {k: v for k, v in one.items() if k != "out"} == {k: v for k, v in three.items() if k != "out"}
    a, b = (assert_rfc7946(tmp_path / run / "landslides.geojson")["features"] for run in ("one", "three"))
    assert [f["geometry"] for f in a] == [f["geometry"] for f in b] and len(a) == one["polygons"] > 0


def test_scene_outputs_are_georeferenced_with_nodata(run14, tmp_path):
    _scene(tmp_path / "s.tif", 70, 90, nodata_rows=5)
    r = predict_scene(run14, tmp_path / "s.tif", tmp_path / "out", window=32, overlap=0.25)
    with (
        rasterio.open(tmp_path / "s.tif") as a,
        rasterio.open(tmp_path / "out" / "probability.tif") as p,
        rasterio.open(tmp_path / "out" / "mask.tif") as m,
    ):
        assert p.crs == a.crs == m.crs and p.transform == a.transform and (p.width, p.height) == (90, 70)
        prob, mask = p.read(1), m.read(1)
    assert np.isnan(prob[:5]).all() and (mask[:5] == 255).all()
    assert np.isfinite(prob[5:]).all() and set(np.unique(mask[5:])) <= {0, 1}
    assert r["valid_pixels"] == 65 * 90
    geo = assert_rfc7946(tmp_path / "out" / "landslides.geojson")  # WGS 84 lon/lat, right-hand rings
    assert len(geo["features"]) == r["polygons"] > 0
    for f in geo["features"]:  # 10 m UTM pixels: 100 m^2 each, up to UTM's scale factor (0.9996^2) and latitude
        assert f["properties"]["area_m2"] == pytest.approx(100.0 * f["properties"]["pixels"], rel=2e-3)
        assert f["properties"]["area_ha"] == pytest.approx(f["properties"]["area_m2"] / 1e4)
        lon, lat = np.asarray(f["geometry"]["coordinates"][0]).T
        assert (abs(lon) <= 180).all() and (abs(lat) <= 90).all()


def test_scene_smaller_than_window(run14, tmp_path):
    _scene(tmp_path / "s.tif", 20, 24)
    r = predict_scene(run14, tmp_path / "s.tif", tmp_path / "out", window=32)
    assert r["windows"] == 1 and (r["width"], r["height"]) == (24, 20)


def test_band_map_and_errors():
    bands = ("RED", "GREEN", "BLUE")
    assert resolve_band_map(bands, 3, (None, None, None), (), "s") == [0, 1, 2]
    assert resolve_band_map(bands, 4, ("nir", "blue", "green", "red"), (), "s") == [3, 2, 1]
    assert resolve_band_map(bands, 4, (None,) * 4, ("RED=4", "GREEN=3", "BLUE=2"), "s") == [3, 2, 1]
    with pytest.raises(BandError, match="no input band for model band.*BLUE"):
        resolve_band_map(bands, 4, (None,) * 4, ("RED=4", "GREEN=3"), "s")
    with pytest.raises(BandError, match="4 bands, the model needs 3.*--band-map.*e.g. RED=1,GREEN=2,BLUE=3,"):
        resolve_band_map(bands, 4, (None,) * 4, (), "s")
    with pytest.raises(BandError, match="e.g. B1=1,B2=2,B3=3,"):  # the example names the model's own bands
        resolve_band_map(L4S14.bands, 4, (None,) * 4, (), "s")
    with pytest.raises(BandError, match="bands 1..4"):
        resolve_band_map(bands, 4, (None,) * 4, ("RED=5", "GREEN=3", "BLUE=2"), "s")
    with pytest.raises(ConfigError, match="MODEL=INPUT"):
        resolve_band_map(bands, 4, (None,) * 4, ("RED:5",), "s")


def test_cli_scene_band_map_reordered(run14, tmp_path):
    img = _scene(tmp_path / "s.tif", 40, 40)
    order = list(range(14))[::-1]
    write_geotiff(tmp_path / "rev.tif", img[order], GeoInfo(CRS, (10.0, 0.0, 0.0, 0.0, -10.0, 0.0)))
    bm = ",".join(f"{b}={14 - i}" for i, b in enumerate(L4S14.bands))
    r = runner.invoke(
        app,
        [
            "segment",
            "predict",
            "--run",
            str(run14),
            "-i",
            str(tmp_path / "rev.tif"),
            "-o",
            str(tmp_path / "a"),
            "--band-map",
            bm,
            "--window",
            "32",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    predict_scene(run14, tmp_path / "s.tif", tmp_path / "b", window=32)
    with rasterio.open(tmp_path / "a" / "probability.tif") as a, rasterio.open(tmp_path / "b" / "probability.tif") as b:
        assert np.allclose(a.read(1), b.read(1), atol=1e-6)
    r = runner.invoke(
        app,
        [
            "segment",
            "predict",
            "--run",
            str(run14),
            "-i",
            str(tmp_path / "rev.tif"),
            "-o",
            str(tmp_path / "c"),
            "--band-map",
            "B1=1",
            "--window",
            "32",
        ],
    )
    assert r.exit_code == 1 and "no input band for model band(s) B2" in r.stderr and not (tmp_path / "c").exists()


def test_onnx_export_matches_torch(run14, tmp_path):
    r = runner.invoke(app, ["segment", "export", "--run", str(run14), "-o", str(tmp_path / "m.onnx"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["max_abs_logit_difference"] < 1e-4
    from landslide_fusion.segmentation.inference.onnx import OnnxPipeline

    run = SegmentationRun.load(run14)
    x = torch.rand(2, 14, 48, 64) + 0.5
    with torch.no_grad():
        ref = run.pipeline(x)
    assert (OnnxPipeline(tmp_path / "m.onnx")(x) - ref).abs().max() < 1e-4


def test_dask_predicts_many_scenes(run14, tmp_path):
    pytest.importorskip("dask.distributed")
    from landslide_fusion.segmentation.inference.dask_scenes import predict_scenes

    for i in range(3):
        _scene(tmp_path / f"s{i}.tif", 40, 48, seed=i)
    rs = predict_scenes(run14, [tmp_path / f"s{i}.tif" for i in range(3)], tmp_path / "out", workers=2, window=32)
    assert [r["scene"] for r in rs] == [str(tmp_path / f"s{i}.tif") for i in range(3)]
    for i in range(3):
        whole = predict_scene(run14, tmp_path / f"s{i}.tif", tmp_path / f"single{i}", window=32)
        with (
            rasterio.open(tmp_path / "out" / f"s{i}" / "probability.tif") as a,
            rasterio.open(tmp_path / f"single{i}" / "probability.tif") as b,
        ):
            assert np.allclose(a.read(1), b.read(1), atol=1e-5)
        assert rs[i]["landslide_pixels"] == whole["landslide_pixels"]


@pytest.mark.slow
def test_sentinel2_mosaic_lines_up(tmp_path):
    """A 2x2 mosaic of adjacent real tiles: outputs share the mosaic's grid and bounds."""
    from rasterio.merge import merge

    from landslide_fusion.io.folder import write_image_folder_sample  # noqa: F401 (format reference)

    tiles = sorted((shared("sentinel2_geotiff") / "images").glob("*.tif"))
    srcs = [rasterio.open(t) for t in tiles]
    ref = srcs[0]
    near = [
        s
        for s in srcs
        if abs(s.bounds.left - ref.bounds.left) < 3 * (ref.bounds.right - ref.bounds.left)
        and abs(s.bounds.top - ref.bounds.top) < 3 * (ref.bounds.top - ref.bounds.bottom)
    ][:6]
    mosaic, transform = merge(near)
    profile = {
        **ref.profile,
        "height": mosaic.shape[1],
        "width": mosaic.shape[2],
        "transform": transform,
        "dtype": "float32",
    }
    with rasterio.open(tmp_path / "mosaic.tif", "w", **profile) as dst:
        dst.write(mosaic.astype(np.float32))
    for s in srcs:
        s.close()
    root = tmp_path / "train"
    rng = np.random.default_rng(0)
    rgbn_bands = ("B4", "B3", "B2", "B8")
    for i in range(8):  # trained on DNs, the tiles' scale (the rgbn default: rgbn/s2-dn)
        img, m = synth_patch(rng, 32)
        rgbn = convert(
            img[[L4S14.index(b) for b in rgbn_bands]], rgbn_bands, Domain("l4s14", "l4s"), Domain("l4s14", "s2-dn")
        )
        write_geotiff(root / "images" / f"p{i}.tif", rgbn)
        write_geotiff(root / "masks" / f"p{i}.tif", m.astype(np.uint8))
    cfg = load_config(
        SegmentConfig, None, [f'data.root="{root}"', 'features.source="rgbn"', 'features.preset="rgbn4"', *TINY[:-1]]
    )
    train_segmentation(cfg, tmp_path / "run", progress=False)
    r = predict_scene(tmp_path / "run", tmp_path / "mosaic.tif", tmp_path / "out", window=64)
    with rasterio.open(tmp_path / "mosaic.tif") as a, rasterio.open(tmp_path / "out" / "mask.tif") as m:
        assert m.crs == a.crs and m.transform == a.transform and m.bounds == a.bounds
    left, bottom, right, top = rasterio.open(tmp_path / "mosaic.tif").bounds
    for f in assert_rfc7946(tmp_path / "out" / "landslides.geojson")["features"]:
        xy = np.asarray(f["geometry"]["coordinates"][0])
        assert (xy[:, 0] >= left - 1e-9).all() and (xy[:, 0] <= right + 1e-9).all()
        assert (xy[:, 1] >= bottom - 1e-9).all() and (xy[:, 1] <= top + 1e-9).all()
    assert r["width"] == mosaic.shape[2]


def test_fuse_score_over_a_map(run14, fusion_pair, tmp_path):
    """Region polygons over a scene: zonal mask statistics + tabular features -> risk GeoJSON."""
    tab, fusion, table = fusion_pair
    _scene(tmp_path / "scene.tif", 64, 64)
    _regions(table, tmp_path / "regions.geojson")
    r = runner.invoke(
        app,
        [
            "fuse",
            "score",
            "--fusion",
            str(fusion),
            "--run",
            str(run14),
            "--tabular",
            str(tab),
            "--scene",
            str(tmp_path / "scene.tif"),
            "--regions",
            str(tmp_path / "regions.geojson"),
            "-o",
            str(tmp_path / "risk"),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    risk = pd.read_csv(tmp_path / "risk" / "risk.csv")
    assert len(risk) == 60 and (risk["n_pixels"] > 0).all() and (risk["largest_component_area"].fillna(0) >= 0).all()
    geo = assert_rfc7946(tmp_path / "risk" / "risk.geojson")
    assert geo["features"][0]["geometry"]["type"] == "Polygon"  # reprojected to WGS 84
    lon, lat = np.asarray(geo["features"][0]["geometry"]["coordinates"][0]).T
    assert (abs(lon - 15) < 3).all() and (abs(lat - 37) < 3).all()  # UTM zone 33N, northing 4.1e6 m
    # the double check: landslide pixels only in the regions the fused decision confirms, each polygon with its
    # region's fused risk and both votes
    risk = risk.set_index(risk.columns[0])  # the id column, named as the tabular model's (region_id)
    with rasterio.open(tmp_path / "risk" / "probability.tif") as p, rasterio.open(tmp_path / "risk" / "mask.tif") as m:
        prob, mask = p.read(1), m.read(1)
    t = json.loads(r.stdout)["decision"]["mask_threshold"]
    fused = json.loads((tmp_path / "risk" / "landslides.geojson").read_text())["features"]
    kept = set(risk.index[risk["status"] != "none"].astype(str))
    assert {str(f["properties"]["region"]) for f in fused} <= kept
    risk.index = risk.index.astype(str)
    for f in fused:
        row = risk.loc[str(f["properties"]["region"])]
        assert f["properties"]["risk_score"] == pytest.approx(row["risk_score"]) and f["properties"]["decision"] == 1
        assert {"tabular_vote", "image_vote", "agree", "area_m2"} <= set(f["properties"])
    assert ((mask == 1) <= (prob >= t)).all() and (mask[np.isnan(prob)] == 255).all()
    assert (mask == 1).sum() == sum(f["properties"]["pixels"] for f in fused)
    assert (tmp_path / "risk" / "scene_mask.tif").is_file() and (tmp_path / "risk" / "provenance.json").is_file()
    r = runner.invoke(
        app,
        [
            "fuse",
            "score",
            "--fusion",
            str(fusion),
            "--run",
            str(run14),
            "--tabular",
            str(tab),
            "--scene",
            str(tmp_path / "scene.tif"),
            "-o",
            str(tmp_path / "x"),
        ],
    )
    assert r.exit_code == 1 and "--scene with --regions" in r.stderr


def _kill_9_then_rerun(args, tmp_path, partial: str, seed: int) -> None:
    """``landslide ARGS -o OUT`` killed while it writes ``partial`` (a glob inside its temporary
    folder): the killed run leaves its temporaries, the rerun removes them and gives what an
    uninterrupted run gives."""
    import glob

    killed, ref = tmp_path / "killed", tmp_path / "ref"
    killed.mkdir()
    out = killed / "out"
    kill_9_while_writing(
        args(out), f"{glob.escape(str(killed))}/.out.tmp-*/{partial}", lambda: invoke_ok(args(ref / "out")), seed
    )
    assert not out.exists() and any(n.startswith(".out.tmp-") for n in debris(killed))
    invoke_ok(args(out))
    assert debris(killed) == []
    assert_same_outputs(out, ref / "out")


def test_kill_9_while_predicting_a_scene_then_rerun(run14, tmp_path):
    _scene(tmp_path / "s.tif", 512, 512)
    _kill_9_then_rerun(
        lambda out: ["segment", "predict", "--run", str(run14), "--input", str(tmp_path / "s.tif"), "-o", str(out)],
        tmp_path,
        "probability.tif",
        seed=1,
    )


def test_kill_9_while_scoring_a_map_then_rerun(run14, fusion_pair, tmp_path):
    tab, fusion, table = fusion_pair
    _scene(tmp_path / "s.tif", 512, 512)
    _regions(table, tmp_path / "regions.geojson")
    _kill_9_then_rerun(
        lambda out: [
            "fuse",
            "score",
            "--fusion",
            str(fusion),
            "--run",
            str(run14),
            "--tabular",
            str(tab),
            "--scene",
            str(tmp_path / "s.tif"),
            "--regions",
            str(tmp_path / "regions.geojson"),
            "-o",
            str(out),
        ],
        tmp_path,
        ".scene.tmp-*/probability.tif",
        seed=2,
    )
    assert json.loads((tmp_path / "killed" / "out" / "landslides.geojson").read_text())["type"] == "FeatureCollection"


def test_png_scene(folder_root, tmp_path):
    """PNG scenes (no georeferencing) work too; outputs keep the pixel grid."""
    cfg = load_config(
        SegmentConfig,
        None,
        [
            f'data.root="{folder_root}"',
            'features.source="rgb"',
            'features.preset="rgb3"',
            'data.train_split="train"',
            'data.val_split="val"',
            *TINY[:-1],
        ],
    )
    train_segmentation(cfg, tmp_path / "run", progress=False)
    png = sorted((folder_root / "images").glob("*.png"))[0]
    r = predict_scene(tmp_path / "run", png, tmp_path / "out", window=32)
    with rasterio.open(tmp_path / "out" / "mask.tif") as m:
        assert m.crs is None and (m.width, m.height) == (32, 32) and r["valid_pixels"] == 32 * 32


@pytest.mark.parametrize("name", [n for n in TINY_MODELS if n != "rau-net-small"])
def test_every_model_trains_predicts_a_scene_and_exports(name, l4s_root, tmp_path):
    """Each registered model is first-class: trained by the one loop, predicted over a GeoTIFF
    scene whose size is no multiple of anything, and exported to ONNX within 1e-4 of torch.
    (``rau-net-small`` is the ``run14`` fixture's model, tested above.)"""
    opts = [
        f"model.options.{k}={json.dumps(list(v) if isinstance(v, tuple) else v)}" for k, v in TINY_MODELS[name].items()
    ]
    cfg = load_config(
        SegmentConfig, None, [f'data.root="{l4s_root}"', *TINY[1:], "train.epochs=1", f'model.name="{name}"', *opts]
    )
    train_segmentation(cfg, tmp_path / "run", progress=False)
    _scene(tmp_path / "s.tif", 70, 90, seed=3)
    r = predict_scene(tmp_path / "run", tmp_path / "s.tif", tmp_path / "out", window=64, polygons=False)
    assert r["valid_pixels"] == 70 * 90
    with rasterio.open(tmp_path / "out" / "mask.tif") as m:
        assert (m.width, m.height) == (90, 70)
    res = runner.invoke(
        app, ["segment", "export", "--run", str(tmp_path / "run"), "-o", str(tmp_path / "m.onnx"), "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["max_abs_logit_difference"] < 1e-4
