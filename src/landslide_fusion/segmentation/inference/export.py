"""Export a trained run to ONNX: ``RUN/model.onnx`` beside its checkpoint, checked against torch.

``export_onnx`` exports the run's whole saved pipeline (:func:`~.onnx.export_module`), predicts a
random batch larger than the export example with both engines and records the largest absolute
difference of the logits in ``onnx.json`` (or ``<name>.json`` beside another output name); the
model and its report appear together, only once the check has run.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ...errors import ConfigError
from ...io.atomic import output_file, write_json
from .infer import SegmentationRun
from .onnx import OnnxPipeline, export_module, require_onnx

__all__ = ["export_onnx"]


def export_onnx(
    run: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    opset: int = 18,
    size: int = 0,
    overwrite: bool = False,
) -> dict:
    """Export ``run`` to ``out`` (default ``RUN/model.onnx``) and verify it against torch."""
    r = SegmentationRun.load(run)
    if r.members:
        raise ConfigError(
            f"{run}: a fold ensemble is not exported (its image gate reads each member's map); "
            'train the k-fold with train.final = "refit" to export one model, or export a fold run (fold_K)'
        )
    require_onnx("segment export")
    out = Path(out) if out else Path(run) / "model.onnx"
    size = size or r.config.data.size or 128
    pipeline = r.pipeline.eval()
    gen = torch.Generator().manual_seed(0)
    with output_file(out, overwrite) as tmp:  # the model and its report appear together, once checked
        example = torch.rand(2, len(r.bands), size, size, generator=gen) + 0.5
        export_module(pipeline, example, tmp, opset=opset)
        check = torch.rand(3, len(r.bands), size + 16, size + 16, generator=gen) + 0.5
        with torch.no_grad():
            ref = pipeline(check)
        diff = float((OnnxPipeline(tmp)(check) - ref).abs().max())
        report = {
            "onnx": str(out),
            "opset": opset,
            "max_abs_logit_difference": diff,
            "checked_shape": list(check.shape),
        }
        write_json(tmp.with_name(f"{out.stem}.json" if out.name != "model.onnx" else "onnx.json"), report)
    return report
