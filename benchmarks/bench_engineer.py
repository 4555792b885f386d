"""Band engineering speed: batched BandEngineer vs per-image references, same process.

    python benchmarks/bench_engineer.py [--preset l4s23] [--n 64] [--size 128]

Prints the median seconds of ``--repeat`` runs of each and the ratios. Two references:

* **OpenCV**, what the authors' recipe runs and the fastest common tool: ``cv2.sepFilter2D``
  with the same Gaussian kernel, and ``cv2.medianBlur``. That median takes only odd sizes and,
  above 5x5, only 8-bit images, so the reference quantises the gray band to 8 bits and takes the
  11x11 median: not the same numbers as the exact 10x10 float median of l4s23, but what an
  OpenCV user gets.
* **SciPy** (``convolve1d``, ``median_filter``): the same operations exactly, one image at a time.

The ratio is reference seconds / BandEngineer seconds (above 1: BandEngineer is faster).
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import torch
from scipy.ndimage import convolve1d, median_filter

from landslide_fusion.bands import L4S14
from landslide_fusion.segmentation import BandEngineer
from landslide_fusion.segmentation.filters import gaussian_kernel1d

from common import median_seconds


def _indices(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(min-max RGB, [NDVI, NDMI, NBR], gray) of one 14-band image, in NumPy."""
    b = {n: img[L4S14.index(n)] for n in ("B2", "B3", "B4", "B8", "B11", "B12")}
    rgb = np.stack([b["B4"], b["B3"], b["B2"]])
    lo, hi = rgb.min((1, 2), keepdims=True), rgb.max((1, 2), keepdims=True)
    mm = (rgb - lo) / np.maximum(hi - lo, 1e-6)
    nd = lambda a, c: (a - c) / np.where(np.abs(a + c) < 1e-6, 1e-6, a + c)  # noqa: E731
    gray = (b["B2"] + b["B3"] + b["B4"]) / 3
    return mm, np.stack([nd(b["B8"], b["B4"]), nd(b["B8"], b["B11"]), nd(b["B8"], b["B12"])]), gray


def reference_scipy(img: np.ndarray, gk: int, mk: int) -> np.ndarray:
    """Per-image l4s23 with SciPy filters: the same operations exactly."""
    mm, idx, gray = _indices(img)
    k = gaussian_kernel1d(gk).numpy()
    gauss = convolve1d(convolve1d(gray, k, axis=0, mode="mirror"), k, axis=1, mode="mirror")
    med = median_filter(gray, size=mk, mode="mirror")
    return np.concatenate([img, mm, idx, np.stack([gray, gauss, med])])


def reference_opencv(img: np.ndarray, gk: int, mk: int) -> np.ndarray:
    """Per-image l4s23 with OpenCV filters; the median is ``cv2.medianBlur`` of the 8-bit gray
    band at the next odd size (OpenCV's only route above 5x5)."""
    mm, idx, gray = _indices(img)
    k = gaussian_kernel1d(gk).numpy().astype(np.float32)
    gauss = cv2.sepFilter2D(gray, -1, k, k, borderType=cv2.BORDER_REFLECT_101)
    lo, hi = float(gray.min()), float(gray.max())
    u8 = np.round((gray - lo) / max(hi - lo, 1e-6) * 255).astype(np.uint8)
    med = cv2.medianBlur(u8, mk | 1).astype(np.float32) * ((hi - lo) / 255) + lo
    return np.concatenate([img, mm, idx, np.stack([gray, gauss, med])])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="l4s23")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each; the median is reported")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    x = torch.rand(a.n, 14, a.size, a.size) + 0.5
    eng = BandEngineer("l4s14", a.preset).to(a.device)
    xd = x.to(a.device)
    eng(xd[:2])

    def batched() -> None:
        eng(xd)
        if a.device == "cuda":
            torch.cuda.synchronize()

    xn = x.numpy()
    t_batch = median_seconds(batched, a.repeat)
    t_cv = median_seconds(lambda: [reference_opencv(img, 10, 10) for img in xn], a.repeat)
    t_sp = median_seconds(lambda: [reference_scipy(img, 10, 10) for img in xn], a.repeat)
    print(f"{a.n} patches {a.size}x{a.size} -> {a.preset} on {a.device}, median of {a.repeat} runs "
          f"(torch {torch.get_num_threads()} threads, OpenCV {cv2.getNumThreads()})")
    print(f"  BandEngineer (batched)                : {t_batch:.3f} s  ({a.n / t_batch:.0f} patches/s)")
    print(f"  per-image OpenCV (8-bit 11x11 median) : {t_cv:.3f} s  ({a.n / t_cv:.0f} patches/s)  ratio {t_cv / t_batch:.2f}x")
    print(f"  per-image SciPy (exact, same ops)     : {t_sp:.3f} s  ({a.n / t_sp:.0f} patches/s)  ratio {t_sp / t_batch:.2f}x")


if __name__ == "__main__":
    main()
