"""Training memory and throughput: the streaming Dataset path against the former in-memory path.

    python benchmarks/bench_train_memory.py [--n 64] [--size 64] [--batch 16] [--workers 0]

1. **Peak memory is flat in the data set's size.** For generated Landslide4Sense sets of ``n``
   and ``4n`` patches (``landslide_fusion.synth``), a fresh process trains one epoch
   (``segment train``'s library call) and reports its own ``VmHWM`` (see ``bench_scene.py`` for
   why not ``ru_maxrss``). Target: the 4n / n ratio ~1 (the former path stacked every patch, so
   its peak grew by the set's float32 size: 14 bands x size^2 x 4 bytes per patch).
2. **Throughput.** In one process, one training epoch over the same ``4n`` patches in the same
   order, fed (a) from stacked in-memory tensors indexed per batch (the former path) and (b) from
   the DataLoader over lazily read files; median patches/s of ``--repeat`` epochs after a warm-up.
   Target: (b) within 10 % of (a).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scene import peak_memory_mb  # noqa: E402


def _cfg(root: Path, size: int, batch: int, workers: int, epochs: int = 1):
    from landslide_fusion.config import load_config
    from landslide_fusion.segmentation import SegmentConfig

    return load_config(
        SegmentConfig,
        None,
        [
            f'data.root="{root}"',
            f"data.size={size}",
            f"train.epochs={epochs}",
            f"train.batch_size={batch}",
            f"train.workers={workers}",
            'post.tta="none"',
        ],
    )


def child(a: argparse.Namespace) -> None:
    from landslide_fusion.segmentation import train_segmentation

    t = time.perf_counter()
    train_segmentation(_cfg(Path(a.root), a.size, a.batch, a.workers), a.out, progress=False)
    print(json.dumps({"seconds": time.perf_counter() - t, "peak_mb": peak_memory_mb()}))


def throughput(root: Path, a: argparse.Namespace) -> dict[str, float]:
    """Median training patches/s of one epoch fed from stacked tensors and from the DataLoader."""
    import statistics

    from landslide_fusion.segmentation.training.dataset import EpochSampler, make_loader, streamed_stats
    from landslide_fusion.segmentation.training.train import _build, _train_epoch, load_split

    cfg = _cfg(root, a.size, a.batch, a.workers)
    split = load_split(cfg)
    stats = streamed_stats(cfg, split.train)
    sampler = EpochSampler(split.labels, seed=0)
    loader = make_loader(split.train, a.batch, workers=a.workers, sampler=sampler)
    x = torch.stack([split.train.view(i)[0] for i in range(len(split.train))])
    y = torch.stack([split.train.view(i)[1] for i in range(len(split.train))])
    order = torch.tensor(list(sampler))
    in_memory = [(x[order[i : i + a.batch]], y[order[i : i + a.batch]]) for i in range(0, len(order), a.batch)]
    feeds = {
        "in-memory tensors": lambda: ((xb.clone(), yb.clone()) for xb, yb in in_memory),
        "DataLoader": lambda: loader,
    }
    out = {}
    for name, feed in feeds.items():
        p = _build(cfg, stats, "cpu", 0, 1, steps=len(loader))
        rates = []
        for _ in range(a.repeat + 1):
            _, seen, secs = _train_epoch(p, feed(), cfg, "cpu", name, False)
            rates.append(seen / secs)
        out[name] = statistics.median(rates[1:])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=64, help="patches of the smaller set (the larger has 4n)")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs=2, metavar=("ROOT", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        a.root, a.out = a.child
        return child(a)
    from landslide_fusion.synth import write_synth_l4s

    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        print(f"rau-net-small, l4s23, {a.size} px, batch {a.batch}, workers {a.workers}, CPU")
        print("| patches | float32 size of the set (MB) | seconds (1 epoch) | peak memory (MB) |")
        print("|---|---|---|---|")
        peaks = []
        for n in (a.n, 4 * a.n):
            root = d / f"data{n}"
            write_synth_l4s(root, n=n, size=a.size, seed=0)
            cmd = [
                sys.executable,
                __file__,
                "--child",
                str(root),
                str(d / f"run{n}"),
                "--size",
                str(a.size),
                "--batch",
                str(a.batch),
                "--workers",
                str(a.workers),
            ]
            res = json.loads(
                subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            )
            peaks.append(res["peak_mb"])
            print(
                f"| {n} | {n * 14 * a.size**2 * 4 / 1e6:.0f} | {res['seconds']:.1f} | {res['peak_mb']:.0f} |",
                flush=True,
            )
        print(f"peak memory ratio {4 * a.n} vs {a.n} patches: {peaks[1] / peaks[0]:.2f} (target: ~1)")
        rates = throughput(d / f"data{4 * a.n}", a)
        for name, rate in rates.items():
            print(f"{name}: {rate:.1f} patches/s")
        print(f"DataLoader / in-memory: {rates['DataLoader'] / rates['in-memory tensors']:.2f} (target: >= 0.90)")


if __name__ == "__main__":
    main()
