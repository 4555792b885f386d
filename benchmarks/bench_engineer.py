"""Band engineering speed: the batched BandEngineer, exact and 8-bit median, vs per-image references.

    python benchmarks/bench_engineer.py [--preset l4s23] [--n 64] [--size 128] [--kernel 11]

Times, in one process, the median of ``--repeat`` rounds that run each of these once in turn:

* ``BandEngineer`` with ``median="exact"`` at the paper's 10x10 (the default of a config);
* ``BandEngineer`` with ``median="uint8"`` at ``--kernel`` (odd: on a CPU it runs
  ``cv2.medianBlur`` per image in a thread pool sized to torch's thread count);
* **the authors' OpenCV recipe**, one image at a time as their code does: ``cv2.sepFilter2D``
  with the same Gaussian kernel, and ``cv2.medianBlur`` at ``--kernel`` of the gray band
  quantised to 8 bits from its own range, exactly as ``median="uint8"`` quantises (the script
  checks that both give the same MEDIAN band);
* **SciPy** (``convolve1d``, ``median_filter``): the exact operations of ``median="exact"``, one
  image at a time.

It prints ratios, reference seconds / BandEngineer seconds (above 1: BandEngineer is faster):
the OpenCV recipe against each median, and SciPy against the exact one. The references compute
l4s23 whatever ``--preset`` says (``--preset l4s21`` times the engineering without the blurs).
Seconds are printed for context only: compare ratios, and only from a quiet machine.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import torch
from scipy.ndimage import convolve1d, median_filter

from landslide_fusion.bands import L4S14
from landslide_fusion.engineering import BandEngineer
from landslide_fusion.engineering.filters import gaussian_kernel1d

from common import interleaved_median_seconds


def _indices(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(min-max RGB, [NDVI, NDMI, NBR], gray) of one 14-band image, in NumPy."""
    b = {n: img[L4S14.index(n)] for n in ("B2", "B3", "B4", "B8", "B11", "B12")}
    rgb = np.stack([b["B4"], b["B3"], b["B2"]])
    lo, hi = rgb.min((1, 2), keepdims=True), rgb.max((1, 2), keepdims=True)
    mm = (rgb - lo) / np.maximum(hi - lo, 1e-6)
    nd = lambda a, c: (a - c) / np.where(np.abs(a + c) < 1e-6, 1e-6, a + c)  # noqa: E731
    gray = (b["B2"] + b["B3"] + b["B4"]) / np.float32(3)
    return mm, np.stack([nd(b["B8"], b["B4"]), nd(b["B8"], b["B11"]), nd(b["B8"], b["B12"])]), gray


def reference_scipy(img: np.ndarray, gk: int, mk: int) -> np.ndarray:
    """Per-image l4s23 with SciPy filters: the same operations as ``median="exact"``."""
    mm, idx, gray = _indices(img)
    k = gaussian_kernel1d(gk).numpy()
    gauss = convolve1d(convolve1d(gray, k, axis=0, mode="mirror"), k, axis=1, mode="mirror")
    med = median_filter(gray, size=mk, mode="mirror")
    return np.concatenate([img, mm, idx, np.stack([gray, gauss, med])])


def reference_opencv(img: np.ndarray, gk: int, mk: int) -> np.ndarray:
    """Per-image l4s23 with OpenCV filters, the median ``cv2.medianBlur`` of the 8-bit gray band
    (``mk`` odd), quantised as ``median="uint8"`` does (float32, rounded, from the band's range)."""
    mm, idx, gray = _indices(img)
    k = gaussian_kernel1d(gk).numpy().astype(np.float32)
    gauss = cv2.sepFilter2D(gray, -1, k, k, borderType=cv2.BORDER_REFLECT_101)
    lo = gray.min()
    span = gray.max() - lo
    u8 = np.round((gray - lo) / max(span, np.float32(1e-6)) * np.float32(255)).astype(np.uint8)
    med = lo + cv2.medianBlur(u8, mk).astype(np.float32) * (span / np.float32(255))
    return np.concatenate([img, mm, idx, np.stack([gray, gauss, med])])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="l4s23")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--kernel", type=int, default=11, help="8-bit median size (odd: OpenCV's rule)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each; the median is reported")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    if a.kernel % 2 == 0:
        ap.error(f"--kernel {a.kernel}: cv2.medianBlur takes odd sizes only; try {a.kernel + 1}")
    x = torch.rand(a.n, 14, a.size, a.size, generator=torch.Generator().manual_seed(0)) + 0.5
    xd = x.to(a.device)
    engines = {
        "exact": BandEngineer("l4s14", a.preset).to(a.device),
        "uint8": BandEngineer("l4s14", a.preset, median="uint8", median_kernel=a.kernel).to(a.device),
    }
    xn = x.numpy()
    if "MEDIAN" in engines["uint8"].out_bands:  # the same 8-bit median as the recipe
        i = engines["uint8"].out_bands.index("MEDIAN")
        diff = np.abs(
            engines["uint8"](xd[:2]).cpu().numpy()[:, i]
            - np.stack([reference_opencv(img, 10, a.kernel)[i] for img in xn[:2]])
        ).max()
        print(f"8-bit MEDIAN, BandEngineer vs the OpenCV recipe: max |difference| {diff:.2e}")

    def batched(engine: BandEngineer):
        def run() -> None:
            engine(xd)
            if a.device == "cuda":
                torch.cuda.synchronize()

        return run

    runs = {
        "exact": batched(engines["exact"]),
        "uint8": batched(engines["uint8"]),
        "opencv": lambda: [reference_opencv(img, 10, a.kernel) for img in xn],
        "scipy": lambda: [reference_scipy(img, 10, 10) for img in xn],
    }
    t = interleaved_median_seconds(runs, a.repeat)
    print(
        f"{a.n} patches {a.size}x{a.size} -> {a.preset} on {a.device}, median of {a.repeat} runs "
        f"(torch {torch.get_num_threads()} threads, OpenCV {cv2.getNumThreads()})"
    )
    print(
        f"  per-image OpenCV recipe (8-bit {a.kernel}x{a.kernel} median) / BandEngineer exact 10x10 : "
        f"{t['opencv'] / t['exact']:.2f}x"
    )
    print(
        f"  per-image OpenCV recipe (8-bit {a.kernel}x{a.kernel} median) / BandEngineer uint8 {a.kernel}x{a.kernel}"
        f" : {t['opencv'] / t['uint8']:.2f}x"
    )
    print(
        f"  per-image SciPy (exact 10x10, same ops) / BandEngineer exact 10x10           : "
        f"{t['scipy'] / t['exact']:.2f}x"
    )
    print("  seconds (context only): " + ", ".join(f"{name} {s:.3f}" for name, s in t.items()))


if __name__ == "__main__":
    main()
