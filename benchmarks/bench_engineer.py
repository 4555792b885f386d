"""Band engineering speed: batched BandEngineer vs a per-image NumPy/SciPy reference, same process.

    python benchmarks/bench_engineer.py [--preset l4s23] [--n 64] [--size 128]

Prints the median seconds of ``--repeat`` runs of each and the ratio (target on CPU: >= 5x for l4s23).
The reference filters with SciPy (``convolve1d``, ``median_filter``): OpenCV's ``medianBlur``
takes only odd sizes and, above 5x5, only 8-bit images, so it cannot compute the paper's exact
10x10 median of a float image.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from scipy.ndimage import convolve1d, median_filter

from landslide_fusion.bands import L4S14
from landslide_fusion.segmentation import BandEngineer
from landslide_fusion.segmentation.filters import gaussian_kernel1d

from common import median_seconds


def reference(img: np.ndarray, gk: int, mk: int) -> np.ndarray:
    """Per-image reference of l4s23: the same operations, one image at a time."""
    b = {n: img[L4S14.index(n)] for n in ("B2", "B3", "B4", "B8", "B11", "B12")}
    rgb = np.stack([b["B4"], b["B3"], b["B2"]])
    lo, hi = rgb.min((1, 2), keepdims=True), rgb.max((1, 2), keepdims=True)
    mm = (rgb - lo) / np.maximum(hi - lo, 1e-6)
    nd = lambda a, c: (a - c) / np.where(np.abs(a + c) < 1e-6, 1e-6, a + c)  # noqa: E731
    gray = (b["B2"] + b["B3"] + b["B4"]) / 3
    k = gaussian_kernel1d(gk).numpy()
    gauss = convolve1d(convolve1d(gray, k, axis=0, mode="mirror"), k, axis=1, mode="mirror")
    med = median_filter(gray, size=mk, mode="mirror")
    return np.concatenate([img, mm, np.stack([nd(b["B8"], b["B4"]), nd(b["B8"], b["B11"]), nd(b["B8"], b["B12"]), gray, gauss, med])])


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
    t_ref = median_seconds(lambda: [reference(img, 10, 10) for img in xn], a.repeat)
    print(f"{a.n} patches {a.size}x{a.size} -> {a.preset} on {a.device}, median of {a.repeat} runs")
    print(f"  BandEngineer (batched): {t_batch:.3f} s  ({a.n / t_batch:.0f} patches/s)")
    print(f"  per-image NumPy/SciPy : {t_ref:.3f} s  ({a.n / t_ref:.0f} patches/s)")
    print(f"  speed-up: {t_ref / t_batch:.2f}x (target >= 5x)")


if __name__ == "__main__":
    main()
