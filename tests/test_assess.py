"""``landslide assess`` end to end over a real local STAC API: a box across two adjacent tiles,
a tiny run trained here (1 epoch), image-only and fused risk, map.png; ``landslide fetch`` CLI;
bad inputs leave nothing behind."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
from typer.testing import CliRunner

from landslide_fusion.cli import app
from landslide_fusion.config import load_config
from landslide_fusion.errors import LandslideError
from landslide_fusion.segmentation import SegmentConfig, train_segmentation
from tests.conftest import TINY, tiny_fusion_pair
from tests.rfc7946 import assert_rfc7946
from tests.riskmap_checks import assert_map_shows_risk
from tests.test_stac_fetch import X0, Y0, generated_box

runner = CliRunner()
DATE = "2024-08-01/2024-08-31"


def test_assess_grid_image_only(stac_generated, tiny_run, tmp_path):
    from landslide_fusion.assess import assess

    out = tmp_path / "out"
    r = assess(
        generated_box(),
        DATE,
        tiny_run,
        out,
        grid_m=100,
        place="test valley",
        catalog=stac_generated.url,
        progress=False,
    )
    assert r["method"] == "image-only" and r["run_domain"]["scale"] == "l4s" and r["regions"] > 0
    assert json.loads((tiny_run / "run.json").read_text())["domain"] == {"band_set": "l4s14", "scale": "l4s"}
    for f in r["files"]:
        assert (out / f).is_file(), f
    with (
        rasterio.open(out / "scene.tif") as s,
        rasterio.open(out / "probability.tif") as p,
        rasterio.open(out / "mask.tif") as m,
    ):
        assert s.tags()["DOMAIN_SCALE"] == "l4s"  # fetched on the run's own domain
        assert s.crs == p.crs == m.crs and s.transform == p.transform == m.transform and s.shape == p.shape == m.shape
        # the scene spans the border between the two tiles (X0 + 480 m) and has no gap there
        assert s.bounds.left < X0 + 480 < s.bounds.right and np.isfinite(p.read(1)).all()
    risk = pd.read_csv(out / "risk.csv")
    assert len(risk) == r["regions"] and risk["risk_score"].between(0, 1).all()
    assert set(risk["risk_class"]) <= {"low", "moderate", "high", "very high"}
    geo = assert_rfc7946(out / "risk.geojson")  # WGS 84 longitude/latitude
    assert len(geo["features"]) == len(risk)
    assert_rfc7946(out / "landslides.geojson")
    lon, lat = np.asarray(geo["features"][0]["geometry"]["coordinates"][0]).T
    assert (np.abs(lon) <= 180).all() and (np.abs(lat) <= 90).all()
    assert_map_shows_risk(out)  # map.png by its pixels


def test_assess_fused_with_user_regions(stac_generated, tiny_run, tmp_path):
    """Slope-unit-like polygons in lon/lat with tabular features as properties -> fused risk."""
    from rasterio.warp import transform_geom

    from landslide_fusion.io.geojson import box_geometry, write_geojson

    tab, fusion, table = tiny_fusion_pair(tmp_path, n_estimators=20)
    polys = [
        transform_geom(
            "EPSG:32646",
            "EPSG:4326",
            box_geometry(
                X0 + 150 + 120 * (i % 5), Y0 - 380 + 150 * (i // 5), X0 + 260 + 120 * (i % 5), Y0 - 250 + 150 * (i // 5)
            ),
        )
        for i in range(10)
    ]
    props = table.drop(columns=["landslide"]).head(10)
    write_geojson(tmp_path / "units.geojson", props, polys)  # RFC 7946: lon/lat, no crs member
    r = runner.invoke(
        app,
        [
            "assess",
            "--bbox",
            generated_box(),
            "--date",
            DATE,
            "--run",
            str(tiny_run),
            "--tabular",
            str(tab),
            "--fusion",
            str(fusion),
            "--regions",
            str(tmp_path / "units.geojson"),
            "--catalog",
            stac_generated.url,
            "-o",
            str(tmp_path / "out"),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["method"] == "fused" and doc["regions"] == 10
    risk = pd.read_csv(tmp_path / "out" / "risk.csv")
    assert sorted(risk.iloc[:, 0]) == sorted(props["region_id"]) and {"tabular_probability", "mean_probability"} <= set(
        risk.columns
    )


def test_assess_real_tiles(stac_real, tiny_run, tmp_path):
    """Two adjacent real Sentinel-2 tiles (Planetary Computer layout): the box spans their border."""
    from landslide_fusion.assess import assess
    from tests.conftest import shared
    from tests.stac_catalog import REAL_TILES

    with rasterio.open(shared("sentinel2_geotiff/images") / REAL_TILES[0]) as a:
        border, bottom, top = a.bounds.right, a.bounds.bottom, a.bounds.top
    box = f"{border - 0.008},{bottom + 0.006},{border + 0.008},{top - 0.006}"
    r = assess(
        box,
        "2024-08-10",
        tiny_run,
        tmp_path / "out",
        grid_m=300,
        place="Rangamati tiles",
        catalog=stac_real.url,
        progress=False,
    )
    assert r["regions"] > 0 and len(r["items"]) == 2
    with rasterio.open(tmp_path / "out" / "scene.tif") as s, rasterio.open(tmp_path / "out" / "mask.tif") as m:
        assert s.transform == m.transform and s.shape == m.shape
    assert len(pd.read_csv(tmp_path / "out" / "risk.csv")) == r["regions"]


def test_fetch_cli(stac_generated, tmp_path):
    r = runner.invoke(
        app,
        [
            "fetch",
            "--bbox",
            generated_box(),
            "--date",
            "2024-08-10",
            "--catalog",
            stac_generated.url,
            "-o",
            str(tmp_path / "s.tif"),
            "--scale",
            "s2-dn",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "wrote" in r.stdout and (tmp_path / "s.tif").is_file()
    r = runner.invoke(
        app,
        [
            "fetch",
            "--bbox",
            generated_box(),
            "--date",
            "2024-08-10",
            "--catalog",
            stac_generated.url,
            "-o",
            str(tmp_path / "s.tif"),
        ],
    )
    assert r.exit_code == 1 and "already exists" in r.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["--bbox", "92.1,22.4,92.0,22.5"], "must be less than east"),
        (["--date", "2099-01-01"], "in the future"),
        (["--date", "2024-07-01"], "closest dates with imagery: 2024-08-05, 2024-08-10"),
        (["--max-area", "0.01"], "more than the limit"),
        (["--tabular", "x"], "pass both --tabular and --fusion"),
        (["--catalog", "http://127.0.0.1:9"], "cannot be reached"),
    ],
)
def test_assess_bad_input_one_line_nothing_written(stac_generated, tiny_run, tmp_path, args, words):
    base = {"--bbox": generated_box(), "--date": DATE, "--catalog": stac_generated.url}
    for k, v in zip(args[::2], args[1::2]):
        base[k] = v
    argv = ["assess", "--run", str(tiny_run), "-o", str(tmp_path / "out")]
    for k, v in base.items():
        argv += [k, v]
    r = runner.invoke(app, argv)
    last = r.stderr.strip().splitlines()[-1]  # progress lines (search ...) may precede it
    assert r.exit_code == 1 and last.startswith("error: ") and words in last, r.output
    assert not (tmp_path / "out").exists() and not list(tmp_path.iterdir())


def test_scene_band_map_by_name_role_or_refusal():
    from landslide_fusion.assess import scene_band_map
    from landslide_fusion.errors import BandError

    assert scene_band_map(("RED", "GREEN", "BLUE", "NIR"), "rgbn") == {
        "RED": "B4",
        "GREEN": "B3",
        "BLUE": "B2",
        "NIR": "B8",
    }
    assert scene_band_map(("B2", "SLOPE"), "l4s14") == {"B2": "B2", "SLOPE": "SLOPE"}
    with pytest.raises(BandError, match="needs band.s. VV, which a fetched Sentinel-2 scene lacks"):
        scene_band_map(("VV", "B2"), "sentinel1")


def test_assess_refuses_a_run_of_another_domain(stac_generated, folder_root, tmp_path):
    """An RGB run trained on 8-bit PNGs: its domain (rgb/uint8) has no conversion from reflectance."""
    from landslide_fusion.assess import assess

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
    )  # noqa: E501
    train_segmentation(cfg, tmp_path / "rgb", progress=False)
    with pytest.raises(LandslideError) as e:
        assess(generated_box(), DATE, tmp_path / "rgb", tmp_path / "out", catalog=stac_generated.url, progress=False)
    assert "l4s14/reflectance" in str(e.value) and "uint8" in str(e.value)
    assert not (tmp_path / "out").exists()
