"""Module paths of earlier releases still import, for one release, as the modules that replaced
them, with a DeprecationWarning naming the new path (``landslide_fusion.moved``).

The only place in the project that imports an old path: the package, the tests and the benchmarks
use the new ones (checked below).
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from landslide_fusion import fusion, segmentation

MOVED = {**segmentation.MOVED, **fusion.MOVED}


@pytest.fixture
def forget(monkeypatch):
    """Forget an old path that an earlier test imported, so that it is imported afresh."""

    def forget(old: str) -> None:
        monkeypatch.delitem(sys.modules, old, raising=False)
        parent, _, name = old.rpartition(".")
        if name in vars(sys.modules[parent]):  # (hasattr would import it: the package's lazy attributes)
            monkeypatch.delattr(sys.modules[parent], name)

    return forget


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_an_old_path_imports_the_new_module_and_warns(old, new, forget):
    forget(old)
    with pytest.warns(DeprecationWarning, match=f"{old} has moved to {new};") as caught:
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert sys.modules[old] is module
    assert (module.__name__, module.__spec__.name) == (new, new)  # the module keeps its own name and spec
    assert caught[0].filename == __file__  # the warning points at the importing code


def test_old_paths_work_in_import_statements(forget):
    for old in ("landslide_fusion.segmentation.filters", "landslide_fusion.segmentation.engineer"):
        forget(old)
    with pytest.warns(DeprecationWarning, match="landslide_fusion.engineering.filters") as caught:
        from landslide_fusion.segmentation.filters import sobel
    with pytest.warns(DeprecationWarning, match="landslide_fusion.engineering.engineer"):
        from landslide_fusion.segmentation import engineer
    from landslide_fusion.engineering import engineer as new_engineer
    from landslide_fusion.engineering.filters import sobel as new_sobel

    assert (sobel, engineer) == (new_sobel, new_engineer)
    assert caught[0].filename == __file__


def test_every_new_path_exists_and_no_old_one_does():
    for old, new in MOVED.items():
        assert importlib.util.find_spec(new) is not None, new
        parent = importlib.import_module(old.rpartition(".")[0])
        assert importlib.machinery.PathFinder.find_spec(old, parent.__path__) is None, old


ROOT = Path(__file__).resolve().parents[1]


def _names_used(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, dotted name)`` of every module an import names (relative ones resolved), and of
    every ``landslide_fusion.*`` path in a string that is not a docstring (``names_of``, code run
    in a child process)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = list(path.relative_to(ROOT / "src").with_suffix("").parts) if path.is_relative_to(ROOT / "src") else []
    package = parts[:-1]
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + [node.module or ""]).strip(".")
            yield node.lineno, base if node.level else node.module or ""
            yield from ((node.lineno, f"{base if node.level else node.module}.{a.name}") for a in node.names)
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield from ((node.lineno, name) for name in re.findall(r"landslide_fusion(?:\.\w+)+", node.value))


def test_nothing_in_the_project_uses_an_old_path():
    files = [p for d in ("src", "tests", "benchmarks") for p in sorted((ROOT / d).rglob("*.py"))]
    used = [
        f"{path.relative_to(ROOT)}:{line} uses {old} (now {MOVED[old]})"
        for path in files
        if path != Path(__file__).resolve()
        for line, name in _names_used(path)
        for old in MOVED
        if name == old or name.startswith(old + ".")
    ]
    assert not used, "\n".join(dict.fromkeys(used))
