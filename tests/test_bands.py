import pytest

from landslide_fusion.bands import L4S14, RGB, BandSet, Role, get_band_set
from landslide_fusion.errors import BandError


def test_l4s14_layout():
    assert len(L4S14) == 14
    assert L4S14.bands[:12] == tuple(f"B{i}" for i in range(1, 13))
    assert L4S14.index(L4S14.band_for(Role.NIR)) == 7
    assert L4S14.index("DEM") == 13


def test_unknown_band_lists_valid_names():
    with pytest.raises(BandError, match="valid bands: RED, GREEN, BLUE"):
        RGB.index("NIR")


def test_missing_role_names_what_exists():
    with pytest.raises(BandError, match="no nir band"):
        RGB.band_for(Role.NIR)
    assert not RGB.has(Role.NIR) and RGB.has(Role.RED, Role.BLUE)


def test_get_band_set_error_lists_registry():
    assert get_band_set("rgbn").bands[-1] == "NIR"
    with pytest.raises(BandError, match="valid: l4s14, rgb, rgbn"):
        get_band_set("rgbx")


def test_band_set_rejects_bad_definitions():
    with pytest.raises(BandError):
        BandSet("x", ("A", "A"))
    with pytest.raises(BandError):
        BandSet("x", ("A",), {Role.RED: "B"})
