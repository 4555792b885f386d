"""CLI choices are built from the library's tuples and registries, never copied."""

from __future__ import annotations

from typer.testing import CliRunner

from landslide_fusion.cli import app
from landslide_fusion.clitools import choices
from landslide_fusion.fusion import cli as fuse_cli
from landslide_fusion.fusion.join import ON_MISSING
from landslide_fusion.segmentation import cli as segment_cli
from landslide_fusion.segmentation.inference.infer import ENGINES, TTA_MODES
from landslide_fusion.tabular import cli as tabular_cli
from landslide_fusion.tabular.splits import SPLITTERS


def test_choices_mirror_the_library():
    pairs = [
        (segment_cli.TTA, TTA_MODES),
        (segment_cli.Engine, ENGINES),
        (fuse_cli.OnMissing, ON_MISSING),
        (tabular_cli.Splitter, SPLITTERS),
    ]
    for enum, values in pairs:
        assert tuple(m.value for m in enum) == tuple(values)
    e = choices("Toy", ("a", "very high"))
    assert e("very high").value == "very high" and e.a == "a" and isinstance(e.a, str)


def test_a_bad_choice_lists_the_library_values():
    r = CliRunner().invoke(app, ["segment", "predict", "--run", "r", "-i", "x", "-o", "o", "--tta", "d8"])
    assert r.exit_code != 0
    assert all(m in r.output for m in TTA_MODES)
