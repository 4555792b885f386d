"""Acquisition pieces without a server: request checks, Sentinel-2 facts (scaling decided from
real items' metadata), slope, conventions, the DEM mosaic."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from landslide_fusion.acquire.catalogs import EARTH_SEARCH, PLANETARY_COMPUTER, choose_convention, get_convention
from landslide_fusion.acquire.request import box_size_km, check_box_size, parse_bbox, parse_dates, utm_epsg
from landslide_fusion.acquire.sentinel2 import Scaling, clear_mask, decide_scaling, to_reflectance
from landslide_fusion.acquire.terrain import slope_degrees
from landslide_fusion.errors import ConfigError, DataError


@pytest.mark.parametrize(
    "text, words",
    [
        ("92.1,22.4,92.0,22.5", "west 92.1 must be less than east 92"),
        ("92.0,22.5,92.1,22.4", "south 22.5 must be less than north"),
        ("190,22,191,23", "outside [-180, 180] x [-90, 90]"),
        ("10,-95,11,-80", "outside"),
        ("a,b,c,d", "four numbers"),
        ("1,2,3", "four finite numbers"),
    ],
)
def test_bad_bbox_one_clear_line(text, words):
    with pytest.raises(DataError, match=None) as e:
        parse_bbox(text)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_dates():
    assert str(parse_dates("2024-08-01")) == "2024-08-01"
    r = parse_dates("2024-08-01/2024-08-31")
    assert r.stac() == "2024-08-01T00:00:00Z/2024-08-31T23:59:59Z"
    with pytest.raises(DataError, match="in the future"):
        parse_dates("2030-01-01", today=dt.date(2026, 11, 22))
    with pytest.raises(DataError, match="ends before it starts"):
        parse_dates("2024-08-31/2024-08-01")
    with pytest.raises(DataError, match="YYYY-MM-DD"):
        parse_dates("yesterday")


def test_utm_zone_and_size():
    assert utm_epsg(parse_bbox("92,22.4,92.1,22.5")) == 32646
    assert utm_epsg(parse_bbox("-70.1,-33.5,-70,-33.4")) == 32719
    w, h = box_size_km(parse_bbox("0,0,0.09,0.09"))
    assert w == pytest.approx(10.0, rel=0.01) and h == pytest.approx(10.0, rel=0.01)
    with pytest.raises(DataError, match="more than the limit of 50 km"):
        check_box_size(parse_bbox("0,0,1,1"), 50)


def _scaling(item: dict, keys=("red", "blue"), override=None) -> Scaling:
    return decide_scaling(
        item["id"], item["properties"], {k: item["assets"][k] for k in keys if k in item["assets"]}, override
    )


def test_scaling_from_real_items_metadata():
    """Earth Search sentinel-2-l2a: flag true wins over its raster:bands offset -0.1
    (earth-search#9); sentinel-2-c1-l2a: raster:bands -0.1 and baseline 05.11 agree; Planetary
    Computer: the baseline rule alone."""
    from tests.stac_items import fixture_items

    es, pc = fixture_items("earth-search"), fixture_items("planetary-computer")
    l2a, c1 = es["S2B_24MUV_20250731_0_L2A"], es["S2B_T24MUV_20250731T130245_L2A"]
    pc_item = next(v for k, v in pc.items() if "T46XER" in k)
    assert _scaling(l2a) == Scaling(1e-4, 0.0, "earthsearch:boa_offset_applied=true")
    assert _scaling(c1) == Scaling(1e-4, 1000.0, "raster:bands")
    assert _scaling(pc_item, ("B04", "B02")) == Scaling(1e-4, 1000.0, "s2:processing_baseline 05.10")
    l2a["properties"]["earthsearch:boa_offset_applied"] = False  # as on the items of earth-search#66 and #71
    assert _scaling(l2a).dn_offset == 1000
    l2a["properties"]["s2:processing_baseline"] = "02.14"
    assert _scaling(l2a).dn_offset == 0
    assert _scaling(c1, override=0) == Scaling(1e-4, 0.0, "--boa-offset")
    del pc_item["properties"]["s2:processing_baseline"]
    assert _scaling(pc_item, ("B04",)).dn_offset == 0


@pytest.mark.parametrize(
    "change, words",
    [
        (
            lambda it: it["properties"].update({"s2:processing_baseline": "02.14"}),
            "raster:bands offset -0.1 (DN offset 1000) contradicts s2:processing_baseline 02.14",
        ),
        (
            lambda it: it["assets"]["blue"]["raster:bands"][0].update(offset=0.0),
            "declare different raster:bands scaling",
        ),
    ],
)
def test_contradicting_metadata_refused_naming_the_item(change, words):
    from tests.stac_items import fixture_items

    c1 = fixture_items("earth-search")["S2B_T24MUV_20250731T130245_L2A"]
    change(c1)
    with pytest.raises(DataError) as e:
        _scaling(c1)
    assert words in str(e.value) and "S2B_T24MUV_20250731T130245_L2A" in str(e.value) and "\n" not in str(e.value)


def test_reflectance_scaling_and_nodata():
    dn = np.array([0, 1000, 1500, 11000, 500], np.uint16)
    assert np.allclose(to_reflectance(dn, Scaling(1e-4, 0, "x")), [np.nan, 0.1, 0.15, 1.1, 0.05], equal_nan=True)
    r = to_reflectance(dn, Scaling(1e-4, 1000, "x"))
    assert np.isnan(r[0]) and np.allclose(r[1:], [0.0, 0.05, 1.0, 0.0])


def test_scl_mask():
    scl = np.arange(12)
    assert clear_mask(scl).tolist() == [False, False, True, False, True, True, True, True, False, False, False, True]


@pytest.mark.parametrize("angle", [0.0, 10.0, 30.0, 45.0, 60.0])
@pytest.mark.parametrize("dx", [10.0, 30.0])
def test_slope_of_tilted_plane(angle, dx):
    # plane rising at `angle` towards the north-east diagonal: gradient magnitude tan(angle)
    r, c = np.mgrid[0:20, 0:25].astype(float)
    t = np.tan(np.radians(angle)) / np.sqrt(2)
    z = 100 + t * (c * dx) + t * (-r * dx)
    assert np.allclose(slope_degrees(z, dx), angle, atol=1e-4)


def test_slope_needs_metric_grid():
    with pytest.raises(DataError, match="positive metres"):
        slope_degrees(np.zeros((3, 3)), 0.0)


def test_conventions():
    from types import SimpleNamespace

    assert EARTH_SEARCH.asset("B11") == "swir16" and PLANETARY_COMPUTER.asset("B11") == "B11"
    with pytest.raises(DataError, match="has no asset for band B10"):
        EARTH_SEARCH.asset("B10")
    with pytest.raises(ConfigError, match="valid: earth-search, planetary-computer"):
        get_convention("sentinelhub")
    es = SimpleNamespace(id="a", assets={"red": 1, "blue": 1, "scl": 1})
    no_scl = SimpleNamespace(id="b", assets={"red": 1, "blue": 1})
    pc = SimpleNamespace(id="c", assets={"B04": 1, "B02": 1, "SCL": 1})
    conv, usable, skipped = choose_convention([no_scl, es], ("B04", "B02"), None, "x")
    assert conv is EARTH_SEARCH and usable == [es] and skipped == {"b": ["scl"]}  # detected from all items
    assert choose_convention([pc], ("B04",), None, "x")[0] is PLANETARY_COMPUTER
    with pytest.raises(DataError, match="match no known catalog convention"):
        choose_convention([SimpleNamespace(id="d", assets={"image": 1})], ("B04",), None, "x")
    with pytest.raises(
        DataError, match="no item has the assets of convention 'planetary-computer'.*another --convention"
    ):
        choose_convention([es], ("B04",), "planetary-computer", "x")


def test_signing_needs_the_optional_package():
    from landslide_fusion.acquire.catalogs import sign_items

    assert sign_items(["item"], EARTH_SEARCH) == ["item"]  # Earth Search: public URLs, nothing to sign
    try:
        import planetary_computer  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="pip install planetary-computer"):
            sign_items(["item"], PLANETARY_COMPUTER)
    else:
        pytest.skip("planetary-computer is installed; its signing needs the network")


def _plane(gx: float, gy: float, epsg: int):
    """Heights (m) of a plane rising ``gx`` m per m eastwards and ``gy`` northwards on ``EPSG:epsg``,
    as ``values(key, lon, lat)``."""
    from rasterio.warp import transform

    def values(key, lon, lat):
        x, y = transform("EPSG:4326", f"EPSG:{epsg}", lon.ravel(), lat.ravel())
        return (300.0 + gx * (np.asarray(x) - 400_000) + gy * (np.asarray(y) - 2_480_000)).reshape(lon.shape)

    return values


def test_dem_tiles_are_mosaicked_before_resampling(tmp_path):
    """A plane over two Copernicus-like DEM tiles (real Planetary Computer item JSON re-keyed to
    N22 E091 and N22 E092; grids shifted half a pixel) on a box across their seam (92 E): the
    DEM is the plane and the slope its angle everywhere, the seam included."""
    import pystac

    from landslide_fusion.acquire.load import load_terrain, output_geobox
    from landslide_fusion.acquire.request import parse_bbox, utm_epsg
    from tests.stac_items import copernicus_item, fixture_items, localise

    box = parse_bbox("91.99,22.40,92.01,22.41")
    epsg, angle = utm_epsg(box), 20.0
    t = np.tan(np.radians(angle))
    values = _plane(t * np.cos(np.radians(30)), t * np.sin(np.radians(30)), epsg)
    template = fixture_items("planetary-computer")["Copernicus_DSM_COG_10_S90_00_W180_00_DEM"]
    items = [
        pystac.Item.from_dict(
            localise(
                copernicus_item(template, 22, lon), tmp_path, str(tmp_path), ["data"], box.as_tuple(), values, "float32"
            )
        )
        for lon in (91, 92)
    ]
    geobox = output_geobox(box, epsg, 10.0)
    dem, slope = (np.asarray(a.compute(scheduler="threads")) for a in load_terrain(items, "data", geobox))
    ys, xs = geobox.coordinates["y"].values, geobox.coordinates["x"].values
    xx, yy = np.meshgrid(xs, ys)
    expected = 300.0 + t * np.cos(np.radians(30)) * (xx - 400_000) + t * np.sin(np.radians(30)) * (yy - 2_480_000)
    assert np.isfinite(dem).all() and np.abs(dem - expected).max() < 0.05
    assert np.abs(slope - angle).max() < 0.05
