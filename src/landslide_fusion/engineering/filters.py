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

The one exception is :func:`median_blur_uint8`, the authors' 8-bit median: it repeats the edge
pixel as ``cv2.medianBlur`` does, and equals it exactly for odd sizes, on the CPU by calling it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .opencv import median_blur_u8
from .sortnet import window_median

__all__ = [
    "gaussian_kernel1d",
    "gaussian_blur",
    "box_blur",
    "median_blur",
    "quantize_uint8",
    "median_blur_levels",
    "median_blur_uint8",
    "sobel",
    "canny_edges",
]


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
    (:func:`~landslide_fusion.engineering.sortnet.window_median`). Inputs must be free of NaN.
    """
    b, c, h, w = x.shape
    return window_median(_pad(x, size).flatten(0, 1), size).reshape(b, c, h, w)


def quantize_uint8(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """8-bit levels of each image and channel from its own range, as the authors' OpenCV recipe.

    ``levels = round((x - lo) / (hi - lo) * 255)`` with ``lo``, ``hi`` the channel's minimum and
    maximum (rounded half to even, as ``np.round``; ``hi - lo`` below 1e-6 counts as 1e-6, so a
    constant channel is all 0). Returns ``(levels, lo, step)``: ``levels`` integers 0..255 in
    ``x``'s dtype, and ``lo + levels * step`` with ``step = (hi - lo) / 255`` is ``x`` to half a step.
    """
    lo = x.amin(dim=(-2, -1), keepdim=True)
    span = x.amax(dim=(-2, -1), keepdim=True) - lo
    levels = torch.round((x - lo) / span.clamp_min(1e-6) * 255)
    return levels, lo, span / 255


def median_blur_levels(levels: torch.Tensor, size: int) -> torch.Tensor:
    """Lower median of every ``size`` x ``size`` window of (N, H, W) integer levels 0..255, the edge
    pixel repeated outside the image (``cv2.medianBlur``'s border); same dtype out.

    Windows sit as in every filter here (``size // 2`` pixels up and left of the output pixel,
    ``(size - 1) // 2`` down and right), so an odd window is centred and this is
    ``cv2.medianBlur(levels, size)`` exactly. The comparator network of :func:`median_blur`
    computes it on any device, on uint8 tensors (4 values per float's memory; float Min/Max
    when exported to ONNX, for runtimes without 8-bit Min/Max).
    """
    before, after = size // 2, (size - 1) // 2
    padded = F.pad(levels[:, None], (before, after, before, after), mode="replicate")[:, 0]
    if not torch.onnx.is_in_onnx_export():
        padded = padded.to(torch.uint8)
    return window_median(padded, size).to(levels.dtype)


def median_blur_uint8(x: torch.Tensor, size: int = 10) -> torch.Tensor:
    """The authors' 8-bit median of each image and channel, mapped back to ``x``'s units.

    1. ``levels, lo, step = quantize_uint8(x)`` (8 bits from the channel's own range);
    2. ``m`` = :func:`median_blur_levels` ``(levels, size)``: the lower median of each window (the
       ``ceil(size²/2)``-th smallest level), the edge pixel repeated outside the image; for odd
       sizes, ``cv2.medianBlur(levels, size)``;
    3. ``lo + m * step``, within half a step (``(hi - lo) / 510``) of the same median of ``x``.

    Even sizes, which ``cv2.medianBlur`` refuses, follow the same rule with the window placed as
    in every filter here. Kernels: on the CPU, odd sizes run ``cv2.medianBlur`` on each image in
    a thread pool (:func:`.opencv.median_blur_u8`); on other devices, for even sizes, and while
    tracing (ONNX export), the comparator network of :func:`median_blur_levels`. Both give the
    same numbers (``tests/test_filters.py``). Inputs must be free of NaN (``BandEngineer``
    replaces it before filtering).
    """
    b, c, h, w = x.shape
    levels, lo, step = quantize_uint8(x)
    flat = levels.flatten(0, 1)
    if size % 2 and x.device.type == "cpu" and not (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()):
        m = median_blur_u8(flat.detach().to(torch.uint8), size).to(x.dtype)
    else:
        m = median_blur_levels(flat, size)
    return lo + m.reshape(b, c, h, w) * step


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
