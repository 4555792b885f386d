"""Batched image filters on (B, C, H, W) tensors, any device, any kernel size (even too).

OpenCV and kornia accept only odd Gaussian and median kernels, while the RAU-Net paper uses
10x10 kernels; here an even kernel of size k is centred with ``(k - 1) // 2`` pixels of
reflected padding before and ``k // 2`` after, as ``scipy.ndimage`` does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["gaussian_kernel1d", "gaussian_blur", "box_blur", "median_blur", "sobel", "canny_edges"]

_MEDIAN_CHUNK_ELEMENTS = 2**25


def _pad(x: torch.Tensor, k: int) -> torch.Tensor:
    lo, hi = (k - 1) // 2, k // 2
    mode = "reflect" if min(x.shape[-2:]) > max(lo, hi) else "replicate"
    return F.pad(x, (lo, hi, lo, hi), mode=mode)


def gaussian_kernel1d(size: int, sigma: float | None = None, device=None, dtype=torch.float32) -> torch.Tensor:
    """Normalised 1-D Gaussian of ``size`` taps.

    With ``sigma=None`` OpenCV's rule is used: ``sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8``.
    """
    if sigma is None:
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    t = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def _separable(x: torch.Tensor, k1: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    k = k1.numel()
    y = _pad(x, k).reshape(b * c, 1, h + k - 1, w + k - 1)
    y = F.conv2d(y, k1.view(1, 1, 1, k))
    y = F.conv2d(y, k1.view(1, 1, k, 1))
    return y.reshape(b, c, h, w)


def gaussian_blur(x: torch.Tensor, size: int = 10, sigma: float | None = None) -> torch.Tensor:
    """Gaussian blur with a ``size`` x ``size`` kernel (separable)."""
    return _separable(x, gaussian_kernel1d(size, sigma, x.device, x.dtype))


def box_blur(x: torch.Tensor, size: int = 10) -> torch.Tensor:
    """Mean over a ``size`` x ``size`` window (the RAU-Net authors' code used ``cv2.blur`` 10x10)."""
    return _separable(x, torch.full((size,), 1.0 / size, device=x.device, dtype=x.dtype))


def median_blur(x: torch.Tensor, size: int = 10) -> torch.Tensor:
    """Median over a ``size`` x ``size`` window; for even windows the lower median.

    Implemented as unfold + ``Tensor.median`` (which returns the lower median, the
    ``ceil(k/2)``-th smallest of ``k`` values) in chunks of images so memory stays bounded (about
    128 MiB of float32 windows at a time). On CPU ``median`` selects about 2.5x faster than
    ``kthvalue`` for the same element.
    """
    b, c, h, w = x.shape
    k = size * size
    flat = _pad(x, size).flatten(0, 1)[:, None]  # (b*c, 1, h + size - 1, w + size - 1)
    if torch.onnx.is_in_onnx_export():
        # one graph for any batch size; ONNX has TopK but no median: the last of the
        # ceil(k/2) smallest is the same element
        smallest = torch.topk(F.unfold(flat, size), (k + 1) // 2, dim=1, largest=False).values
        return smallest[:, -1].reshape(x.shape)
    step = max(1, _MEDIAN_CHUNK_ELEMENTS // (k * h * w))
    out = torch.empty(b * c, h * w, device=x.device, dtype=x.dtype)
    for i in range(0, b * c, step):
        windows = F.unfold(flat[i : i + step], size).transpose(1, 2).contiguous()  # (n, h*w, k)
        out[i : i + step] = windows.median(dim=2).values
    return out.reshape(b, c, h, w)


def sobel(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """3x3 Sobel derivatives ``(d/dx, d/dy)`` (OpenCV's kernels, unnormalised)."""
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
