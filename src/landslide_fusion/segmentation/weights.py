"""Weights files of a run (``model.pt``): read safely, checked against the config before building.

``torch.load(weights_only=True, mmap=True)`` reads tensors without running code and without
copying them into memory; anything that is not a plain ``{name: tensor}`` mapping is refused as
"not a state dict written by this project" (never by advising ``weights_only=False``: a file
that needs it can run arbitrary code). The model the config describes is first built on the
``meta`` device (shapes only, no memory), so a config asking for huge ``model.widths`` or a
``model.pt`` from another run is reported, naming the tensors that differ, before anything is
allocated.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Callable, TypeVar

import torch
from torch import nn

from ..errors import DataError

__all__ = ["load_weights", "build_with_weights"]

M = TypeVar("M", bound=nn.Module)


def load_weights(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The ``{name: tensor}`` state dict in ``path`` (memory-mapped, no code run)."""
    path = Path(path)
    refuse = f"{path}: not a state dict written by this project"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError, KeyError) as e:
        kind = "unreadable" if not isinstance(e, pickle.UnpicklingError) else "holds objects other than tensors"
        raise DataError(f"{refuse} ({kind}); restore the run's model.pt or train the run again") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise DataError(f"{refuse} (a {type(state).__name__}, not a mapping of tensor names to tensors); "
                        "restore the run's model.pt or train the run again")
    return state


def _listed(names: list[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def build_with_weights(build: Callable[[], M], state: dict[str, torch.Tensor], source: str) -> M:
    """``build()`` the module, after checking on the meta device that ``state`` fits it exactly,
    then load ``state`` into it."""
    try:
        with torch.device("meta"):
            shapes = {k: tuple(v.shape) for k, v in build().state_dict().items()}
    except (NotImplementedError, RuntimeError):  # a module that cannot be built without data: check after
        shapes = None
    if shapes is not None:
        got = {k: tuple(v.shape) for k, v in state.items()}
        missing, extra = sorted(set(shapes) - set(got)), sorted(set(got) - set(shapes))
        differ = [f"{k} {got[k]} in the file, {shapes[k]} by the config" for k in shapes if k in got and got[k] != shapes[k]]
        problems = ([f"{len(missing)} tensor(s) missing ({_listed(missing)})"] if missing else []) + \
                   ([f"{len(extra)} unexpected ({_listed(extra)})"] if extra else []) + \
                   ([f"shapes differ: {_listed(differ, 2)}"] if differ else [])
        if problems:
            raise DataError(f"{source}: the weights do not fit the model of the run's config.toml: {'; '.join(problems)}; "
                            "config.toml and model.pt must come from the same run")
    module = build()
    try:
        module.load_state_dict(state)
    except RuntimeError as e:
        raise DataError(f"{source}: the weights do not fit the model of the run's config.toml "
                        f"({str(e).splitlines()[0]}); config.toml and model.pt must come from the same run") from None
    return module
