"""Shared fixtures: small generated datasets in the real layouts, and the optional real data."""

from __future__ import annotations

from pathlib import Path

import pytest

from landslide_fusion.synth import write_synth_folder, write_synth_l4s

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared(path: str) -> Path:
    """Path under ../shared/data, or skip the test when it is absent."""
    p = SHARED_DATA / path
    if not p.exists():
        pytest.skip(f"real data not available at {p}")
    return p


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


from tests.stac_catalog import stac_generated, stac_real  # noqa: E402,F401  (real STAC API fixtures)
