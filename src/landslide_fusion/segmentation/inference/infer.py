"""A saved run and its network pass: loading, test-time augmentation, head averaging.

Images of any size, masks and region statistics are made from these probabilities by
:mod:`~landslide_fusion.segmentation.inference.predict`.

A run folder holds ``config.toml``, ``band_stats.json``, ``model.pt`` (a state dict loaded with
``weights_only=True``: loading never executes code) and ``run.json`` (threshold, bands, model, the
input domain: :mod:`landslide_fusion.domains`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...config import load_config
from ...domains import Domain, input_factors, run_domain
from ...errors import BandError, ConfigError, DataError
from ...stats import BandStats
from ..config import SegmentConfig
from ..names import ENGINES, TTA_MODES
from .ensemble import FoldEnsemble, build_ensemble
from .pipeline import SegmentationPipeline, build_pipeline

__all__ = ["SegmentationRun", "predict_proba", "TTA_MODES", "ENGINES"]


def _views(tta: str) -> list[tuple[int, bool]]:
    if tta not in TTA_MODES:
        raise ConfigError(f"unknown tta {tta!r}; valid: {', '.join(TTA_MODES)}")
    if tta == "none":
        return [(0, False)]
    flips = (False, True) if tta == "d4" else (False,)
    return [(k, f) for f in flips for k in range(4)]


@torch.no_grad()
def predict_proba(
    pipeline: SegmentationPipeline | Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    tta: str = "none",
    batch_size: int = 16,
) -> torch.Tensor:
    """Landslide probabilities (B, H, W) for raw bands ``x`` (B, C, H, W).

    ``pipeline`` is the torch pipeline or any callable mapping bands to logits (B, 1, H, W), such
    as an ONNX Runtime session (:class:`~landslide_fusion.segmentation.inference.onnx.OnnxPipeline`). Each TTA
    view is rotated/flipped, predicted (multi-resolution heads averaged by the model) and mapped
    back; the probabilities of the views are averaged.
    """
    device = torch.device("cpu")
    if isinstance(pipeline, nn.Module):
        pipeline.eval()
        device = next(pipeline.parameters()).device
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size].to(device)
        acc = torch.zeros(xb.shape[0], *xb.shape[-2:], device=device)
        views = _views(tta)
        for k, flip in views:
            v = xb.flip(-1) if flip else xb
            v = torch.rot90(v, k, (-2, -1))
            p = torch.sigmoid(pipeline(v)[:, 0].float())
            p = torch.rot90(p, -k, (-2, -1))
            acc += p.flip(-1) if flip else p
        out.append((acc / len(views)).cpu())
    return torch.cat(out)


@dataclass
class SegmentationRun:
    """A trained segmentation run loaded from its folder."""

    path: Path
    config: SegmentConfig
    pipeline: SegmentationPipeline | FoldEnsemble
    threshold: float
    info: dict
    engine: Callable[[torch.Tensor], torch.Tensor] | None = None
    stats: BandStats | None = None  # the training values (band_stats.json), for the input check

    @property
    def bands(self) -> tuple[str, ...]:
        return self.pipeline.engineer.source.bands

    @property
    def domain(self) -> Domain:
        """The domain of the run's inputs (``run.json``, or its band set's documented default)."""
        return run_domain(self.info, self.config.features.source)

    def input_factors(self, x: np.ndarray, scale: str | None, source: str) -> np.ndarray:
        """Per-band multipliers taking an input (``x``: its pixels, or a sample of them, in the
        run's bands) from the ``scale`` it declares to the run's domain, or a one-line refusal
        (:func:`~landslide_fusion.domains.input_factors`)."""
        return input_factors(x, self.bands, scale, self.domain, self.stats, source)

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: str = "cpu", engine: str = "torch") -> "SegmentationRun":
        """Load a run folder; ``engine="onnx"`` predicts through ONNX Runtime with the run's
        ``model.onnx`` (written by ``segment export``)."""
        if engine not in ENGINES:
            raise ConfigError(f"unknown engine {engine!r}; valid: {', '.join(ENGINES)}")
        path = Path(path)
        for name in ("config.toml", "band_stats.json", "model.pt", "run.json"):
            if not (path / name).is_file():
                raise DataError(f"{path}: not a segmentation run (no {name}); pass a folder written by 'segment train'")
        cfg = load_config(SegmentConfig, path / "config.toml")
        stats = BandStats.load(path / "band_stats.json")
        info = json.loads((path / "run.json").read_text())
        from ..weight_files import build_with_weights, load_weights

        members = int((info.get("ensemble") or {}).get("members", 0))
        pipeline = build_with_weights(
            (lambda: build_ensemble(cfg, stats, members)) if members else (lambda: build_pipeline(cfg, stats)),
            load_weights(path / "model.pt"),
            str(path / "model.pt"),
        )
        pipeline.to(device).eval()
        runner = None
        if engine == "onnx" and members:
            raise ConfigError(
                f"{path}: a fold ensemble predicts with torch (its image gate reads each member's map); "
                'use engine torch, or train the k-fold with train.final = "refit" to export one model'
            )
        if engine == "onnx":
            from .onnx import OnnxPipeline

            runner = OnnxPipeline(path / "model.onnx")
        return cls(path, cfg, pipeline, float(info["threshold"]), info, runner, stats)

    @property
    def members(self) -> list["SegmentationRun"]:
        """The fold runs of an ensemble (:mod:`.ensemble`), each with this run's settings; empty
        for a single model."""
        if not isinstance(self.pipeline, FoldEnsemble):
            return []
        return [replace(self, pipeline=m, engine=None) for m in self.pipeline.members]

    @property
    def gate(self) -> float:
        """The image gate chosen with the threshold (0: none; runs before gates have none)."""
        return float(self.info.get("gate", 0.0))

    def check_bands(self, bands: tuple[str, ...], source: str) -> None:
        if tuple(bands) != self.bands:
            raise BandError(
                f"{source}: bands {', '.join(bands)} differ from the run's {', '.join(self.bands)}; "
                "predict with data of the band set the model was trained on"
            )

    def predict_proba(self, x: torch.Tensor | np.ndarray, tta: str | None = None, batch_size: int = 16) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(x, dtype=np.float32)) if isinstance(x, np.ndarray) else x.float()
        return predict_proba(self.engine or self.pipeline, x, tta or self.config.post.tta, batch_size)
