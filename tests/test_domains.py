"""Input domains: conversions, refusals, and Landslide4Sense's scaling checked on real samples."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from landslide_fusion.bands import L4S14
from landslide_fusion.domains import L4S_MEANS, Domain, DomainError, band_factors, convert, run_domain
from tests.conftest import shared


def test_l4s_samples_are_integers_divided_by_the_mean_vector():
    """Each real sample value times its band's divisor is a whole number: Sentinel-2 DNs, slope in
    degrees, DEM in metres (the scaling the dataset's authors describe)."""
    folder = shared("l4s_samples/img")
    means = np.array([L4S_MEANS[b] for b in L4S14.bands])
    files = sorted(folder.glob("*.h5"))
    assert files
    for f in files:
        with h5py.File(f) as h:
            raw = np.asarray(h["img"], np.float64) * means  # (128, 128, 14)
        assert np.abs(raw - np.round(raw)).max() < 1e-3, f
        dn = raw[..., :12]
        assert 0 <= dn.min() and dn.max() < 20000  # reflectance x 10000
        assert 0 <= raw[..., 12].min() and raw[..., 12].max() <= 90  # slope, degrees
        # and the documented conversion gives reflectance in 0-1 (+ degrees, metres)
        refl = convert(np.moveaxis(np.asarray(h5py.File(f)["img"]), -1, 0), L4S14.bands,
                       Domain("l4s14", "l4s"), Domain("l4s14", "reflectance"))
        assert 0 <= refl[:12].min() and refl[:12].max() < 2
        assert np.allclose(refl[12], raw[..., 12], atol=1e-3)


def test_conversions_round_trip():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 0.5, (14, 4, 4)).astype(np.float32)
    x[12], x[13] = 25.0, 900.0
    refl, dn, l4s = (Domain("l4s14", s) for s in ("reflectance", "s2-dn", "l4s"))
    y = convert(x, L4S14.bands, refl, l4s)
    assert np.allclose(y[3], x[3] * 10000 / 445.17289745) and np.allclose(y[13], 900 / 772.83144788)
    assert np.allclose(convert(y, L4S14.bands, l4s, refl), x, rtol=1e-5)
    assert np.allclose(convert(x, L4S14.bands, refl, dn)[:12], x[:12] * 10000, rtol=1e-6)
    assert np.all(band_factors(L4S14.bands, dn, dn) == 1)


def test_refusal_names_both_domains():
    with pytest.raises(DomainError) as e:
        band_factors(("RED", "GREEN", "BLUE"), Domain("rgb", "reflectance"), Domain("rgb", "uint8"))
    msg = str(e.value)
    assert "rgb/reflectance" in msg and "rgb/uint8" in msg and "\n" not in msg
    with pytest.raises(DomainError, match="unknown value scale 'dB'"):
        Domain("l4s14", "dB")


def test_run_domain_recorded_or_default():
    assert run_domain({"domain": {"band_set": "l4s14", "scale": "reflectance"}}, "l4s14") == Domain("l4s14", "reflectance")
    assert run_domain({}, "l4s14") == Domain("l4s14", "l4s")
    assert run_domain({}, "rgb") == Domain("rgb", "uint8")
