"""Shared fixtures: small generated datasets in the real layouts, the optional real data, tiny
trained models, and the plumbing of the tests that run the CLI in a process of its own (concurrent
writers, ``kill -9``)."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import pytest

from landslide_fusion.synth import synth_fusion_regions, synth_region_table, write_synth_folder, write_synth_l4s

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

#: Tiny variants of every architecture (same code paths, a few thousand parameters) for fast tests
TINY_MODELS: dict[str, dict] = {
    "unet": {"widths": (4, 8, 8, 16, 16)},
    "rau-net": {"widths": (4, 8, 8, 16, 16)},
    "rau-net-small": {"widths": (4, 8, 8, 16, 16)},
    "deeplabv3": {"base": 4, "layers": (1, 1, 1, 1), "aspp": 8},
    "deeplabv3-small": {"base": 4, "layers": (1, 1, 1, 1), "aspp": 8, "output_stride": 8},
    "mobilenetv3": {"width": 0.25, "decoder": (8, 8, 8, 8, 8)},
    "efficientnetv2": {"width": 0.25, "depth": 0.2, "decoder": (8, 8, 8, 8, 8)},
    "vnet": {"base": 2, "convs": (1, 2, 2, 2, 2)},
    "squeeze-unet": {"widths": (8, 16, 16, 32, 32)},
    "swin-unet": {"embed_dim": 8, "num_heads": (1, 2, 2, 4), "window": 2},
    "segformer-b0": {"dims": (8, 16, 24, 32), "num_heads": (1, 1, 2, 2), "decoder": 16},
}


def shared(path: str) -> Path:
    """Path under ../shared/data, or skip the test when it is absent."""
    p = SHARED_DATA / path
    if not p.exists():
        pytest.skip(f"real data not available at {p}")
    return p


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Torch on one thread for a module: fastest for tiny tensors, immune to a busy machine's
    oversubscription, and the same sums in every run of a test."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def l4s_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 generated 32x32 Landslide4Sense patches with masks and regions.csv."""
    root = tmp_path_factory.mktemp("data") / "l4s"
    write_synth_l4s(root, n=12, size=32, seed=1)
    return root


#: A 1-epoch rau-net-small on 32 px l4s14 patches: the fastest run that assess (and the service) can use
TINY = [
    "model.widths=[4, 8, 8, 16, 16]",
    'model.attention="se"',
    'model.heads="mono"',
    "data.size=32",
    "train.batch_size=4",
    'post.tta="none"',
    "train.warmup_epochs=0",
    "train.epochs=1",
    "train.threads=1",
    'features.preset="l4s14"',
]


