"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

from pathlib import Path

from landslide_fusion.config import load_config
from landslide_fusion.segmentation import SegmentConfig, train_segmentation
from landslide_fusion.synth import write_synth_l4s


def make_run(folder: Path, model: str = "rau-net-small", preset: str = "l4s23", size: int = 128) -> Path:
    """A run folder of ``model`` after one epoch on 16 generated patches: throughput does not
    depend on the weights, and a real run folder exercises the whole saved pipeline."""
    data = folder / "data"
    if not data.exists():
        write_synth_l4s(data, n=16, size=size, seed=0)
    run = folder / f"run-{model}-{preset}"
    if not run.exists():
        cfg = load_config(SegmentConfig, None, [f'data.root="{data}"', f'model.name="{model}"', f'features.preset="{preset}"',
                                                "train.epochs=1", "train.batch_size=8", 'post.tta="none"'])
        train_segmentation(cfg, run, progress=False)
    return run
