"""Fingerprints of files (SHA-256) and the provenance sidecar of a written table.

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

__all__ = ["file_sha256", "sidecar_path", "read_sidecar", "write_sidecar"]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
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