@pytest.fixture(scope="session")
def tiny_run(l4s_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """rau-net-small, 1 epoch on 12 generated 32x32 l4s14 patches (Landslide4Sense scale)."""
    from landslide_fusion.config import load_config
    from landslide_fusion.segmentation import SegmentConfig, train_segmentation

    out = tmp_path_factory.mktemp("assess") / "run"
    train_segmentation(load_config(SegmentConfig, None, [f'data.root="{l4s_root}"', *TINY]), out, progress=False)
    return out


@pytest.fixture(scope="session")
def folder_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 generated 32x32 RGB PNG patches with masks and train/val splits."""
    root = tmp_path_factory.mktemp("data") / "folder"
    write_synth_folder(root, n=10, size=32, seed=2)
    return root


def invoke_ok(args: list[str]) -> None:
    """Run ``landslide ARGS`` in this process; it must succeed."""
    from typer.testing import CliRunner

    from landslide_fusion.cli import app

    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, (args, r.output, r.exception)


def tiny_fusion_pair(folder: Path, n_estimators: int) -> tuple[Path, Path, pd.DataFrame]:
    """A tabular model and a fusion trained through the CLI, for scoring regions end to end.

    ``folder/tab``: LightGBM of ``n_estimators`` trees on 60 generated regions (id ``region_id``,
    label ``landslide``, table in ``folder/regions.csv``); ``folder/fusion``: a fusion fitted on
    120 generated pairs of image statistics and tabular probabilities. Returns both folders and
    the region table, whose feature columns are what the tabular model scores.
    """
    table = synth_region_table([f"r{i}" for i in range(60)], np.arange(60) % 2, seed=0)
    table.to_csv(folder / "regions.csv", index=False)
    invoke_ok(
        [
            "tabular",
            "train",
            "--data",
            str(folder / "regions.csv"),
            "--label",
            "landslide",
            "--id",
            "region_id",
            "-o",
            str(folder / "tab"),
            "--set",
            f"gbm.n_estimators={n_estimators}",
            "--set",
            "gbm.min_child_samples=5",
        ]
    )
    sides = synth_fusion_regions(120, seed=1)
    sides.drop(columns=["tabular_probability"]).to_csv(folder / "img.csv", index=False)
    sides[["id", "tabular_probability", "label"]].to_csv(folder / "tabp.csv", index=False)
    invoke_ok(
        [
            "fuse",
            "train",
            "--image",
            str(folder / "img.csv"),
            "--tabular",
            str(folder / "tabp.csv"),
            "-o",
            str(folder / "fusion"),
        ]
    )
    return folder / "tab", folder / "fusion", table


def cli_command(args: list[str]) -> list[str]:
    """The command line running ``landslide ARGS`` in a new process (with :func:`cli_env`)."""
    return [sys.executable, "-m", "landslide_fusion.cli", *args]


def cli_env() -> dict[str, str]:
    """This environment with ``src/`` on the path, one thread per process (two CPUs are shared)."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


def debris(folder: Path) -> list[str]:
    """Hidden entries anywhere under ``folder``: what a run may leave beside its output
    (``.NAME.tmp-*``, ``.NAME.old-*``, ``.NAME.partial-*``, ``.NAME.lock``)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*"))


#: How a ``landslide`` process ends on each signal: killed outright (-9), SIGTERM raised as
#: ``Terminated`` (exit 143 once cleaned up), SIGINT raised as ``KeyboardInterrupt`` (click: exit 130).
SIGNAL_EXIT = {
    signal.SIGKILL: -signal.SIGKILL,
    signal.SIGTERM: 128 + signal.SIGTERM,
    signal.SIGINT: 128 + signal.SIGINT,
}


def signal_while_writing(
    args: list[str], partial: str, meanwhile: Callable[[], object], seed: int, sig: int = signal.SIGKILL
) -> None:
    """Run ``landslide ARGS`` in a new process and send it ``sig`` while it writes: at a seeded
    random moment up to 0.3 s after a file matching the glob ``partial`` appears. ``meanwhile``
    (e.g. the uninterrupted reference run) runs in this process during the wait. The process must
    end as :data:`SIGNAL_EXIT` says (not before the signal)."""
    # a shell's background job ignores SIGINT, and its children inherit that: give the CLI the default back
    proc = subprocess.Popen(
        cli_command(args),
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    delay = np.random.default_rng(seed).uniform(0, 0.3)

    def kill() -> None:
        deadline = time.time() + 300
        while not glob.glob(partial) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(delay)
        proc.send_signal(sig)  # nothing when it has already ended

    killer = threading.Thread(target=kill)
    killer.start()
    try:
        meanwhile()
    finally:
        killer.join()
        proc.wait()
    name = signal.Signals(sig).name
    assert proc.returncode == SIGNAL_EXIT[sig], (
        f"{args[:2]} ended with {proc.returncode}, not {SIGNAL_EXIT[sig]} as on {name} (if it ended before {name}, "
        "give it more work)"
    )


def kill_9_while_writing(args: list[str], partial: str, meanwhile: Callable[[], object], seed: int) -> None:
    """:func:`signal_while_writing` with ``kill -9``."""
    signal_while_writing(args, partial, meanwhile, seed, signal.SIGKILL)


def _summary(path: Path) -> object:
    """A JSON document without ``out`` (where the run wrote it, which differs between two runs)."""
    doc = json.loads(path.read_text())
    return {k: v for k, v in doc.items() if k != "out"} if isinstance(doc, dict) else doc


def assert_same_outputs(a: Path, b: Path) -> None:
    """The folders hold the same files with the same content: rasters pixel for pixel (NaN where
    NaN), tables and JSON/GeoJSON by value, anything else byte for byte."""
    import rasterio

    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    for name in files:
        x, y = a / name, b / name
        if x.suffix == ".tif":
            with rasterio.open(x) as s, rasterio.open(y) as t:
                assert (s.crs, s.transform) == (t.crs, t.transform), name
                np.testing.assert_array_equal(s.read(), t.read(), err_msg=name)
        elif x.suffix == ".csv":
            pd.testing.assert_frame_equal(pd.read_csv(x), pd.read_csv(y), obj=name)
        elif x.suffix in (".json", ".geojson"):
            assert _summary(x) == _summary(y), name
        else:
            assert x.read_bytes() == y.read_bytes(), name


from tests.stac_catalog import stac_generated, stac_real  # noqa: E402,F401  (real STAC API fixtures)
from tests.stac_api import pgstac_api  # noqa: E402,F401  (the database-backed STAC API)
