"""``landslide --help`` and argument errors start light; every help page has an example and words.

Start-up is checked in a process of its own: after printing each help page and refusing bad
arguments, none of the heavy libraries may be in ``sys.modules`` (they take seconds to import).
"""

from __future__ import annotations

import importlib.metadata
import json
import pickle
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

import landslide_fusion
from landslide_fusion.cli import app
from tests.conftest import cli_env

#: Libraries ``--help`` and argument errors must not import (0.1-10 s each on a busy machine; NumPy alone was a
#: quarter of what was left).
HEAVY = (
    "torch",
    "torchvision",
    "sklearn",
    "scipy",
    "lightgbm",
    "pandas",
    "numpy",
    "shap",
    "matplotlib",
    "onnx",
    "onnxruntime",
    "dask",
    "rasterio",
    "h5py",
    "PIL",
    "cv2",
    "rich",  # help is plain text (clitools.area_app): Rich and its Markdown parser were half of what was left
)

#: Libraries help pages must not import either (argument errors do: typer 0.29 checks a given value with
#: pydantic). Help pages are printed first, so none of these may be loaded until the first refused argument.
HELP_ONLY_HEAVY = ("pydantic",)

#: Command lines that must fail as usage errors (exit 2) before any library code runs.
BAD_ARGUMENTS = (
    ["segment", "predict", "--run", "r", "-i", "x", "-o", "o", "--tta", "d8"],
    ["fuse", "predict", "--fusion", "f", "--image", "i", "--tabular", "t", "-o", "o", "--on-missing", "keep"],
    ["tabular", "train", "--data", "d", "-o", "o", "--cv", "random"],
    ["data", "synth", "out", "--n", "0"],
    ["fetch", "--bbox", "1,2,3,4", "--date", "2024-01-01", "-o", "x.tif", "--scale", "nope"],
    ["segment", "train", "--no-such-option"],
    ["fuse", "train", "--image", "i", "--tabular", "t"],  # -o missing
)


def _command_paths() -> list[list[str]]:
    """Every command and group of the app, as argument lists (``[]`` is the app itself)."""
    paths: list[list[str]] = []

    def walk(command: typer.core.TyperCommand, path: list[str]) -> None:
        paths.append(path)
        if hasattr(command, "list_commands"):  # a group (the root's areas are built when asked for)
            ctx = typer.Context(command)
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


def _leaves() -> list[list[str]]:
    return [p for p in _command_paths() if p and not getattr(_command(p), "commands", None)]


def _command(path: list[str]) -> object:
    command = typer.main.get_command(app)
    for name in path:
        command = command.get_command(typer.Context(command), name)  # type: ignore[attr-defined]
    return command


_CHILD = """
import json, sys
from landslide_fusion.cli import app
heavy, report = json.loads(sys.argv[1]), []
for args in json.loads(sys.argv[2]):
    try:
        app(args, prog_name="landslide")
    except SystemExit as e:
        code = e.code
    report.append({"args": args, "exit": code, "heavy": sorted(m for m in heavy if m in sys.modules)})
print(json.dumps(report))
"""


def test_help_and_argument_errors_import_no_heavy_library():
    calls = [[*path, "--help"] for path in _command_paths()] + [list(a) for a in BAD_ARGUMENTS]
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(HEAVY + HELP_ONLY_HEAVY), json.dumps(calls)],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    report = json.loads(out.splitlines()[-1])
    assert len(report) == len(calls)
    for r in report:
        heavy = [m for m in r["heavy"] if r["args"][-1] == "--help" or m not in HELP_ONLY_HEAVY]
        assert heavy == [], f"landslide {' '.join(r['args'])} imported {', '.join(heavy)}"
        assert r["exit"] == (0 if r["args"][-1] == "--help" else 2), r


def test_a_registry_choice_is_checked_when_given_and_lists_the_registered_names():
    from landslide_fusion.fusion.methods import _REGISTRY, list_methods, register_method
    from landslide_fusion.fusion.stacking import StackingFusion

    r = CliRunner().invoke(app, ["fuse", "train", "--image", "i", "--tabular", "t", "-o", "o", "--method", "nope"])
    assert r.exit_code == 2
    words = " ".join(r.output.replace("│", " ").split())  # the message as one line, out of typer's error box
    assert "Invalid value for '--method': unknown fusion method 'nope'; valid: " + ", ".join(list_methods()) in words

    @register_method
    class Mine(StackingFusion):  # a method registered from outside the package is a valid choice
        name = "mine-for-the-cli-test"

    try:
        r = CliRunner().invoke(
            app, ["fuse", "train", "--image", "missing.csv", "--tabular", "t.csv", "-o", "o", "--method", Mine.name]
        )
        assert r.exit_code == 1 and "Invalid value" not in r.output  # past parsing, to the library's own checks
    finally:
        _REGISTRY.unregister(Mine.name)


@pytest.mark.parametrize("path", _leaves(), ids=" ".join)
def test_every_command_help_shows_an_example_of_itself(path):
    out = CliRunner().invoke(app, [*path, "--help"], terminal_width=100).output
    assert "Example:" in out, out
    example = out[out.index("Example:") :]
    assert f"landslide {' '.join(path)} " in example or example.rstrip().endswith(f"landslide {' '.join(path)}")


def test_help_shows_words_not_placeholders():
    for path in _command_paths():
        out = CliRunner().invoke(app, [*path, "--help"], terminal_width=100).output
        for placeholder in ("{", "<list", "<path>", "<str>", "<int", "<float", "<bool>"):
            assert placeholder not in out, (path, placeholder, out)
    check = CliRunner().invoke(app, ["data", "check", "--help"], terminal_width=100).output
    assert "landslide data check [OPTIONS] ROOT" in check and "PATH" in check
    scenes = CliRunner().invoke(app, ["segment", "scenes", "--help"], terminal_width=100).output
    assert "SCENE_FILES..." in scenes and "BAND=N,..." in scenes and "[torch|onnx]" in scenes


def test_version_prints_the_package_version():
    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output == f"landslide-fusion {landslide_fusion.__version__}\n"
    try:
        installed = importlib.metadata.version("landslide-fusion")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("landslide-fusion is not installed; only __version__ checked")
    assert installed == landslide_fusion.__version__


@pytest.mark.parametrize(
    "package",
    [
        "landslide_fusion",
        "landslide_fusion.io",
        "landslide_fusion.segmentation",
        "landslide_fusion.tabular",
        "landslide_fusion.fusion",
        "landslide_fusion.acquire",
    ],
)
def test_lazy_packages_still_export_every_public_name(package):
    pkg = importlib.import_module(package)
    for name in pkg.__all__:
        assert getattr(pkg, name) is not None, name
        assert name in dir(pkg)
    with pytest.raises(AttributeError):
        pkg.no_such_name  # noqa: B018


def test_not_fitted_error_is_scikit_learns_and_pickles():
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    from landslide_fusion.errors import LandslideError, NotFittedError

    assert issubclass(NotFittedError, SklearnNotFittedError) and issubclass(NotFittedError, LandslideError)
    e = pickle.loads(pickle.dumps(NotFittedError("not fitted")))
    assert type(e) is NotFittedError and str(e) == "not fitted"


@pytest.mark.parametrize("first", ["readers", "folder", "l4s"])
def test_the_reader_registry_is_complete_whichever_io_module_comes_first(first):
    code = (
        f"import landslide_fusion.io.{first}; from landslide_fusion.io.readers import READERS; print(sorted(READERS))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=cli_env(), capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert out.strip() == "['image-folder', 'l4s']"
