"""Atomic writes: files and folders appear whole or not at all, and two runs never mix.

A file is written under a hidden temporary name beside its target and renamed over it with
:func:`os.replace` (atomic on POSIX within one file system). An output folder is built under a
temporary name unique to the run (``.NAME.tmp-PID-RANDOM``) and swapped in at the end, so an
interrupted or failed run never leaves a half written result and never destroys the previous one.

Guarantees of :func:`output_dir` (a results folder) and :func:`output_file` (a single file given
on the command line, with the files that go beside it, e.g. a provenance sidecar):

* **No overwrite without asking**: a non-empty destination is refused up front, and again at the
  commit (something may have appeared meanwhile) unless ``overwrite`` is set. An empty folder
  counts as absent.
* **One writer per output**: a lock (``.NAME.lock``, :func:`fcntl.flock`, released by the kernel
  when the process dies) makes a second concurrent writer fail at once, naming the first one's pid.
  A command that works before it writes holds the lock for the whole write, work included
  (:func:`writing`, or the decorator :func:`writes_output`), so two writers with ``overwrite``
  cannot both work and both replace the output.
* **Full disks**: a write that fails for lack of space (``ENOSPC``, ``EDQUOT``, ``EFBIG``) inside
  these helpers is reported as :class:`~landslide_fusion.errors.OutputError` naming the output,
  and the previous result is kept.
* **No debris**: temporaries are removed on any exception, on Ctrl-C (SIGINT raises
  :class:`KeyboardInterrupt`) and on ``kill`` (SIGTERM, :func:`terminate_raises`), and an
  interrupted run never commits its output; those of processes killed with ``kill -9`` (their pid
  no longer runs) are removed by the next run writing the same output.
* **Links**: an output that is a symbolic link is written into the link's target (the link stays);
  a link to nothing is refused.
"""

from __future__ import annotations

import errno
import functools
import glob
import inspect
import json
import os
import shutil
import signal
import threading
import uuid
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from ..errors import NO_SPACE, OutputError, OutputExistsError

__all__ = [
    "atomic_path",
    "output_dir",
    "output_file",
    "write_json",
    "jsonable",
    "write_text",
    "check_can_write",
    "resolve_output",
    "output_lock",
    "clean_stale",
    "writing",
    "writes_output",
    "NO_SPACE",
    "terminate_raises",
    "Terminated",
]

_TAGS = ("tmp", "old")
#: Outputs whose lock this process holds for a :func:`writing` block: absolute path -> lock fd.
_CLAIMS: dict[str, int] = {}
F = TypeVar("F", bound=Callable[..., Any])


class Terminated(SystemExit):
    """SIGTERM arrived (``kill PID``): raised where the process was, so every ``finally`` and
    ``except BaseException`` on the way out removes its temporaries, as on an error. A subclass of
    :class:`SystemExit` with code 143 (128 + SIGTERM, the shell's convention): unhandled, the process
    ends with that status and no traceback, as it would have been ended by the signal."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


#: Interrupts whose exception may have been swallowed (Python ignores, with a message, an exception
#: raised in a finalizer or weakref callback, e.g. while h5py closes a file): raised again at the
#: next commit, so an interrupted run never commits its output.
_PENDING: list[type[BaseException]] = []


def _raise_terminated(signum: int, frame: object) -> None:
    _PENDING.append(Terminated)
    raise Terminated()


def _raise_interrupt(signum: int, frame: object) -> None:
    _PENDING.append(KeyboardInterrupt)
    raise KeyboardInterrupt


def _check_interrupted() -> None:
    """Raise again an interrupt whose first exception was swallowed (see :data:`_PENDING`)."""
    if _PENDING:
        raise _PENDING.pop(0)()


@contextmanager
def terminate_raises() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` instead of ending the process on the spot,
    and SIGINT raises :class:`KeyboardInterrupt` as Python's own handler does; either is raised
    again at the next commit of an output if the first one was swallowed (:data:`_PENDING`).

    Only for a signal that has its default action (a handler someone installed is kept) and only
    in the main thread (Python runs signal handlers there; elsewhere this does nothing). Nested
    uses are free: the outermost one installs the handlers and restores the previous ones on exit.
    """
    ours = {
        signal.SIGTERM: (signal.SIG_DFL, _raise_terminated),
        signal.SIGINT: (signal.default_int_handler, _raise_interrupt),
    }
    main = threading.current_thread() is threading.main_thread()
    installed = {sig: default for sig, (default, handler) in ours.items() if main and signal.getsignal(sig) == default}
    for sig in installed:
        signal.signal(sig, ours[sig][1])
    try:
        yield
    finally:
        for sig, default in installed.items():
            signal.signal(sig, default)


