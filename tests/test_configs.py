"""Every shipped config loads into its dataclass (unknown keys and wrong types are errors), and
every value the file sets is the value the loaded config holds."""

import ast
import tomllib
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
    written = list(_leaves(tomllib.loads(path.read_text(encoding="utf-8"))))
    assert written, f"{path.name} sets nothing"
    for keys, value in written:
        held = cfg
        for k in keys:
            held = held[k] if isinstance(held, dict) else getattr(held, k)
        if isinstance(held, tuple):
            held = list(held)
        assert held == value, (".".join(keys), held, value)


def _leaves(table: dict, prefix: tuple[str, ...] = ()):
    """``(keys, value)`` for every value of a TOML table, nested tables walked."""
    for k, v in table.items():
        if isinstance(v, dict):
            yield from _leaves(v, (*prefix, k))
        else:
            yield (*prefix, k), v


def _names_of_calls():
    """Every ``names_of("module", "attribute")`` in the package's source."""
    for path in sorted((Path(__file__).resolve().parents[1] / "src" / "landslide_fusion").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "names_of":
                yield path.name, *(a.value for a in node.args)


@pytest.mark.parametrize("where, module, attribute", list(_names_of_calls()), ids=lambda v: str(v))
def test_every_choice_list_a_setting_names_resolves(where, module, attribute):
    """A registry renamed or moved fails here, not by silently switching a setting's check off."""
    from landslide_fusion.config import names_of

    assert names_of(module, attribute)(), f"{where}: names_of({module!r}, {attribute!r}) lists nothing"
