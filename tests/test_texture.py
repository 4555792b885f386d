"""Texture and shape descriptors (fusion.texture): each property on an image built to have it."""

import numpy as np
import pytest

from landslide_fusion.fusion.texture import (
    bright_patches,
    lbp_histogram,
    local_contrast,
    orientation_coherence,
    spread,
    texture_descriptors,
)


def _stripes(n: int = 96, period: int = 8) -> np.ndarray:
    x = np.arange(n, dtype=np.float32)
    return np.tile((np.sin(2 * np.pi * x / period) > 0).astype(np.float32), (n, 1))


def _noise(n: int = 96, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, n), dtype=np.float32)


def test_descriptors_do_not_depend_on_the_sensor_scale():
    g = _noise() * 0.3 + _stripes() * 0.5
    a, b = texture_descriptors(g), texture_descriptors(g * 255.0 + 12.0)
    assert a.keys() == b.keys()
    assert np.allclose([a[k] for k in a], [b[k] for k in a], atol=1e-4)
    assert all(np.isfinite(v) for v in a.values())


def test_spread_of_a_flat_image_is_zero():
    assert not spread(np.full((5, 5), 7.0)).any()


def test_furrows_are_coherent_and_noise_is_not():
    # fields and terraces: gradients point one way; rough ground: every way
    stripes = orientation_coherence(spread(_stripes(period=16)))
    noise = orientation_coherence(spread(_noise()))
    assert stripes["coherence2_mean"] > 0.9 > 0.5 > noise["coherence2_mean"]


def test_local_contrast_grows_with_roughness():
    smooth, rough = np.full((64, 64), 0.5, np.float32), _noise(64)
    smooth[0, 0], smooth[-1, -1] = 0.0, 1.0  # same spread, flat inside
    assert local_contrast(spread(rough))["contrast7_mean"] > 10 * local_contrast(spread(smooth))["contrast7_mean"]


def test_lbp_shares_sum_to_one_and_flat_ground_is_pattern_zero():
    assert sum(lbp_histogram(_noise()).values()) == pytest.approx(1.0)
    flat = lbp_histogram(np.zeros((10, 10), np.float32))
    assert flat["lbp_0"] == 1.0


def test_bright_patch_shapes():
    field = np.zeros((100, 100), np.float32)
    field[20:40, 10:90] = 1.0  # a rectangle 80 x 20: extent 1, elongation 4
    f = bright_patches(field)
    assert f["bright_largest"] == pytest.approx(0.16, rel=0.05)
    assert f["bright_extent"] > 0.95 and f["bright_elongation"] == pytest.approx(4.0, rel=0.1)
    yy, xx = np.mgrid[:100, :100]
    scar = ((yy - 50) ** 2 + (xx - 50) ** 2 < 20**2).astype(np.float32)  # a disc
    d = bright_patches(scar)
    assert d["bright_compactness"] > 0.8 > f["bright_compactness"]
    assert d["bright_patches"] == pytest.approx(1.0)  # one patch per 10,000 px
    none = bright_patches(np.zeros((50, 50), np.float32))
    assert none["bright_share"] == 0 and none["bright_largest"] == 0 and none["bright_extent"] == 0


def test_nodata_pixels_and_tiny_images_give_finite_descriptors():
    g = _noise(32)
    g[3, 4], g[10, 10] = np.nan, np.inf
    with_nodata = texture_descriptors(g)
    assert all(np.isfinite(v) for v in with_nodata.values())
    assert with_nodata["coherence2_mean"] == pytest.approx(texture_descriptors(_noise(32))["coherence2_mean"], abs=0.02)
    assert not spread(np.full((4, 4), np.nan)).any()
    for shape in ((1, 1), (2, 2), (1, 50)):
        tiny = texture_descriptors(np.arange(np.prod(shape), dtype=np.float32).reshape(shape))
        assert all(np.isfinite(v) for v in tiny.values())
        assert sum(v for k, v in tiny.items() if k.startswith("lbp_")) == pytest.approx(1.0)


def test_shape_ratios_stay_within_one():
    square = np.zeros((40, 40), np.float32)
    square[10:20, 10:20] = 1.0
    yy, xx = np.mgrid[:40, :40]
    disc = ((yy - 20) ** 2 + (xx - 20) ** 2 < 6**2).astype(np.float32)
    for g in (square, disc):
        f = bright_patches(g)
        assert 0 < f["bright_extent"] <= 1 and 0 < f["bright_solidity"] <= 1 and 0 < f["bright_compactness"] <= 1
