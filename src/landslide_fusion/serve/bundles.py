"""Model bundles: a segmentation run, optionally a tabular model and a fusion, under one name.

The server's configuration registers them (``[bundles.NAME]`` with ``run``, ``tabular``,
``fusion`` folders and a ``description``); a request names a bundle, never a path, and an unknown
name is refused with the registered names listed. Each bundle's ``fingerprint`` (SHA-256 over
the files at the top of its folders: weights, configs, thresholds, provenance) is part of a
request's identity, so replacing a model in place never returns results of the old one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import from_dict
from ..errors import ConfigError

__all__ = ["Bundle", "BundleEntry", "parse_bundles", "fingerprint"]


@dataclass(frozen=True)
class BundleEntry:
    """``[bundles.NAME]`` as written."""

    run: str
    tabular: str = ""
    fusion: str = ""
    description: str = ""


@dataclass(frozen=True)
class Bundle:
    """A registered bundle with absolute folders."""

    name: str
    run: Path
    tabular: Path | None
    fusion: Path | None
    description: str
    fingerprint: str

    @property
    def method(self) -> str:
        return "fused" if self.fusion is not None else "image-only"

    def describe(self) -> dict[str, Any]:
        """What a client may know: never the folders."""
        return {
            "name": self.name,
            "method": self.method,
            "description": self.description,
            "fingerprint": self.fingerprint[:16],
        }


def fingerprint(folders: list[Path]) -> str:
    """SHA-256 over the names and contents of the regular files at the top of ``folders``."""
    h = hashlib.sha256()
    for folder in folders:
        for f in sorted(p for p in folder.iterdir() if p.is_file()):
            h.update(f.name.encode() + b"\0")
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()


def _folder(base: Path, text: str, key: str, where: str, check: bool) -> Path:
    p = (base / text).resolve()
    if check and not p.is_dir():
        raise ConfigError(f"{where}: {key} = {text!r}: folder {p} not found; train it first or fix the path")
    return p


def parse_bundles(table: dict[str, Any], base: Path, where: str, check: bool = True) -> dict[str, Bundle]:
    """``[bundles]`` -> name -> :class:`Bundle` (folders relative to ``base``; checked when ``check``)."""
    out = {}
    for name, entry in table.items():
        key = f"bundles.{name}"
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"{where}: bundle name {name!r} must be letters, digits, '-' or '_'")
        e = from_dict(BundleEntry, entry, f"{where}: {key}") if isinstance(entry, dict) else None
        if e is None:
            raise ConfigError(f'{where}: {key} must be a table with run = "FOLDER"')
        if bool(e.tabular) != bool(e.fusion):
            raise ConfigError(f"{where}: {key} needs both tabular and fusion (a fused risk) or neither (image-only)")
        run = _folder(base, e.run, f"{key}.run", where, check)
        if check and not (run / "run.json").is_file():
            raise ConfigError(f"{where}: {key}.run = {e.run!r} holds no run.json; give a segmentation run folder")
        tab = _folder(base, e.tabular, f"{key}.tabular", where, check) if e.tabular else None
        fus = _folder(base, e.fusion, f"{key}.fusion", where, check) if e.fusion else None
        folders = [p for p in (run, tab, fus) if p is not None]
        out[name] = Bundle(name, run, tab, fus, e.description, fingerprint(folders) if check else "")
    return out
