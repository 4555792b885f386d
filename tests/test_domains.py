"""Input domains: conversions, refusals, the check of undeclared inputs, and Landslide4Sense's scaling checked on
real samples."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from landslide_fusion.bands import L4S14
from landslide_fusion.domains import (
    L4S_MEANS,
    Domain,
    DomainError,
    band_factors,
    convert,
    declared_scale,
    input_factors,
    run_domain,
)
from landslide_fusion.io.sample import Sample
from landslide_fusion.stats import compute_band_stats
from landslide_fusion.synth import synth_patch
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
        refl = convert(
            np.moveaxis(np.asarray(h5py.File(f)["img"]), -1, 0),
            L4S14.bands,
            Domain("l4s14", "l4s"),
            Domain("l4s14", "reflectance"),
        )
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
    assert run_domain({"domain": {"band_set": "l4s14", "scale": "reflectance"}}, "l4s14") == Domain(
        "l4s14", "reflectance"
    )
    assert run_domain({}, "l4s14") == Domain("l4s14", "l4s")
    assert run_domain({}, "rgb") == Domain("rgb", "uint8")


def _l4s_stats():
    """Training statistics of generated Landslide4Sense-scale patches (what an l4s run's band_stats.json holds)."""
    rng = np.random.default_rng(0)
    patches = [synth_patch(rng, 32)[0] for _ in range(4)]
    return compute_band_stats(Sample(str(i), p, L4S14.bands) for i, p in enumerate(patches)), patches[0]


def test_input_factors_convert_declared_scales_to_the_runs():
    stats, l4s = _l4s_stats()
    run = Domain("l4s14", "l4s")
    means = np.array([L4S_MEANS[b] for b in L4S14.bands], np.float32)
    refl = l4s * means[:, None, None] * np.where(np.isin(L4S14.bands, ("SLOPE", "DEM")), 1, 1e-4)[:, None, None]
    for scale, x in (("reflectance", refl), ("s2-dn", l4s * means[:, None, None]), ("l4s", l4s), (None, l4s)):
        f = input_factors(x, L4S14.bands, scale, run, stats, "x.tif")
        np.testing.assert_allclose(x * f[:, None, None], l4s, rtol=1e-5, err_msg=str(scale))
    # a band outside l4s14 takes the divisor of the l4s14 band with its role (RED: B4)
    f = band_factors(("RED", "GREEN", "BLUE", "NIR"), Domain("rgbn", "l4s"), Domain("rgbn", "s2-dn"))
    np.testing.assert_allclose(f, [L4S_MEANS[b] for b in ("B4", "B3", "B2", "B8")], rtol=1e-6)


def test_input_off_the_runs_scale_is_refused_in_one_line():
    stats, l4s = _l4s_stats()
    run = Domain("l4s14", "l4s")
    means = np.array([L4S_MEANS[b] for b in L4S14.bands], np.float32)[:, None, None]
    with pytest.raises(DomainError) as e:  # 8-bit: declared, no conversion
        input_factors(l4s.astype(np.uint8), L4S14.bands, "uint8", run, stats, "scene.tif")
    assert str(e.value).startswith(
        "scene.tif: input is l4s14/uint8 (8-bit values 0-255) but the run was trained on "
        "l4s14/l4s (Landslide4Sense values"
    ) and "\n" not in str(e.value)
    with pytest.raises(
        DomainError,
        match=r"^x.tif: input values are far above the run's training values in 1\d of 14 "
        r"bands .*declares no scale, so the run's was assumed.*DOMAIN_SCALE",
    ):
        input_factors(l4s * means, L4S14.bands, None, run, stats, "x.tif")  # DNs, undeclared
    with pytest.raises(
        DomainError, match=r"far below the run's training values .*declares l4s14/reflectance, converted to l4s14/l4s"
    ):
        input_factors(l4s * 1e-4, L4S14.bands, "reflectance", run, stats, "x.tif")  # a wrong tag
    sparse = l4s.copy()
    sparse[:, 4:] = 0  # mostly zero fill: zeros are not judged
    assert (input_factors(sparse, L4S14.bands, None, run, stats, "x.tif") == 1).all()


def test_declared_scale_from_tags_and_pixels():
    assert declared_scale({"DOMAIN_SCALE": "s2-dn"}, "float32", "a.tif") == "s2-dn"
    assert declared_scale({}, "uint8", "a.png") == "uint8" and declared_scale({}, "float32", "a.tif") is None
    with pytest.raises(DomainError, match=r"a.tif: tag DOMAIN_SCALE='dB' is not a value scale; valid: reflectance"):
        declared_scale({"DOMAIN_SCALE": "dB"}, "float32", "a.tif")


def _png16(path, x: np.ndarray) -> None:
    """``x`` (C, H, W) uint16 written as a 16-bit PNG (GDAL's PNG driver)."""
    import warnings

    import rasterio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not georeferenced
        with rasterio.open(
            path, "w", driver="PNG", width=x.shape[2], height=x.shape[1], count=len(x), dtype="uint16"
        ) as d:
            d.write(x)


def test_16_bit_pngs_are_read_as_16_bit_and_checked_like_undeclared_inputs(tmp_path):
    """12-bit values in a 16-bit RGB PNG (1968-3584) were read by Pillow as their high byte (7-14)
    and declared uint8; they are read as they are and refused by a run trained on 8-bit images."""
    from landslide_fusion.domains import training_domain
    from landslide_fusion.io.raster import read_raster

    rng = np.random.default_rng(0)
    x = rng.integers(1968, 3585, (3, 16, 16)).astype(np.uint16)
    _png16(tmp_path / "rgb.png", x)
    arr, geo, scale = read_raster(tmp_path / "rgb.png")
    assert arr.dtype == np.uint16 and scale is None and geo is None
    np.testing.assert_array_equal(arr, x)
    _png16(tmp_path / "grey.png", x[:1])
    np.testing.assert_array_equal(read_raster(tmp_path / "grey.png")[0], x[:1])
    _png16(tmp_path / "rgba.png", np.concatenate([x, np.full_like(x[:1], 65535)]))  # alpha dropped, as for 8 bits
    np.testing.assert_array_equal(read_raster(tmp_path / "rgba.png")[0], x)
    # an 8-bit run (its training values: 0-255 images) against the undeclared 16-bit image
    rgb = ("RED", "GREEN", "BLUE")
    eight = [Sample(str(i), rng.integers(0, 256, (3, 16, 16)).astype(np.float32), rgb) for i in range(3)]
    stats = compute_band_stats(eight)
    with pytest.raises(DomainError, match=r"^b.png: input values reach 35\d\d, beyond the 0-255 of the run's scale"):
        input_factors(arr.astype(np.float32), rgb, scale, Domain("rgb", "uint8"), stats, "b.png")
    assert (input_factors(eight[0].image, rgb, "uint8", Domain("rgb", "uint8"), stats, "a.png") == 1).all()
    # training on them without a declared scale is refused up front instead of recording uint8
    with pytest.raises(DomainError, match=r"beyond the 0-255 of uint8 .*band set rgb .*DOMAIN_SCALE"):
        training_domain("rgb", scale, arr.astype(np.float32), "data: image rgb")
    assert training_domain("rgb", "s2-dn", arr, "x") == Domain("rgb", "s2-dn")
