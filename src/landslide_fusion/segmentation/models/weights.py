"""Start a model from a local weights file (``model.init_from = PATH``).

The file is a state dict saved with ``torch.save(model.state_dict(), PATH)``, or a run folder's
``model.pt`` (a whole pipeline's state dict: its ``model.`` entries are used). It is read with
``torch.load(weights_only=True)``, so it can hold tensors only, never code; every key and shape
is checked against the model before anything is copied.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ...errors import ConfigError, DataError

__all__ = ["load_initial_weights"]


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ConfigError(f"model.init_from: {path}: no such file; give a state dict saved with torch.save(model.state_dict())")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 (pickle, zip and tensor errors all mean "not a state dict")
        state = None
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(f"model.init_from: {path}: not a state dict of tensors; save one with "
                        "torch.save(model.state_dict(), PATH), or point to a run folder's model.pt")
    if any(k.startswith("model.") for k in state):  # a run's pipeline: keep the network's part
        state = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    return state


def load_initial_weights(model: nn.Module, path: str | os.PathLike[str]) -> nn.Module:
    """Copy the weights in ``path`` into ``model`` after checking every key and shape."""
    path = Path(path)
    state = _read_state(path)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    if missing or extra:
        what = f"lacks {missing[0]!r}" if missing else f"has {extra[0]!r}, which the model does not"
        raise DataError(f"model.init_from: {path}: {what} ({len(missing)} missing, {len(extra)} unexpected keys); "
                        "was it saved from the same model.name and model.options?")
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise DataError(f"model.init_from: {path}: {k!r} has shape {tuple(state[k].shape)} in the file and "
                            f"{tuple(v.shape)} in the model; check model.options and the band preset")
    model.load_state_dict(state)
    return model
