"""Progress for long steps: a bar on a terminal, one line per stage otherwise.

Every long step (training epochs, predicting a folder or a scene, cross-validation, fusion
scoring, demo stages) reports through this module, so a user sees the same thing everywhere:

* on a terminal (stderr is a TTY), :func:`track` draws a ``tqdm`` bar that disappears when done;
* elsewhere (CI logs, pipes, notebooks' captured output), :func:`track` prints one line when the
  step starts and one when it ends, never a line per item;
* :func:`stage` prints one line to stderr, so ``--json`` output on stdout stays one document.

``enabled=False`` (what ``--json`` or ``progress=False`` turns into) silences both.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["track", "stage"]

T = TypeVar("T")


def stage(message: str, enabled: bool = True) -> None:
    """Print one progress line to stderr (nothing when ``enabled`` is False)."""
    if enabled:
        print(message, file=sys.stderr, flush=True)


def track(iterable: Iterable[T], desc: str, total: int | None = None, enabled: bool = True) -> Iterator[T]:
    """Yield from ``iterable`` while showing progress (see the module docstring).

    Args:
        iterable: the items of the step.
        desc: what the step does, e.g. ``"predict images"``.
        total: item count when ``iterable`` has no ``len``.
        enabled: False yields the items silently.
    """
    if not enabled:
        yield from iterable
        return
    if total is None:
        total = len(iterable) if hasattr(iterable, "__len__") else None  # type: ignore[arg-type]
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        yield from tqdm(iterable, desc=desc, total=total, leave=False, file=sys.stderr)
        return
    t0 = time.perf_counter()
    stage(f"{desc}: {total if total is not None else '?'} items ...")
    n = 0
    for n, item in enumerate(iterable, start=1):
        yield item
    stage(f"{desc}: {n} done in {time.perf_counter() - t0:.1f} s")
