"""Atomic writes: files and folders appear whole or not at all.

A file is written under a hidden temporary name beside its target and renamed over it with
:func:`os.replace` (atomic on POSIX within one file system). An output folder is built under a
temporary name and swapped in at the end, so an interrupted or failed run never leaves a half
written result and never destroys the previous one.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import OutputExistsError

__all__ = ["atomic_path", "output_dir", "write_json", "write_text", "check_can_write"]


def _sibling(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{tag}-{uuid.uuid4().hex[:8]}")


def check_can_write(path: str | os.PathLike[str], overwrite: bool) -> Path:
    """Raise :class:`OutputExistsError` when ``path`` holds results and ``overwrite`` is off."""
    path = Path(path)
    if path.exists() and not overwrite:
        if path.is_file() or any(path.iterdir()):
            raise OutputExistsError(
                f"{path}: already exists; choose another output or pass --overwrite to replace it"
            )
    return path


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path; on normal exit rename it to ``path``, else delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def output_dir(path: str | os.PathLike[str], overwrite: bool = False) -> Iterator[Path]:
    """Build a results folder atomically.

    Yields an empty temporary folder. On normal exit it replaces ``path`` (the old folder is
    removed only after the new one is in place); on error it is deleted and ``path`` is untouched.
    Raises :class:`OutputExistsError` up front when ``path`` is non-empty and ``overwrite`` is off.
    """
    path = check_can_write(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp")
    tmp.mkdir()
    try:
        yield tmp
        old = None
        if path.exists():
            old = _sibling(path, "old")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (NaN is written as null)."""
    return write_text(path, json.dumps(_jsonable(obj), indent=2, allow_nan=False) + "\n")


def _jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays and NaN to plain JSON values."""
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj
