"""Filters against their peer libraries: OpenCV's defaults and scipy.ndimage, even and odd sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landslide_fusion.engineering import filters
from landslide_fusion.engineering.filters import (
    box_blur,
    gaussian_blur,
    gaussian_kernel1d,
    median_blur,
    median_blur_levels,
    median_blur_uint8,
    quantize_uint8,
    sobel,
)
from landslide_fusion.engineering.opencv import median_blur_u8

cv2 = pytest.importorskip("cv2")
ndi = pytest.importorskip("scipy.ndimage")

SIZES = [1, 2, 3, 4, 5, 6, 7, 10, 15]
SHAPES = [(19, 17), (3, 4), (1, 5)]  # windows larger than the image mirror periodically


def _image(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def _run(f, a: np.ndarray, *args) -> np.ndarray:
    return f(torch.from_numpy(a)[None, None], *args)[0, 0].numpy()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("k", SIZES)
def test_box_blur_equals_cv2_blur(shape, k):
    a = _image(shape, k)
    np.testing.assert_allclose(_run(box_blur, a, k), cv2.blur(a, (k, k)), atol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("k", SIZES)
def test_gaussian_blur_equals_scipy_correlate_with_the_sampled_kernel(shape, k):
    a = _image(shape, k)
    g = gaussian_kernel1d(k, dtype=torch.float64).numpy()
    ref = ndi.correlate1d(ndi.correlate1d(a.astype(np.float64), g, 0, mode="mirror"), g, 1, mode="mirror")
    np.testing.assert_allclose(_run(gaussian_blur, a, k), ref, atol=1e-6)


@pytest.mark.parametrize("k", [3, 5, 9, 11])
def test_gaussian_blur_equals_cv2_gaussian_blur_for_odd_sizes(k):
    a = _image((19, 17), k)
    sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8
    np.testing.assert_allclose(_run(gaussian_blur, a, k), cv2.GaussianBlur(a, (k, k), sigma), atol=1e-6)
    np.testing.assert_allclose(_run(gaussian_blur, a, k, 1.7), cv2.GaussianBlur(a, (k, k), 1.7), atol=1e-6)
    if k >= 11:  # below that OpenCV's sigma=0 taps come from a table
        np.testing.assert_allclose(_run(gaussian_blur, a, k), cv2.GaussianBlur(a, (k, k), 0), atol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("k", SIZES)
def test_median_blur_equals_scipy_rank_filter(shape, k):
    a = _image(shape, k)
    ties = np.floor(a * 4)  # many equal values
    for img in (a, ties):
        ref = ndi.rank_filter(img, (k * k - 1) // 2, size=k, mode="mirror")
        np.testing.assert_array_equal(_run(median_blur, img, k), ref)
    if k % 2:
        np.testing.assert_array_equal(_run(median_blur, a, k), ndi.median_filter(a, k, mode="mirror"))


def test_median_blur_equals_cv2_median_blur_away_from_the_border():
    a = (_image((24, 20)) * 255).astype(np.uint8)
    k, r = 15, 7
    got = _run(median_blur, a.astype(np.float32), k)
    np.testing.assert_array_equal(got[r:-r, r:-r], cv2.medianBlur(a, k)[r:-r, r:-r])


def _recipe_levels(a: np.ndarray) -> tuple[np.ndarray, np.float32, np.float32]:
    """The authors' recipe in NumPy float32: 8 bits from the patch's own range, rounded."""
    lo, hi = a.min(), a.max()
    span = np.float32(hi - lo)
    return np.round((a - lo) / max(span, np.float32(1e-6)) * np.float32(255)), lo, span / np.float32(255)


def test_quantize_uint8_is_the_recipe_and_a_constant_image_is_all_zero():
    a = _image((19, 17)) * 7 - 2
    levels, lo, step = (t[0, 0].numpy() for t in quantize_uint8(torch.from_numpy(a)[None, None]))
    ref, ref_lo, ref_step = _recipe_levels(a)
    np.testing.assert_array_equal(levels, ref)
    assert levels.min() == 0 and levels.max() == 255 and lo == ref_lo and step == ref_step
    assert np.abs(lo + levels * step - a).max() <= step / 2 + 1e-6
    assert quantize_uint8(torch.full((1, 1, 4, 4), 3.0))[0].abs().max() == 0


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("k", [1, 3, 5, 7, 11, 15])
def test_median_blur_uint8_equals_cv2_median_blur_of_the_8bit_image_everywhere(shape, k):
    a = _image(shape, k) * 3 + 1
    levels, lo, step = _recipe_levels(a)
    ref = lo + cv2.medianBlur(levels.astype(np.uint8), k).astype(np.float32) * step  # border included
    np.testing.assert_allclose(_run(median_blur_uint8, a, k), ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("k", [1, 3, 5, 7, 11, 15])
def test_both_8bit_median_kernels_agree_with_cv2(shape, k):
    """The comparator network (GPU, ONNX, even sizes) and the OpenCV thread pool (CPU): same numbers."""
    levels = torch.from_numpy(np.random.default_rng(k).integers(0, 256, (5, *shape), dtype=np.uint8))
    ref = np.stack([cv2.medianBlur(np.ascontiguousarray(img), k) for img in levels.numpy()])
    np.testing.assert_array_equal(median_blur_u8(levels, k).numpy(), ref)
    np.testing.assert_array_equal(median_blur_levels(levels.float(), k).numpy(), ref)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("k", [2, 4, 6, 10])
def test_8bit_median_of_even_windows_is_the_lower_median_with_repeated_edges(shape, k):
    levels = np.random.default_rng(k).integers(0, 8, shape).astype(np.float32)  # many ties
    before, after = k // 2, (k - 1) // 2
    p = np.pad(levels, ((before, after), (before, after)), mode="edge")
    ref = np.array(
        [
            [np.sort(p[i : i + k, j : j + k].ravel())[(k * k + 1) // 2 - 1] for j in range(shape[1])]
            for i in range(shape[0])
        ]
    )
    np.testing.assert_array_equal(median_blur_levels(torch.from_numpy(levels)[None], k)[0].numpy(), ref)


def test_8bit_median_runs_opencv_on_cpu_for_odd_sizes_only(monkeypatch):
    calls = []
    monkeypatch.setattr(filters, "median_blur_u8", lambda levels, k: calls.append(k) or median_blur_u8(levels, k))
    x = torch.rand(2, 3, 16, 16)
    odd, even = median_blur_uint8(x, 11), median_blur_uint8(x, 10)
    assert calls == [11] and odd.shape == even.shape == x.shape


@pytest.mark.parametrize("shape", SHAPES)
def test_sobel_equals_cv2_sobel(shape):
    a = _image(shape)
    gx, gy = sobel(torch.from_numpy(a)[None, None])
    np.testing.assert_allclose(gx[0, 0].numpy(), cv2.Sobel(a, -1, 1, 0), atol=1e-5)
    np.testing.assert_allclose(gy[0, 0].numpy(), cv2.Sobel(a, -1, 0, 1), atol=1e-5)


def test_box_blur_reproduces_the_authors_cv2_blur_on_real_patches():
    from .conftest import shared

    from landslide_fusion.io import L4SDataset
    from landslide_fusion.engineering import BandEngineer

    ds = L4SDataset(shared("l4s_samples"))
    engineer = BandEngineer("l4s14", "l4s23", blur="box")
    y = engineer(torch.from_numpy(np.stack([s.image for s in ds])))
    gray, gauss = (y[:, engineer.out_bands.index(n)].numpy() for n in ("GRAY", "GAUSS"))
    np.testing.assert_allclose(gauss, np.stack([cv2.blur(g, (10, 10)) for g in gray]), atol=1e-5)
