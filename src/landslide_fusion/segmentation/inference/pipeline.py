"""The saved unit of a segmentation run: band engineering + normalisation + network.

``predict`` therefore takes raw source bands, and nothing downstream re-implements a feature.
Normalisation is applied *after* band engineering, so spectral indices are computed on physical
values and every output band (derived ones included) is standardised with statistics of the
training split.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...io.sample import Sample
from ...stats import BandStats, Normalization, compute_band_stats
from ..config import SegmentConfig
from ...engineering.engineer import BandEngineer
from ..models import HeadOutputs, create_model, load_initial_weights

__all__ = ["Normalize", "SegmentationPipeline", "build_pipeline", "engineered_stats"]


class Normalize(nn.Module):
    """``x * scale + shift`` per channel (buffers saved with the weights)."""

    def __init__(self, scale: np.ndarray, shift: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("shift", torch.as_tensor(shift, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


class SegmentationPipeline(nn.Module):
    """raw bands -> :class:`BandEngineer` -> :class:`Normalize` -> network."""

    def __init__(self, engineer: BandEngineer, normalize: Normalize, model: nn.Module) -> None:
        super().__init__()
        self.engineer = engineer
        self.normalize = normalize
        self.model = model

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalize(self.engineer(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor | HeadOutputs:
        return self.model(self.features(x))


def _engineer(cfg: SegmentConfig) -> BandEngineer:
    f = cfg.features
    return BandEngineer(
        f.source,
        f.preset,
        gaussian_kernel=f.gaussian_kernel,
        median_kernel=f.median_kernel,
        blur=f.blur,
        median=f.median,
    )


@torch.no_grad()
def engineered_stats(cfg: SegmentConfig, images: torch.Tensor, batch_size: int = 64) -> BandStats:
    """Exact per-band statistics of the engineered bands of ``images`` (N, C, H, W)."""
    eng = _engineer(cfg)
    engineered = (
        Sample(id="", image=img.numpy(), bands=eng.out_bands)
        for i in range(0, len(images), batch_size)
        for img in eng(images[i : i + batch_size])
    )
    return compute_band_stats(engineered)


def build_pipeline(cfg: SegmentConfig, stats: BandStats, *, initialize: bool = False) -> SegmentationPipeline:
    """Assemble the pipeline for ``cfg``; ``stats`` are those of the engineered bands.
    ``initialize``: load ``cfg.model.init_from`` into the network (training does; loading a
    finished run does not, its own weights follow)."""
    eng = _engineer(cfg)
    scale, shift = stats.scale_shift(Normalization(cfg.data.normalization))
    model = create_model(cfg.model.name, eng.out_channels, **cfg.model.options)
    if initialize and cfg.model.init_from:
        load_initial_weights(model, cfg.model.init_from)
    return SegmentationPipeline(eng, Normalize(scale, shift), model)
