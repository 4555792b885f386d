"""``fetch_scene`` against a real STAC API server on localhost (stac-fastapi-static), COGs read
over HTTP range requests by odc-stac; generated tiles always, real Sentinel-2 tiles when
``../shared/data`` is present."""

from __future__ import annotations


import numpy as np
import pytest
import rasterio
from rasterio.warp import transform_bounds

from landslide_fusion.bands import L4S14
from landslide_fusion.domains import L4S_MEANS
from landslide_fusion.errors import LandslideError

X0, Y0 = 397_000.0, 2_490_000.0  # generated tiles' north-west corner (tests/stac_catalog.py)


def generated_box(x0=X0 + 100, y0=Y0 - 400, x1=X0 + 860, y1=Y0 - 60) -> str:
    """A box (degrees) over both generated tiles (their border is at X0 + 480 m)."""
    return ",".join(f"{v:.6f}" for v in transform_bounds("EPSG:32646", "EPSG:4326", x0, y0, x1, y1))


def _expected(tiles, band: str, src) -> np.ndarray:
    """Per output pixel: median of clear reflectances of ``band`` over both dates (tiles' DNs)."""
    rows, cols = np.mgrid[0 : src.height, 0 : src.width]
    x, y = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    x, y = np.asarray(x).reshape(rows.shape), np.asarray(y).reshape(rows.shape)
    per_date: dict[str, np.ndarray] = {}
    for t in tiles:
        r = np.floor((t.transform.f - y) / 10).astype(int)
        c = np.floor((x - t.transform.c) / 10).astype(int)
        h, w = t.bands["B04"].shape
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        rr, cc = np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)
        offset = 1000 if t.properties.get("s2:processing_baseline") == "05.09" else 0
        v = (t.bands[band][rr, cc].astype(float) - offset) / 10000
        v[~inside | (t.bands["SCL"][rr, cc] == 9)] = np.nan
        acc = per_date.setdefault(t.date, np.full(rows.shape, np.nan))
        acc[inside] = np.where(np.isnan(acc[inside]), v[inside], acc[inside])
    return np.nanmedian(np.stack(list(per_date.values())), axis=0)


def test_fetch_generated_composite(stac_generated, tmp_path):
    from landslide_fusion.acquire import fetch_scene

    out = tmp_path / "scene.tif"
    r = fetch_scene(generated_box(), "2024-08-01/2024-08-31", out, catalog=stac_generated.url, progress=False)
    assert r["convention"] == "earth-search" and r["dates"] == ["2024-08-05", "2024-08-10"] and len(r["items"]) == 4
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 32646 and src.res == (10.0, 10.0)
        assert src.descriptions == L4S14.bands
        assert src.tags()["DOMAIN_SCALE"] == "reflectance" and "filled" in src.tags(10)["SOURCE"]
        assert (
            src.tags(1)["S2_BAND"] == "B01" and src.tags(12)["S2_BAND"] == "B12" and src.tags(13)["UNITS"] == "degrees"
        )
        x = src.read()
        for band, i in (("B04", 3), ("B08", 7), ("B02", 1)):
            # 10 m bands: exact median of clear observations, offset of baseline 05.09 removed
            assert np.allclose(x[i], _expected(stac_generated.tiles, band, src), atol=1e-6)
    assert np.all(x[9] == 0)  # B10: filled
    assert np.isfinite(x).all()  # both tiles cover the box, and every pixel had a clear date
    assert np.allclose(x[12], 30.0, atol=0.01)  # SLOPE of the 30-degree plane
    assert np.all(np.diff(x[13], axis=1) > 0)  # DEM rises eastwards


def test_fetch_l4s_scale(stac_generated, tmp_path):
    from landslide_fusion.acquire import fetch_scene

    box = generated_box()
    a = fetch_scene(box, "2024-08-10", tmp_path / "a.tif", catalog=stac_generated.url, progress=False)
    b = fetch_scene(box, "2024-08-10", tmp_path / "b.tif", catalog=stac_generated.url, scale="l4s", progress=False)
    assert b["domain"]["scale"] == "l4s" and a["dates"] == ["2024-08-10"]
    with rasterio.open(tmp_path / "a.tif") as s1, rasterio.open(tmp_path / "b.tif") as s2:
        x, y = s1.read(), s2.read()
    assert np.allclose(y[3], x[3] * 10000 / L4S_MEANS["B4"], rtol=1e-5)
    assert np.allclose(y[12], x[12] / L4S_MEANS["SLOPE"], rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(date="2024-07-01"), "closest dates with imagery: 2024-08-05, 2024-08-10"),
        (dict(date="2099-01-01"), "in the future"),
        (dict(bbox="92.1,22.4,92.0,22.5"), "must be less than east"),
        (dict(bbox="190,22,191,23"), "outside [-180, 180]"),
        (dict(max_area_km2=0.01), "more than the limit"),
        (dict(convention="planetary-computer"), "no item has the assets of convention 'planetary-computer'"),
        (dict(catalog="unreachable"), "cannot be reached"),
        (dict(retries=-1), "retries -1 must be between 0 and 20"),
        (dict(boa_offset=-5), "BOA offset -5 must be a DN"),
    ],
)
def test_fetch_bad_input_writes_nothing(stac_generated, tmp_path, kwargs, words):
    from landslide_fusion.acquire import fetch_scene
    from tests.stac_catalog import free_port

    args = {"bbox": generated_box(), "date": "2024-08-01/2024-08-31", "catalog": stac_generated.url, **kwargs}
    if args["catalog"] == "unreachable":
        args["catalog"] = f"http://127.0.0.1:{free_port()}"
    out = tmp_path / "out" / "scene.tif"
    with pytest.raises(LandslideError) as e:
        fetch_scene(args.pop("bbox"), args.pop("date"), out, progress=False, **args)
    assert words in str(e.value) and "\n" not in str(e.value)
    assert not out.exists() and not any(p for p in tmp_path.rglob("*") if p.is_file())


def test_fetch_real_tiles(stac_real, tmp_path):
    """Two adjacent real tiles (EPSG:4326 DNs) reprojected to 10 m UTM: the box spans their
    border, and the red band keeps the tiles' values (nearest resampling)."""
    from landslide_fusion.acquire import fetch_scene
    from tests.conftest import shared
    from tests.stac_catalog import REAL_TILES

    folder = shared("sentinel2_geotiff/images")
    with rasterio.open(folder / REAL_TILES[0]) as a, rasterio.open(folder / REAL_TILES[1]) as b:
        red = np.concatenate([a.read(1), b.read(1)], axis=1)
        border = a.bounds.right
        top, bottom = a.bounds.top, a.bounds.bottom
    box = f"{border - 0.01},{bottom + 0.004},{border + 0.01},{top - 0.004}"
    r = fetch_scene(box, "2024-08-10", tmp_path / "s.tif", catalog=stac_real.url, progress=False)
    assert r["convention"] == "planetary-computer" and len(r["items"]) == 2 and r["crs"] == "EPSG:32646"
    with rasterio.open(tmp_path / "s.tif") as src:
        x = src.read(4)  # B4
    valid = red[red > 0] / 10000
    # the tiles hold nodata (0) areas of their own, but no column is empty: no gap at the border
    assert np.isfinite(x).any(axis=0).all() and np.isfinite(x).mean() > 0.5
    got = x[np.isfinite(x)]
    assert np.isin(np.round(got * 10000), np.round(valid * 10000)).all()
    assert abs(np.median(got) - np.median(valid)) < 0.1 * np.median(valid)
