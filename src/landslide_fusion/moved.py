"""Old module paths that still import, for one release, as the modules that replaced them.

A package that moved modules calls :func:`alias_moved_modules` with ``{old path: new path}``
when it is imported. Importing an old path then gives the new module itself (the same object,
registered in ``sys.modules`` under both names, so ``old.f is new.f`` and monkeypatching either
patches both) and warns once with a ``DeprecationWarning`` naming the new path::

    alias_moved_modules({"landslide_fusion.segmentation.train": "landslide_fusion.segmentation.training.train"})

One meta path finder serves every moved path. It sits at the end of
``sys.meta_path``, so it is asked only for names no file provides, and the new module is
imported only when an old path is.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import warnings
from collections.abc import Mapping, Sequence
from types import ModuleType

__all__ = ["MovedModules", "alias_moved_modules"]

#: Modules whose frames lie between an import and the loader: the import system, and the lazy
#: package attributes (``from landslide_fusion.segmentation import train``) that call it.
_MACHINERY = ("importlib", "landslide_fusion.lazy")


class _Alias:
    """Loads an old path as the module at ``new`` (an import-system loader: ``create_module`` and
    ``exec_module``; not an ``importlib.abc`` subclass, whose import costs start-up 8 ms)."""

    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        frame = sys._getframe(1)  # the warning points at the importing code, past the machinery between
        while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(_MACHINERY):
            frame = frame.f_back
        warnings.warn_explicit(
            f"{spec.name} has moved to {self.new}; import {self.new} (the old path goes in the next release)",
            DeprecationWarning,
            frame.f_code.co_filename,
            frame.f_lineno,
            module=frame.f_globals.get("__name__"),
            registry=frame.f_globals.setdefault("__warningregistry__", {}),
        )
        module = importlib.import_module(self.new)
        self.spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self.spec  # the import system set the old path's spec on the module: restore its own


class MovedModules:
    """A meta path finder (``find_spec``) that resolves old module paths (``{old: new}``) to the
    modules that replaced them."""

    def __init__(self) -> None:
        self.moved: dict[str, str] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        new = self.moved.get(fullname)
        return None if new is None else importlib.machinery.ModuleSpec(fullname, _Alias(new))


def alias_moved_modules(moved: Mapping[str, str]) -> MovedModules:
    """Make every old path in ``moved`` import as its new path (module docstring); returns the
    one finder, registered at the end of ``sys.meta_path`` on first use."""
    finder = next((f for f in sys.meta_path if isinstance(f, MovedModules)), None)
    if finder is None:
        finder = MovedModules()
        sys.meta_path.append(finder)
    finder.moved.update(moved)
    return finder