def _sibling(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


def clean_stale(path: Path) -> list[Path]:
    """Remove ``.NAME.tmp-PID-*`` / ``.NAME.old-PID-*`` beside ``path`` whose process is gone.

    A previous result left as ``.old-*`` by a process killed between its two renames is put back
    when ``path`` is missing, else removed.
    """
    removed: list[Path] = []
    if not path.parent.is_dir():
        return removed
    for tag in _TAGS:
        for p in path.parent.glob(f".{glob.escape(path.name)}.{tag}-*"):
            pid = p.name[len(f".{path.name}.{tag}-") :].split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                if tag == "old" and not path.exists() and not path.is_symlink():
                    os.replace(p, path)
                    continue
                _remove(p)
                removed.append(p)
    return removed


def resolve_output(path: str | os.PathLike[str]) -> Path:
    """The path to write: a link's target for a symbolic link; a dangling link is an error."""
    path = Path(path)
    if path.is_symlink():
        target = path.resolve()
        if not target.exists():
            raise OutputExistsError(
                f"{path}: is a link to {target}, which does not exist; create {target} or remove the link"
            )
        return target
    return path


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), path.parent)
        raise OutputExistsError(f"{path}: {blocker} is a file, not a folder; choose another output") from None


def _refuse_existing(path: Path, overwrite: bool) -> Path:
    """``path`` (links resolved); raises :class:`OutputExistsError` when it holds results and
    ``overwrite`` is off (an empty folder counts as absent; a dangling link is refused)."""
    path = resolve_output(path)
    if path.exists() and not overwrite:
        if not path.is_dir() or any(path.iterdir()):
            raise OutputExistsError(f"{path}: already exists; choose another output or pass --overwrite to replace it")
    return path


def check_can_write(path: str | os.PathLike[str], overwrite: bool) -> Path:
    """Raise :class:`OutputExistsError` when ``path`` holds results and ``overwrite`` is off.

    An empty folder counts as absent; a dangling symbolic link is refused.
    """
    return _refuse_existing(path, overwrite)


def _torchrun_worker() -> bool:
    """True in a process started by ``torchrun`` with a rank other than 0: rank 0 writes the output."""
    return os.environ.get("RANK", "0") != "0"


@contextmanager
def writing(path: str | os.PathLike[str], overwrite: bool = False) -> Iterator[Path]:
    """Check ``path`` (:func:`check_can_write`) and hold its lock for the whole block: the work
    and the commit. :func:`output_dir`/:func:`output_file` inside the block commit under this
    lock (and release it); a second writer, ``overwrite`` or not, fails at once naming this pid.
    Yields the path to write (a link's target). Nested blocks for one path share the lock."""
    path = check_can_write(path, overwrite)
    key = os.path.abspath(path)
    if key in _CLAIMS or _torchrun_worker():
        yield path
        return
    _make_parent(path)
    with terminate_raises():  # a kill or Ctrl-C during the work releases the lock as an error does
        _CLAIMS[key] = _lock(path)
        try:
            yield path
        finally:
            fd = _CLAIMS.pop(key, None)
            if fd is not None:
                _unlock(path, fd)


