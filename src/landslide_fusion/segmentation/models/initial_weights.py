"""Start a model from a local weights file (``model.init_from = PATH``).

The file is a state dict saved with ``torch.save(model.state_dict(), PATH)``, or a run folder's
``model.pt`` (a whole pipeline's state dict: its ``model.`` entries are used). It is read as a
run's weights are (:func:`~landslide_fusion.segmentation.weight_files.load_weights`: tensors only,
never code) and every key and shape is checked against the model by the same check
(:func:`~landslide_fusion.segmentation.weight_files.check_fit`) before anything is copied.
"""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn

from ...errors import ConfigError
from ..weight_files import check_fit, load_weights

__all__ = ["load_initial_weights"]

_SAVE = "save one with torch.save(model.state_dict(), PATH), or point to a run folder's model.pt"


def load_initial_weights(model: nn.Module, path: str | os.PathLike[str]) -> nn.Module:
    """Copy the weights in ``path`` into ``model`` after checking every key and shape."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"model.init_from: {path}: no such file; give a state dict saved with torch.save(model.state_dict())"
        )
    state = load_weights(path, refuse=f"model.init_from: {path}: not a state dict of tensors", fix=_SAVE)
    if any(k.startswith("model.") for k in state):  # a run's pipeline: keep the network's part
        state = {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}
    check_fit(
        model.state_dict(),
        state,
        f"model.init_from: {path}: the weights do not fit the model",
        "was it saved from the same model.name, model.options and band preset?",
    )
    model.load_state_dict(state)
    return model
