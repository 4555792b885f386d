"""Fingerprints of files and folders (SHA-256) and the provenance sidecar of a written table.

A folder's fingerprint (:func:`folder_sha256`: a segmentation run's training data) hashes the
content of every file under it, so data regenerated behind the same path, or edited in place, is
a new fingerprint, while a copy of the same files elsewhere is the same one.

A command that writes a table from a model (``tabular predict``) records which model made it in
``DIR/STEM.provenance.json`` beside ``DIR/STEM.csv``; :mod:`landslide_fusion.fusion.provenance`
reads it back to check that a fusion is fed by the models it was trained on.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .atomic import write_json

__all__ = ["file_sha256", "versioned_sha256", "folder_sha256", "sidecar_path", "read_sidecar", "write_sidecar"]

#: SHA-256 of the files hashed in this process, by (path, size, modification time): a training run
#: hashes its data once, for its provenance and its checkpoints' fingerprint, over every fold.
_VERSIONS: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def versioned_sha256(path: str | os.PathLike[str]) -> str:
    """:func:`file_sha256` of ``path``, read once per process and version of the file (its path,
    size and modification time)."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _VERSIONS:
        _VERSIONS[key] = file_sha256(path)
    return _VERSIONS[key]


def folder_sha256(root: str | os.PathLike[str]) -> str | None:
    """SHA-256 over every file under ``root`` (hidden files and folders left out): each file's
    path relative to ``root`` and the SHA-256 of its bytes, in sorted order. None when ``root``
    is not a folder (e.g. an empty ``data.root``)."""
    if not root or not Path(root).is_dir():
        return None
    root = Path(root).resolve()
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.relative_to(root).as_posix()}\0{versioned_sha256(p)}\n".encode())
    return h.hexdigest()


def sidecar_path(table: str | os.PathLike[str]) -> Path:
    """``DIR/STEM.provenance.json``: the provenance sidecar of ``DIR/STEM.EXT``."""
    table = Path(table)
    return table.with_name(f"{table.stem}.provenance.json")


def read_sidecar(table: str | os.PathLike[str]) -> dict | None:
    """The sidecar record of ``table``, or None when there is none."""
    side = sidecar_path(table)
    return json.loads(side.read_text()) if side.is_file() else None


def write_sidecar(table: str | os.PathLike[str], record: dict) -> Path:
    """Write the sidecar record of ``table`` atomically."""
    return write_json(sidecar_path(table), record)
