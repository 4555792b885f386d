"""Filters against their peer libraries: OpenCV's defaults and scipy.ndimage, even and odd sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landslide_fusion.segmentation.filters import box_blur, gaussian_blur, gaussian_kernel1d, median_blur, sobel

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


@pytest.mark.parametrize("shape", SHAPES)
def test_sobel_equals_cv2_sobel(shape):
    a = _image(shape)
    gx, gy = sobel(torch.from_numpy(a)[None, None])
    np.testing.assert_allclose(gx[0, 0].numpy(), cv2.Sobel(a, -1, 1, 0), atol=1e-5)
    np.testing.assert_allclose(gy[0, 0].numpy(), cv2.Sobel(a, -1, 0, 1), atol=1e-5)


def test_box_blur_reproduces_the_authors_cv2_blur_on_real_patches():
    from .conftest import shared

    from landslide_fusion.io import L4SDataset
    from landslide_fusion.segmentation import BandEngineer

    ds = L4SDataset(shared("l4s_samples"))
    engineer = BandEngineer("l4s14", "l4s23", blur="box")
    y = engineer(torch.from_numpy(np.stack([s.image for s in ds])))
    gray, gauss = (y[:, engineer.out_bands.index(n)].numpy() for n in ("GRAY", "GAUSS"))
    np.testing.assert_allclose(gauss, np.stack([cv2.blur(g, (10, 10)) for g in gray]), atol=1e-5)
