"""rau-net-small inference on CPU: PyTorch vs ONNX Runtime, same process, same saved pipeline.

    python benchmarks/bench_onnx.py [--preset l4s23] [--batch 32] [--repeats 5]

Both engines run the whole saved pipeline (raw 14 bands -> band engineering -> normalisation ->
network). Prints patches/s for each, the ratio, and the largest logit difference.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))


def rate(fn, x: torch.Tensor, repeats: int) -> float:
    fn(x[:2])
    t = time.perf_counter()
    for _ in range(repeats):
        fn(x)
    return repeats * len(x) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="l4s23")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    from common import make_run

    from landslide_fusion.segmentation import SegmentationRun
    from landslide_fusion.segmentation.inference.export import export_onnx
    from landslide_fusion.segmentation.inference.onnx import OnnxPipeline

    with tempfile.TemporaryDirectory() as d:
        run = make_run(Path(d), preset=a.preset, epochs=1)
        report = export_onnx(run)
        pipe = SegmentationRun.load(run).pipeline.eval().to(memory_format=torch.channels_last)
        ort = OnnxPipeline(Path(run) / "model.onnx")
        x = torch.rand(a.batch, 14, a.size, a.size) + 0.5
        with torch.no_grad():
            t_rate = rate(pipe, x, a.repeats)
        o_rate = rate(ort, x, a.repeats)
        with torch.no_grad():
            diff = float((ort(x) - pipe(x)).abs().max())
    print(f"rau-net-small, {a.preset}, {a.size}x{a.size}, batch {a.batch}, CPU ({torch.get_num_threads()} threads)")
    print(f"  PyTorch      : {t_rate:.1f} patches/s")
    print(f"  ONNX Runtime : {o_rate:.1f} patches/s  ({o_rate / t_rate:.2f}x PyTorch)")
    print(f"  largest |logit difference|: {diff:.2e} (export check: {report['max_abs_logit_difference']:.2e})")


if __name__ == "__main__":
    main()
