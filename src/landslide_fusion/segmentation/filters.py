"""Batched image filters on (B, C, H, W) tensors, any device, any kernel size (even too).

Window placement and borders follow OpenCV's defaults, which ``scipy.ndimage`` shares:

- a ``k``-tap window for output pixel ``i`` covers input pixels ``i - k // 2`` to
  ``i + (k - 1) // 2`` (OpenCV's default anchor ``k // 2``; SciPy's ``origin=0``), so an even
  window reaches one pixel further up and left than down and right;
- outside the image, pixels are mirrored without repeating the edge: ``dcb|abcd|cba``
  (OpenCV ``BORDER_REFLECT_101``, its default; SciPy ``mode="mirror"``; torch ``"reflect"``),
  periodically when the window is larger than the image.

So :func:`box_blur` equals ``cv2.blur`` (any size), :func:`gaussian_blur` equals
``cv2.GaussianBlur`` (odd sizes) and SciPy's ``correlate1d`` with the same sampled Gaussian (any
size), :func:`median_blur` equals ``scipy.ndimage.rank_filter`` at the lower-median rank (any
size), and :func:`sobel` equals ``cv2.Sobel`` (``tests/test_filters.py`` checks each).
OpenCV and kornia accept only odd Gaussian and median kernels, while the RAU-Net paper uses
10x10 kernels, hence these implementations.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .sortnet import window_median

__all__ = ["gaussian_kernel1d", "gaussian_blur", "box_blur", "median_blur", "sobel", "canny_edges"]


def _reflect101_index(n: int, before: int, after: int, device: torch.device) -> torch.Tensor:
    """Source index of each padded position, mirrored without repeating the edge, periodically."""
    i = torch.arange(-before, n + after, device=device)
    if n == 1:
        return torch.zeros_like(i)
    period = 2 * (n - 1)
    i = i.remainder(period)
    return torch.where(i >= n, period - i, i)


def _pad(x: torch.Tensor, k: int) -> torch.Tensor:
    """Pad H and W for a ``k``-tap window: ``k // 2`` before, ``(k - 1) // 2`` after, reflect-101."""
    before, after = k // 2, (k - 1) // 2
    h, w = x.shape[-2:]
    if before < min(h, w):  # torch's reflect needs the padding smaller than the image
        return F.pad(x, (before, after, before, after), mode="reflect")
    rows = _reflect101_index(h, before, after, x.device)
    cols = _reflect101_index(w, before, after, x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def gaussian_kernel1d(size: int, sigma: float | None = None, device=None, dtype=torch.float32) -> torch.Tensor:
    """Normalised 1-D Gaussian of ``size`` taps: ``g_j ∝ exp(-(j - (size - 1) / 2)² / (2 sigma²))``.

    With ``sigma=None``, ``sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8``: OpenCV's rule in
    ``cv2.getGaussianKernel``. For odd sizes the taps equal OpenCV's for any explicit sigma;
    given ``sigma <= 0`` and a small odd size (up to 7 in OpenCV 4, 9 in OpenCV 5), OpenCV
    returns fixed taps from a table instead. For even sizes the taps
    are the Gaussian sampled half a pixel either side of the centre; OpenCV's even-size taps
    are not (``cv2.GaussianBlur`` refuses even sizes).
    """
    if sigma is None:
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    t = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def _separable(x: torch.Tensor, k1: torch.Tensor) -> torch.Tensor:
    """Apply the 1-D kernel ``k1`` along width then height as sums of shifted copies.

    ``2k`` multiply-adds per pixel; on CPU several times faster than ``conv2d`` with 1-pixel-wide
    kernels, and the same graph for any batch size when exported.
    """
    weights = k1.tolist()
    h, w = x.shape[-2:]
    y = _pad(x, len(weights))
    rows = y[..., :w] * weights[0]
    for i, weight in enumerate(weights[1:], 1):
        rows = rows.add_(y[..., i : i + w], alpha=weight)
    out = rows[..., :h, :] * weights[0]
    for i, weight in enumerate(weights[1:], 1):
        out = out.add_(rows[..., i : i + h, :], alpha=weight)
    return out


def gaussian_blur(x: torch.Tensor, size: int = 10, sigma: float | None = None) -> torch.Tensor:
    """Gaussian blur with a ``size`` x ``size`` kernel (separable), any size.

    With ``g = gaussian_kernel1d(size, sigma)``, equals ``scipy.ndimage.correlate1d`` with ``g``
    along each axis (``mode="mirror"``, ``origin=0``); for odd sizes that is
    ``cv2.GaussianBlur(x, (size, size), sigma)`` given an explicit sigma. Placement and borders:
    see the module docs.
    """
    return _separable(x, gaussian_kernel1d(size, sigma, x.device, x.dtype))


def box_blur(x: torch.Tensor, size: int = 10) -> torch.Tensor:
    """Mean over a ``size`` x ``size`` window; equals ``cv2.blur(x, (size, size))`` with its defaults.

    The RAU-Net authors' code used ``cv2.blur`` 10x10. Placement and borders: see the module docs.
    """
    return _separable(x, torch.full((size,), 1.0 / size, device=x.device, dtype=x.dtype))


def median_blur(x: torch.Tensor, size: int = 10) -> torch.Tensor:
    """Median over a ``size`` x ``size`` window; for even windows the lower median.

    Exact: the ``ceil(size²/2)``-th smallest value of each window, i.e.
    ``scipy.ndimage.rank_filter(x, (size * size - 1) // 2, size=size, mode="mirror")``, which for
    odd sizes is ``scipy.ndimage.median_filter(x, size, mode="mirror")`` (SciPy's median of an
    even window is the upper one). ``cv2.medianBlur`` (odd sizes only) agrees away from the
    border; within ``size // 2`` pixels of it OpenCV replicates the edge instead of mirroring.
    Computed by separable comparator networks that share work between neighbouring windows
    (:func:`~landslide_fusion.segmentation.sortnet.window_median`). Inputs must be free of NaN.
    """
    b, c, h, w = x.shape
    return window_median(_pad(x, size).flatten(0, 1), size).reshape(b, c, h, w)


def sobel(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """3x3 Sobel derivatives ``(d/dx, d/dy)``: ``cv2.Sobel(x, -1, 1, 0)`` and ``(x, -1, 0, 1)``, unnormalised."""
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=x.device, dtype=x.dtype)
    b, c, h, w = x.shape
    y = _pad(x, 3).reshape(b * c, 1, h + 2, w + 2)
    weight = torch.stack([kx, kx.t()])[:, None]
    g = F.conv2d(y, weight).reshape(b, c, 2, h, w)
    return g[:, :, 0], g[:, :, 1]


def canny_edges(x: torch.Tensor, low: float = 0.1, high: float = 0.2) -> torch.Tensor:
    """Canny edges (0/1) of each channel, thresholds relative to a [0, 1] image (kornia)."""
    from kornia.filters import canny

    b, c, h, w = x.shape
    _, edges = canny(x.reshape(b * c, 1, h, w), low_threshold=low, high_threshold=high)
    return edges.reshape(b, c, h, w)
