"""ONNX export of a module, and prediction through ONNX Runtime.

The exported graph is the whole saved pipeline: raw bands -> band engineering -> normalisation
-> network -> logits, with dynamic batch, height and width, so ``--engine onnx`` takes the
same raw bands as the torch engine. Exporting a trained run (and checking it against torch) is
:func:`~.export.export_onnx`.

Both directions need the optional ``onnx`` extra (``onnx``, ``onnxruntime``); without it, or with
a ``model.onnx`` that is empty, cut short or not an ONNX model, the command stops with one line
naming what is missing or the file.
"""

from __future__ import annotations

import importlib
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from ...errors import DataError
from ...io.atomic import atomic_path

__all__ = ["export_module", "OnnxPipeline", "require_onnx"]

_INSTALL = "pip install 'landslide-fusion[onnx]'"


def require_onnx(purpose: str, packages: tuple[str, ...] = ("onnx", "onnxruntime")) -> None:
    """Refuse in one line when an optional package ``purpose`` needs is not installed."""
    missing = []
    for package in packages:
        try:
            importlib.import_module(package)
        except ImportError:
            missing.append(package)
    if missing:
        raise DataError(
            f"{purpose} needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
            f"not installed; {_INSTALL}"
        )


class OnnxPipeline:
    """A callable ``(B, C, H, W)`` bands -> ``(B, 1, H, W)`` logits backed by ONNX Runtime."""

    def __init__(self, path: str | os.PathLike[str], threads: int = 0) -> None:
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: no ONNX model; export one with 'landslide segment export --run {path.parent}'")
        require_onnx("the onnx engine", ("onnxruntime",))
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime's exceptions (InvalidProtobuf, ...) have no public base class
            if not type(e).__module__.startswith("onnxruntime"):
                raise
            why = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
            raise DataError(
                f"{path}: not a readable ONNX model ({why}); export it again with "
                f"'landslide segment export --run {path.parent} --overwrite'"
            ) from None
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = self.session.run(
            None, {self.input_name: np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)}
        )[0]
        return torch.from_numpy(out)


def export_module(
    module: torch.nn.Module, example: torch.Tensor, out: str | os.PathLike[str], *, opset: int = 18
) -> Path:
    """Write ``module`` (eval mode, input ``bands`` -> output ``logits``) to ``out`` atomically,
    with dynamic batch, height and width."""
    with atomic_path(out) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            str(tmp),
            input_names=["bands"],
            output_names=["logits"],
            dynamic_axes={
                "bands": {0: "batch", 2: "height", 3: "width"},
                "logits": {0: "batch", 2: "height", 3: "width"},
            },
            opset_version=opset,
            dynamo=False,
        )
    return Path(out)
