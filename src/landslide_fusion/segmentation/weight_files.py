"""Weights files (a run's ``model.pt``, ``model.init_from``): read safely, checked before use.

``torch.load(weights_only=True, mmap=True)`` reads tensors without running code and without
copying them into memory; anything that is not a plain ``{name: tensor}`` mapping is refused
(never by advising ``weights_only=False``: a file that needs it can run arbitrary code). A run's
``model.pt`` is then "not a state dict written by this project"; ``model.init_from`` says how to
save one. Keys and shapes are compared with the model's by one check (:func:`check_fit`), which
names the tensors that differ. For a run, the model the config describes is first built on the
``meta`` device (shapes only, no memory), so a config asking for huge ``model.widths`` or a
``model.pt`` from another run is reported before anything is allocated.

Writing (:func:`save_weights`) goes through a Python file object: ``torch.save`` to a path turns
a full disk into a ``RuntimeError`` of its zip writer ("unexpected pos ..."), through a file it
is the ``OSError`` (``ENOSPC``) that :mod:`landslide_fusion.io.atomic` reports naming the output.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Callable, TypeVar

import torch
from torch import nn

from ..errors import DataError

__all__ = ["load_weights", "save_weights", "check_fit", "build_with_weights"]

M = TypeVar("M", bound=nn.Module)

_RUN_FIX = "restore the run's model.pt or train the run again"


def load_weights(
    path: str | os.PathLike[str], *, refuse: str | None = None, fix: str = _RUN_FIX
) -> dict[str, torch.Tensor]:
    """The ``{name: tensor}`` state dict in ``path`` (memory-mapped, no code run).

    Anything else raises ``"<refuse> (<what it is>); <fix>"``; ``refuse`` defaults to
    ``"<path>: not a state dict written by this project"`` and ``fix`` to restoring the run."""
    path = Path(path)
    refuse = refuse or f"{path}: not a state dict written by this project"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError, KeyError) as e:
        kind = "unreadable" if not isinstance(e, pickle.UnpicklingError) else "holds objects other than tensors"
        raise DataError(f"{refuse} ({kind}); {fix}") from None
    if not isinstance(state, dict):
        raise DataError(f"{refuse} (a {type(state).__name__}, not a mapping of tensor names to tensors); {fix}")
    if not state:
        raise DataError(f"{refuse} (an empty mapping); {fix}")
    for k, v in state.items():
        if not isinstance(k, str):
            raise DataError(f"{refuse} (key {k!r} is not a name); {fix}")
        if not isinstance(v, torch.Tensor):
            raise DataError(f"{refuse} (entry {k!r} is a {type(v).__name__}, not a tensor); {fix}")
    return state


def save_weights(obj: object, path: str | os.PathLike[str]) -> Path:
    """``torch.save(obj)`` into ``path`` through a file object (a full disk raises ``OSError``)."""
    with open(path, "wb") as f:
        torch.save(obj, f)
    return Path(path)


def _listed(names: list[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_fit(expected: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor], where: str, fix: str) -> None:
    """Raise ``"<where>: <what differs>; <fix>"`` unless ``state`` has exactly the keys and shapes
    of ``expected`` (a model's state dict, real or on the meta device)."""
    got = {k: tuple(v.shape) for k, v in state.items()}
    want = {k: tuple(v.shape) for k, v in expected.items()}
    missing, extra = [k for k in want if k not in got], [k for k in got if k not in want]
    differ = [
        f"{k!r} has shape {got[k]} in the file and {want[k]} in the model"
        for k in want
        if k in got and got[k] != want[k]
    ]
    problems = (
        ([f"the file lacks {len(missing)} tensor(s) of the model ({_listed(missing)})"] if missing else [])
        + ([f"it has {len(extra)} the model does not ({_listed(extra)})"] if extra else [])
        + ([_listed(differ, 2)] if differ else [])
    )
    if problems:
        raise DataError(f"{where}: {'; '.join(problems)}; {fix}")


def build_with_weights(build: Callable[[], M], state: dict[str, torch.Tensor], source: str) -> M:
    """``build()`` the module, after checking on the meta device that ``state`` fits it exactly,
    then load ``state`` into it."""
    where, fix = (
        f"{source}: the weights do not fit the model of the run's config.toml",
        "config.toml and model.pt must come from the same run",
    )
    try:
        with torch.device("meta"):
            expected = build().state_dict()
    except (NotImplementedError, RuntimeError):  # a module that cannot be built without data: check after
        expected = None
    if expected is not None:
        check_fit(expected, state, where, fix)
    module = build()
    try:
        module.load_state_dict(state)
    except RuntimeError as e:
        raise DataError(f"{where} ({str(e).splitlines()[0]}); {fix}") from None
    return module
