"""Resumable training state: a private partial folder per run, held by a lock, and checkpoints
that carry a fingerprint of what they were trained on.

* **Partial folder.** A run to ``OUT`` trains in ``.OUT.partial-<pid>-<random>/``; its ``lock``
  file holds the process id and an exclusive ``flock`` for the life of the process (the kernel
  drops it when the process dies, even on ``kill -9``). A second run to the same ``OUT`` finds the
  held lock and stops at once, naming the lock and the other process; a folder whose lock nobody
  holds is an interrupted run: ``resume`` takes it over (the newest, if several), a fresh run
  deletes it. While a run holds its folder, SIGTERM raises
  (:func:`~landslide_fusion.io.atomic.terminate_raises`), so a ``kill`` is handled as an error
  is: the folder is removed unless it holds a checkpoint to resume from.
* **Fingerprint.** ``{"config": ..., "data": ...}``: the configuration as dotted keys minus the
  keys that cannot change what is learned (:data:`COSMETIC`: where the data lives, thread and
  worker counts, post-processing and scene settings), and the data listing: every file under
  ``data.root`` with its size and the SHA-256 of its bytes (hashed once per process and file
  version), so the same files copied again, re-synced or moved resume, and a file changed in
  place does not, whatever its modification time. Resuming compares the checkpoint's
  fingerprint with the new one and refuses, naming each difference
  (``train.lr: 0.001 -> 0.01``, ``data: 12 file(s) differ``), before any weight is loaded, so a
  different model gives that line too rather than a state-dict error.
* **Damage.** A checkpoint that cannot be read (cut short by a full disk, emptied, overwritten)
  is refused in one line naming it (:func:`load_checkpoint`); training afresh deletes it.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import pickle
import shutil
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ...errors import DataError
from ...io.atomic import terminate_raises
from ...io.fingerprint import versioned_sha256
from ..config import SegmentConfig

__all__ = [
    "WorkDir",
    "open_workdir",
    "has_work",
    "LOCK",
    "fingerprint",
    "differences",
    "check_fingerprint",
    "load_checkpoint",
    "COSMETIC",
]

LOCK = "lock"
COSMETIC = ("data.root", "data.cache", "train.threads", "train.workers", "post.", "scene.")


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive lock on ``path`` (created if absent), or None when another
    process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


@dataclass
class WorkDir:
    """A claimed partial folder: ``path``, the fd that holds its lock, and SIGTERM raising
    until :meth:`release`."""

    path: Path
    fd: int
    signals: ExitStack = field(default_factory=ExitStack)

    def release(self, remove: bool) -> None:
        """Drop the lock; with ``remove``, delete the folder (the run is committed or abandoned)."""
        os.close(self.fd)
        if remove:
            shutil.rmtree(self.path, ignore_errors=True)
        self.signals.close()


def _claim(path: Path, fd: int) -> WorkDir:
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    work = WorkDir(path, fd)
    work.signals.enter_context(terminate_raises())
    return work


def _others(out: Path, mine: Path | None = None) -> list[tuple[Path, int]]:
    """Stale partial folders of ``out`` with their now-held lock fds; raises if one is live."""
    stale = []
    for p in sorted(out.parent.glob(f".{out.name}.partial*")):
        if p == mine or not p.is_dir():
            continue
        fd = _try_lock(p / LOCK)
        if fd is None:
            for _, f in stale:
                os.close(f)
            pid = (p / LOCK).read_text().strip() or "?"
            raise DataError(
                f"{out}: another 'segment train' (pid {pid}) is writing it, lock {p / LOCK}; "
                "wait for it to finish or choose another output"
            )
        stale.append((p, fd))
    return stale


def has_work(path: Path) -> bool:
    """True when a partial folder holds anything besides its lock (a checkpoint, finished folds)."""
    return any(e.name != LOCK for e in path.iterdir())


def open_workdir(out: str | os.PathLike[str], resume: bool) -> WorkDir:
    """Claim a partial folder for a run to ``out``: with ``resume``, the newest interrupted one
    holding work (:func:`has_work`; else a new one); stale ones left are deleted."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stale = _others(out)
    with_ckpt = sorted((p for p, _ in stale if has_work(p)), key=lambda p: p.stat().st_mtime)
    keep = with_ckpt[-1] if resume and with_ckpt else None
    for p, fd in stale:
        if p == keep:
            work = _claim(p, fd)
            continue
        os.close(fd)
        shutil.rmtree(p, ignore_errors=True)
    if keep is None:
        path = out.parent / f".{out.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        path.mkdir()
        work = _claim(path, _try_lock(path / LOCK))  # type: ignore[arg-type]
    try:
        for _, fd in _others(out, work.path):  # a run that started meanwhile: refuse, keep theirs
            os.close(fd)
    except DataError:
        work.release(remove=keep is None)
        raise
    return work


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value of a config, tables (dataclasses and ``model.options``) flattened and
    values as JSON holds them (tuples as lists), so a saved fingerprint compares equal."""
    items = (
        ((f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj))
        if dataclasses.is_dataclass(obj)
        else obj.items()
        if isinstance(obj, dict)
        else None
    )
    if items is None:
        return {prefix[:-1]: json.loads(json.dumps(obj))}
    out: dict[str, Any] = {}
    for name, value in items:
        out.update(_flat(value, f"{prefix}{name}."))
    return out


def _listing(root: str) -> dict[str, list]:
    if not root or not Path(root).is_dir():
        return {}
    files = (p for p in Path(root).rglob("*") if p.is_file())
    return {str(p.relative_to(root)): [p.stat().st_size, versioned_sha256(p)] for p in sorted(files)}


def fingerprint(cfg: SegmentConfig) -> dict[str, Any]:
    """What a checkpoint was trained on: the learning-relevant config and the data listing."""
    config = {k: v for k, v in _flat(cfg).items() if not k.startswith(COSMETIC)}
    return {"config": config, "data": _listing(cfg.data.root)}


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One item per differing config key (``key: old -> new``) and one for the data files."""
    oc, nc = old.get("config", {}), new.get("config", {})
    out = [
        f"{k}: {json.dumps(oc.get(k))} -> {json.dumps(nc.get(k))}"
        for k in sorted(set(oc) | set(nc))
        if oc.get(k) != nc.get(k)
    ]
    od, nd = old.get("data", {}), new.get("data", {})
    changed = sum(od.get(k) != nd.get(k) for k in set(od) | set(nd))
    if changed:
        out.append(f"data: {changed} file(s) differ")
    return out


def check_fingerprint(saved: str | None, current: dict[str, Any], ckpt: Path) -> None:
    """Refuse to resume from ``ckpt`` unless its fingerprint ``saved`` (JSON) equals ``current``."""
    if saved is None:
        raise DataError(
            f"{ckpt}: checkpoint carries no fingerprint (written by an older version); train afresh without --resume"
        )
    diffs = differences(json.loads(saved), current)
    if diffs:
        raise DataError(
            f"{ckpt}: cannot resume, it was trained on other settings ({'; '.join(diffs)}); "
            "resume with the original config and data, or train afresh without --resume"
        )


def load_checkpoint(path: Path, device: str) -> dict[str, Any]:
    """The training state in checkpoint ``path`` (tensors and plain values only, no code run);
    a damaged or foreign file is refused in one line."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError, KeyError) as e:
        why = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
        raise DataError(
            f"{path}: checkpoint is damaged and cannot be resumed ({why}); "
            "train afresh without --resume (that deletes it)"
        ) from None
    if not isinstance(state, dict) or "model" not in state:
        raise DataError(f"{path}: not a training checkpoint of this project; train afresh without --resume")
    return state
