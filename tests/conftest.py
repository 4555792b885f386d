"""Shared fixtures: small generated datasets in the real layouts, the optional real data, and tiny
trained models."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pytest

from landslide_fusion.synth import synth_fusion_regions, synth_region_table, write_synth_folder, write_synth_l4s

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


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
    invoke_ok(["tabular", "train", "--data", str(folder / "regions.csv"), "--label", "landslide", "--id", "region_id",
               "-o", str(folder / "tab"), "--set", f"gbm.n_estimators={n_estimators}", "--set", "gbm.min_child_samples=5"])
    sides = synth_fusion_regions(120, seed=1)
    sides.drop(columns=["tabular_probability"]).to_csv(folder / "img.csv", index=False)
    sides[["id", "tabular_probability", "label"]].to_csv(folder / "tabp.csv", index=False)
    invoke_ok(["fuse", "train", "--image", str(folder / "img.csv"), "--tabular", str(folder / "tabp.csv"),
               "-o", str(folder / "fusion")])
    return folder / "tab", folder / "fusion", table


from tests.stac_catalog import stac_generated, stac_real  # noqa: E402,F401  (real STAC API fixtures)
