"""Every shipped config loads into its dataclass (unknown keys and wrong types are errors)."""

from pathlib import Path

import pytest

from landslide_fusion.config import load_config
from landslide_fusion.fusion.config import FusionConfig
from landslide_fusion.segmentation.config import SegmentConfig

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_config_loads(path):
    from landslide_fusion.serve.config import ServeSettings

    cls = {"fusion": FusionConfig, "serve": ServeSettings}.get(path.stem, SegmentConfig)
    cfg = load_config(cls, path)
    assert cfg == load_config(cls, path)
