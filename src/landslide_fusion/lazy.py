"""Lazy package exports (PEP 562), so that importing one module of a package costs only that module.

The command line lives in the packages it drives (``segmentation/cli.py``, ``fusion/cli.py``, ...),
and Python runs a package's ``__init__`` before any of its modules. An ``__init__`` that imported
its public names eagerly would load torch, scikit-learn, SciPy and LightGBM before ``landslide
--help`` could print a line. With :func:`lazy_exports` a package keeps its public names
(``from landslide_fusion.segmentation import SegmentConfig`` still works) but imports the module
that defines a name the first time the name is read, as scientific Python's SPEC 1
(``lazy_loader``) does::

    __all__, __getattr__, __dir__ = lazy_exports(__name__, {
        ".config": ["SegmentConfig"],
        ".training.train": ["train_segmentation"],
    })

A submodule read as an attribute (``landslide_fusion.segmentation.config`` after ``import
landslide_fusion.segmentation``) is imported on first use too, as it was when ``__init__``
imported it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, Iterable[str]]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for ``package`` from ``{".module": [names]}``.

    Args:
        package: the package's ``__name__``.
        exports: relative module name -> the public names it defines.

    Returns:
        The names (for ``__all__``), a module ``__getattr__`` that imports a name's module on
        first use and caches the value in the package, and a ``__dir__`` that lists the names.
    """
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is not None:
            value = getattr(importlib.import_module(module, package), name)
        elif name.startswith("_"):
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        else:
            try:
                value = importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as e:
                if e.name != f"{package}.{name}":
                    raise
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return list(where), __getattr__, __dir__
