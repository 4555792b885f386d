"""Shared plumbing for the typer sub-apps: one-line user errors and ``--json`` output."""

from __future__ import annotations

import errno
import functools
import importlib
import json
import sys
from collections.abc import Iterable
from enum import Enum
from typing import Any, Callable, TypeVar

import typer
from typer.core import TyperGroup

from . import usage  # noqa: F401  (help pages show types as words)
from .errors import NO_SPACE, LandslideError

__all__ = [
    "area_app",
    "lazy_areas",
    "user_errors",
    "emit",
    "comma_list",
    "estimate_text",
    "choices",
    "JsonOption",
    "OverwriteOption",
    "ConfigOption",
    "SetOption",
    "ShareOption",
]

F = TypeVar("F", bound=Callable[..., Any])


def area_app(help: str, **settings: Any) -> typer.Typer:
    """A typer app of one area (or the root): help as plain text, no pretty tracebacks.

    Plain help (click's own formatting, ``rich_markup_mode=None``) keeps Rich and its Markdown
    parser out of start-up: ``landslide --help`` prints in about half the time
    (``benchmarks/bench_startup.py``). Tracebacks are never prettified: user errors are one
    line (:func:`user_errors`) and anything else is a bug to report as Python prints it.
    """
    settings = {"no_args_is_help": True, **settings}
    return typer.Typer(help=help, rich_markup_mode=None, pretty_exceptions_enable=False, **settings)


JsonOption = typer.Option(False, "--json", help="Print one JSON document instead of text.")
OverwriteOption = typer.Option(False, "--overwrite", help="Replace an existing output.")
ConfigOption = typer.Option(None, "--config", "-c", help="TOML config file (see configs/).")
SetOption = typer.Option(
    [], "--set", "-s", metavar="KEY=VALUE", help="Override a config value, e.g. --set train.epochs=5 (repeatable)."
)
ShareOption = typer.Option(
    None,
    "--landslide-free-share",
    help="Expected share of landslide-free regions where the models are used, in [0, 1) (e.g. 0.9: 9 regions in "
    "10 hold no landslide); every threshold and decision is made for it (default: the one the model or "
    "fusion was tuned for).",
)


#: File-system refusals that are the user's to fix (permissions, a full or read-only disk, a
#: file where a folder is needed), reported like :class:`LandslideError`.
_USER_OS_ERRORS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, *NO_SPACE}


def lazy_areas(areas: dict[str, str]) -> type[TyperGroup]:
    """A root group whose area sub-apps (``{name: "module:app"}``) are imported and built when
    one is used: ``landslide segment ...`` builds the segment commands alone, while ``landslide
    --help`` (which lists them all) and shell completion build each. Pass it as the root app's
    ``cls``; the areas follow the root's own commands, in the mapping's order."""

    class LazyAreas(TyperGroup):
        _built: dict[str, Any] = {}

        def list_commands(self, ctx: Any) -> list[str]:
            return [*super().list_commands(ctx), *areas]

        def get_command(self, ctx: Any, name: str) -> Any:
            if name not in areas:
                return super().get_command(ctx, name)
            if name not in self._built:
                module, attr = areas[name].split(":")
                group = typer.main.get_command(getattr(importlib.import_module(module), attr))
                group.name = name
                self._built[name] = group
            return self._built[name]

    return LazyAreas


def user_errors(func: F) -> F:
    """Turn :class:`LandslideError` (and the file system's refusals: no permission, disk full, a
    file where a folder is needed) into ``error: <message>`` on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LandslideError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from None
        except OSError as e:
            if e.errno not in _USER_OS_ERRORS:
                raise
            where = f"{e.filename}: " if e.filename else ""
            fix = "free space on its disk" if e.errno in NO_SPACE else "check the path and its permissions"
            typer.echo(f"error: {where}{e.strerror or e}; {fix}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def comma_list(value: str | None) -> tuple[str, ...] | None:
    """``"a=1,b=2"`` -> ``("a=1", "b=2")``; None or empty stays None."""
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else None


def estimate_text(estimate: dict, names: Iterable[str] = ("f1", "precision", "recall")) -> str:
    """``F1 0.763 [0.731, 0.792]  precision ...``: cross-fitted figures with their bootstrap
    interval (``estimate["interval"]``, :mod:`~landslide_fusion.segmentation.evaluation.interval`)."""
    interval = estimate.get("interval") or {}
    words = {"f1": "F1"}
    parts = []
    for name in names:
        part = f"{words.get(name, name)} {estimate[name]:.3f}"
        if name in interval:
            part += " [{:.3f}, {:.3f}]".format(*interval[name])
        parts.append(part)
    level = f" ({100 * interval['level']:.0f} % bootstrap intervals over the images)" if interval else ""
    return "  ".join(parts) + level


def emit(result: Any, as_json: bool, text: str | None = None) -> None:
    """Print ``result`` as JSON, or ``text`` for people."""
    if as_json:
        from .io.atomic import jsonable

        sys.stdout.write(json.dumps(jsonable(result), indent=2) + "\n")
    else:
        typer.echo(text if text is not None else str(result))


def choices(name: str, values: Iterable[str]) -> type[Enum]:
    """A ``str`` Enum for typer built from the library's own tuple or registry (its keys).

    ``TTA = choices("TTA", TTA_MODES)`` gives members ``TTA.none``, ``TTA.rot90``, ... whose
    values are the library's names, so a CLI choice list is never a copy that can drift from
    the library. A registry's entries added after the CLI module is imported are not included.
    """
    return Enum(name, {value: value for value in values}, type=str)  # type: ignore[return-value]