def writes_output(param: str = "out") -> Callable[[F], F]:
    """Decorate a function that writes the output named by its argument ``param`` (and takes
    ``overwrite``): the output is checked before the function's work and held for the whole call
    (:func:`writing`)."""

    def decorate(func: F) -> F:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            with writing(bound.arguments[param], bool(bound.arguments.get("overwrite", False))):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _lock_file(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


def _lock(path: Path) -> int:
    """An fd holding ``.NAME.lock`` beside ``path``; a second holder fails at once naming the first's pid.

    (Where :mod:`fcntl` does not exist, e.g. Windows, writers are not locked: -1.)"""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return -1
    lock = _lock_file(path)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            other = lock.read_text().strip() if lock.exists() else "?"
            raise OutputExistsError(
                f"{path}: another process (pid {other or '?'}) is writing this output; "
                "wait for it to finish or choose another output"
            ) from None
        try:  # the holder we waited on may have removed the file: lock the current one
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def _unlock(path: Path, fd: int) -> None:
    if fd >= 0:
        _lock_file(path).unlink(missing_ok=True)
        os.close(fd)


@contextmanager
def output_lock(path: Path) -> Iterator[None]:
    """Hold ``.NAME.lock`` beside ``path`` for the block; a second holder (another process, or
    another holder in this one) fails at once naming the first's pid."""
    fd = _lock(path)
    try:
        yield
    finally:
        _unlock(path, fd)


@contextmanager
def _naming_space(path: Path) -> Iterator[None]:
    """Report a write refused for lack of space as :class:`OutputError` naming ``path``."""
    try:
        yield
    except OSError as e:
        if isinstance(e, OutputError) or e.errno not in NO_SPACE:
            raise
        raise OutputError(
            f"{path}: could not be written ({e.strerror or e}); free space on its disk or choose "
            "another output (nothing was replaced)"
        ) from None


def _not_a_folder(path: Path) -> Path:
    if path.is_dir():
        raise OutputExistsError(f"{path}: is a folder; pass a file name")
    return path


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path; on normal exit rename it to ``path``, else delete it.

    ``path`` must not be a folder; a link to a file is written through (the target is replaced).
    """
    path = _not_a_folder(resolve_output(path))
    _make_parent(path)
    inside = any(".tmp-" in part for part in path.parent.parts)  # a run's own new folder (output_dir's)
    if not inside:  # which has nothing stale, and whose output_dir names the output on a full disk
        clean_stale(path)
    tmp = _sibling(path, "tmp")
    with terminate_raises():
        try:
            with nullcontext() if inside else _naming_space(path):
                yield tmp
            _check_interrupted()
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                _remove(tmp)


def _appeared(path: Path) -> OutputExistsError:
    return OutputExistsError(
        f"{path}: appeared while this run was writing it; nothing was replaced; "
        "choose another output or pass --overwrite"
    )


def _commit(tmp: Path, path: Path, overwrite: bool) -> None:
    """Move the folder ``tmp`` to ``path``: only onto nothing or an empty folder, unless ``overwrite``."""
    _check_interrupted()
    if path.is_symlink() or path.exists():
        if not overwrite and (not path.is_dir() or any(path.iterdir())):
            raise _appeared(path)
        old = _sibling(path, "old")
        os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            os.replace(old, path)
            raise
        _remove(old)
    else:
        os.replace(tmp, path)


def _commit_file(tmp: Path, path: Path, overwrite: bool) -> None:
    """Move the files of the folder ``tmp`` beside ``path``, ``path``'s own file last (its arrival
    marks the whole output): only onto nothing, unless ``overwrite``."""
    _check_interrupted()
    if not overwrite and (path.is_symlink() or path.exists()):
        raise _appeared(path)
    main = tmp / path.name
    for extra in sorted(p for p in tmp.iterdir() if p != main):
        os.replace(extra, path.parent / extra.name)
    os.replace(main, path)


@contextmanager
def _claim(path: Path, overwrite: bool) -> Iterator[Path]:
    """As the only writer of ``path`` (its lock: the one this process holds for a :func:`writing`
    block, else taken now; existing results checked again under it, stale temporaries removed), yield a
    new empty temporary folder beside it; the folder is removed and the lock released on exit."""
    _make_parent(path)
    with terminate_raises():
        fd = _CLAIMS.pop(os.path.abspath(path), None)
        fd = _lock(path) if fd is None else fd
        try:
            _refuse_existing(path, overwrite)  # the writer we raced may have finished first
            clean_stale(path)
            tmp = _sibling(path, "tmp")
            tmp.mkdir()
            try:
                with _naming_space(path):
                    yield tmp
            finally:
                if tmp.exists():
                    _remove(tmp)
        finally:
            _unlock(path, fd)


@contextmanager
def output_dir(path: str | os.PathLike[str], overwrite: bool = False) -> Iterator[Path]:
    """Build a results folder atomically, as the only writer of ``path``.

    Yields an empty temporary folder unique to this run. On normal exit it replaces ``path`` (the
    old folder is removed only after the new one is in place); on error it is deleted and
    ``path`` is untouched. Raises :class:`OutputExistsError` up front when ``path`` is non-empty
    and ``overwrite`` is off, when another process is writing ``path``, and at the end when
    something appeared at ``path`` meanwhile (then nothing is replaced).
    """
    path = _refuse_existing(path, overwrite)
    with _claim(path, overwrite) as tmp:
        yield tmp
        _commit(tmp, path, overwrite)


@contextmanager
def output_file(path: str | os.PathLike[str], overwrite: bool = False) -> Iterator[Path]:
    """Write the single file ``path`` atomically, as its only writer: :func:`output_dir`'s
    guarantees for one file.

    Yields the path to write: ``path``'s name inside a temporary folder unique to this run, beside
    ``path``. Other files written into that folder (a sidecar, a report) are moved beside ``path``
    first, then ``path``'s own file is renamed into place. On error nothing is moved. Raises
    :class:`OutputExistsError` up front when ``path`` exists (unless ``overwrite``) or is a folder,
    when another process is writing ``path``, and at the end when a file appeared at ``path``
    meanwhile (then nothing is replaced).
    """
    path = _not_a_folder(_refuse_existing(path, overwrite))
    with _claim(path, overwrite) as tmp:
        yield tmp / path.name
        _commit_file(tmp, path, overwrite)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (NaN is written as null)."""
    return write_text(path, json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n")


def jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays and NaN to plain JSON values."""
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj
