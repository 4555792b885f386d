"""Acquisition pieces without a server: request checks, Sentinel-2 facts, slope, conventions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from landslide_fusion.acquire.catalogs import EARTH_SEARCH, PLANETARY_COMPUTER, detect_convention, get_convention
from landslide_fusion.acquire.request import box_size_km, check_box_size, parse_bbox, parse_dates, utm_epsg
from landslide_fusion.acquire.sentinel2 import boa_offset, clear_mask, to_reflectance
from landslide_fusion.acquire.terrain import slope_degrees
from landslide_fusion.errors import ConfigError, DataError


@pytest.mark.parametrize("text, words", [
    ("92.1,22.4,92.0,22.5", "west 92.1 must be less than east 92"),
    ("92.0,22.5,92.1,22.4", "south 22.5 must be less than north"),
    ("190,22,191,23", "outside [-180, 180] x [-90, 90]"),
    ("10,-95,11,-80", "outside"),
    ("a,b,c,d", "four numbers"),
    ("1,2,3", "four finite numbers"),
])
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


def test_boa_offset_rules():
    assert boa_offset({"s2:processing_baseline": "05.09"}) == 1000  # Planetary Computer: not harmonised
    assert boa_offset({"s2:processing_baseline": "04.00"}) == 1000
    assert boa_offset({"s2:processing_baseline": "02.14"}) == 0
    assert boa_offset({}) == 0
    assert boa_offset({"s2:processing_baseline": "05.09", "earthsearch:boa_offset_applied": True}) == 0
    assert boa_offset({"s2:processing_baseline": "05.09"}, "sentinel-2-c1-l2a") == 0


def test_reflectance_scaling_and_nodata():
    dn = np.array([0, 1000, 1500, 11000, 500], np.uint16)
    assert np.allclose(to_reflectance(dn), [np.nan, 0.1, 0.15, 1.1, 0.05], equal_nan=True)
    r = to_reflectance(dn, offset=1000)
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
    assert EARTH_SEARCH.asset("B11") == "swir16" and PLANETARY_COMPUTER.asset("B11") == "B11"
    with pytest.raises(DataError, match="has no asset for band B10"):
        EARTH_SEARCH.asset("B10")
    with pytest.raises(ConfigError, match="valid: earth-search, planetary-computer"):
        get_convention("sentinelhub")
    assert detect_convention({"red": 1, "scl": 1}, "x") is EARTH_SEARCH
    assert detect_convention({"B04": 1, "SCL": 1}, "x") is PLANETARY_COMPUTER
    with pytest.raises(DataError, match="match no known catalog convention"):
        detect_convention({"image": 1}, "x")


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
