"""The package's imports point down the layer map of ``docs/design.md``: no module imports a layer
above its own or a sibling of its layer, no module imports a private name of another, and no
modules import each other in a cycle. Inside ``segmentation`` its subpackages follow a second map
(``SEGMENTATION_LAYERS``) the same way. Imports inside functions count (they run too); imports
under ``if TYPE_CHECKING:`` do not (they never run).

A new upward import fails here with the file, the line and the rule it breaks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "landslide_fusion"

# The layer map, bottom first. A unit is a top-level module or subpackage of ``landslide_fusion``
# (the package itself only re-exports lazily); ``io.atomic`` (atomic writes, used by every layer
# that writes) sits near the bottom, and every command-line module (``cli.py``, ``<area>/cli.py``)
# belongs to "cli", above the helpers they share (``clitools``).
LAYERS: list[set[str]] = [
    {"errors", "lazy", "moved", "names", "usage", "progress"},
    {"registry", "io.atomic", "landslide_fusion"},
    {"bands", "prior", "regions", "config", "stats"},
    {"domains", "engineering"},
    {"io"},
    {"acquire", "segmentation", "tabular", "riskmap", "synth", "check"},
    {"fusion"},
    {"assess"},
    {"serve", "demo"},
    {"clitools"},
    {"cli"},
]
RANK = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}

# Inside ``segmentation`` its subpackages and top-level modules have a map of their own, checked
# the same way (``segmentation/__init__.py`` draws it): the networks know nothing of runs, a saved
# run predicts without the code that scores or trains it, and scoring never trains.
SEGMENTATION = "landslide_fusion.segmentation"
SEGMENTATION_LAYERS: list[set[str]] = [
    {"segmentation", "blocks", "names", "patches", "weight_files"},
    {"models"},
    {"config"},
    {"inference"},
    {"evaluation"},
    {"training", "outputs"},
    {"cli"},
]
SEGMENTATION_RANK = {unit: i for i, layer in enumerate(SEGMENTATION_LAYERS) for unit in layer}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _unit(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return "landslide_fusion"
    if parts[-1] == "cli":
        return "cli"
    if parts[:2] == ["io", "atomic"]:
        return "io.atomic"
    return parts[0]


def _segmentation_unit(module: str) -> str:
    """A module's unit in segmentation's own map: its subpackage or top-level module."""
    parts = module.split(".")[2:]
    return parts[0] if parts else "segmentation"


def _resolve(target: str) -> str:
    """The module that ``target`` names (a name imported from a module resolves to the module)."""
    while target not in MODULES and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


def _imports(module: str) -> list[tuple[int, str, list[str]]]:
    """``(line, imported module, imported names)`` of every import that runs."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            node.body = []
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "landslide_fusion":
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    found.append((node.lineno, _resolve(full), [alias.name] if full not in MODULES else []))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, _resolve(a.name), []) for a in node.names if a.name.startswith("landslide_fusion")]
    return found


def _rank_problem(where: str, here: str, there: str, rank: dict[str, int]) -> list[str]:
    if there != here and rank[there] > rank[here]:
        return [f"{where}: {there} is a layer above {here}"]
    if there != here and rank[there] == rank[here]:
        return [f"{where}: {there} and {here} are siblings of one layer"]
    return []


def _in_segmentation(module: str) -> bool:
    return module == SEGMENTATION or module.startswith(SEGMENTATION + ".")


def test_every_unit_has_a_layer():
    missing = sorted({_unit(m) for m in MODULES} - set(RANK))
    assert not missing, f"place {missing} in LAYERS (tests/test_layers.py) and in docs/design.md's layer map"
    missing = sorted({_segmentation_unit(m) for m in MODULES if _in_segmentation(m)} - set(SEGMENTATION_RANK))
    assert not missing, f"place {missing} in SEGMENTATION_LAYERS and in segmentation/__init__.py's map"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    here = _unit(module)
    problems: list[str] = []
    for line, target, names in _imports(module):
        there = _unit(target)
        where = f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports {target}"
        problems += _rank_problem(where, here, there, RANK)
        if any(n.startswith("_") and not n.startswith("__") for n in names):
            problems.append(f"{where}: {', '.join(names)} is private to {target}")
    assert not problems, "\n".join(dict.fromkeys(problems))


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _in_segmentation(m)))
def test_imports_point_down_inside_segmentation(module):
    here = _segmentation_unit(module)
    problems: list[str] = []
    for line, target, _ in _imports(module):
        if _in_segmentation(target):
            where = f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports {target}"
            problems += _rank_problem(where, here, _segmentation_unit(target), SEGMENTATION_RANK)
    assert not problems, "\n".join(dict.fromkeys(problems))


def test_no_import_cycles():
    graph = {m: {t for _, t, _ in _imports(m) if t != m} for m in MODULES}
    cycles = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append(" -> ".join([*path[path.index(t) :], t]))
            elif t not in state:
                visit(t, [*path, t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
