"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

from landslide_fusion.config import load_config
from landslide_fusion.segmentation import SegmentConfig, train_segmentation
from landslide_fusion.synth import write_synth_l4s


def make_run(folder: Path, model: str = "rau-net-small", preset: str = "l4s23", epochs: int = 8) -> Path:
    """A run folder of ``model`` trained ``epochs`` epochs on 128 generated 64 px patches (about
    half a minute on 2 cores; validation F1 ~0.9), so that predicted maps look like real ones:
    sparse landslide blobs, not noise. Throughput does not depend on the weights."""
    data = folder / "data"
    if not data.exists():
        write_synth_l4s(data, n=128, size=64, seed=0)
    run = folder / f"run-{model}-{preset}"
    if not run.exists():
        cfg = load_config(
            SegmentConfig,
            None,
            [
                f'data.root="{data}"',
                f'model.name="{model}"',
                f'features.preset="{preset}"',
                f"train.epochs={epochs}",
                "train.batch_size=8",
                "train.lr=3e-3",
                'post.tta="none"',
            ],
        )
        train_segmentation(cfg, run, progress=False)
    return run


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Median wall-clock seconds of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_median_seconds(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median wall-clock seconds of each of ``fns`` over ``repeat`` rounds that call each once, in
    turn, after one untimed warm-up call each: load that comes and goes hits all of them alike."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}
