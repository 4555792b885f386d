"""The reader registry: how a dataset folder's layout is recognised and opened.

A reader is a name, a ``detect(root) -> bool`` test on a folder and an ``open`` callable that
returns a lazy sequence of :class:`~.sample.Sample` (a :class:`Dataset`). The built-in layouts
(``io/l4s.py``, ``io/folder.py``) are registered at the end of this module, a new one from its
own module, and
:func:`~.open.open_dataset` asks the registry which reader recognises a folder, so a new layout
is a pure addition::

    register_reader("my-layout", detect=lambda root: (root / "tiles").is_dir(),
                    open=MyDataset, layout="tiles/ + labels/")

``open`` is called as ``open(root, split=..., band_set=..., require_masks=..., nan_policy=...)``
and must refuse (with :class:`~landslide_fusion.errors.DataError`) an option it cannot honour
rather than ignore it. Detection tries readers by descending ``priority``, then in registration
order; the first whose ``detect`` is true opens the folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol, runtime_checkable

from ..errors import DataError
from ..registry import Registry
from .folder import ImageFolderDataset, is_image_folder
from .l4s import open_l4s
from .sample import Sample
from .validate import NanPolicy

__all__ = ["Dataset", "OpenFn", "Reader", "READERS", "register_reader", "get_reader", "detect_reader"]


@runtime_checkable
class Dataset(Protocol):
    """What every reader returns: a lazy, indexable sequence of samples with their ids."""

    @property
    def ids(self) -> list[str]: ...

    @property
    def has_masks(self) -> bool: ...

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Sample: ...


class OpenFn(Protocol):
    """Signature of a reader's ``open``."""

    def __call__(
        self,
        root: Path,
        *,
        split: str | None,
        band_set: str | None,
        require_masks: bool,
        nan_policy: NanPolicy | str,
    ) -> Dataset | Sequence[Sample]: ...


@dataclass(frozen=True)
class Reader:
    """A registered dataset layout.

    Args:
        name: registry name, e.g. ``"l4s"``.
        detect: true when a folder is in this layout (cheap: look at names, not contents).
        open: opens a folder in this layout (see :class:`OpenFn`).
        layout: one line for error messages, e.g. ``"img/ + mask/ (Landslide4Sense)"``.
        priority: detection order; higher is tried first.
    """

    name: str
    detect: Callable[[Path], bool]
    open: OpenFn
    layout: str = ""
    priority: int = 0

    def describe(self) -> str:
        """``name (layout)`` for error messages."""
        return f"{self.name} ({self.layout})" if self.layout else self.name


_REGISTRY: Registry[Reader] = Registry("reader", DataError, lambda _, reader: reader.describe())
READERS: Mapping[str, Reader] = _REGISTRY.view
"""Registered readers by name, in registration order (read-only live view)."""


def register_reader(
    name: str,
    *,
    detect: Callable[[Path], bool],
    open: OpenFn,
    layout: str = "",
    priority: int = 0,
    replace: bool = False,
) -> Reader:
    """Register a dataset reader under ``name`` and return it.

    Raises:
        DataError: ``name`` is already registered and ``replace`` is False.
    """
    return _REGISTRY.register(name, Reader(name, detect, open, layout, priority), replace=replace)


def get_reader(name: str) -> Reader:
    """Look up a reader by name; the error lists the registered readers."""
    return _REGISTRY.lookup(name)


def detect_reader(root: str | os.PathLike[str]) -> Reader:
    """The reader that recognises the folder ``root``: by descending priority, then registration order.

    Raises:
        DataError: ``root`` is not a folder, or no registered reader recognises it.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: folder not found")
    readers = sorted(READERS.values(), key=lambda r: -r.priority)  # stable: ties keep their order
    for reader in readers:
        if reader.detect(root):
            return reader
    layouts = ", ".join(r.describe() for r in readers) or "none registered"
    raise DataError(f"{root}: not a dataset folder; expected one of the registered layouts: {layouts}")


register_reader(
    "image-folder", detect=is_image_folder, open=ImageFolderDataset, layout="images/ + masks/, PNG or GeoTIFF"
)
# tried before other layouts: a folder with img/ has always opened as Landslide4Sense
register_reader(
    "l4s",
    detect=lambda root: (root / "img").is_dir(),
    open=open_l4s,
    layout="img/ + mask/, Landslide4Sense HDF5",
    priority=1,
)
