"""The fold models of a k-fold, averaged: the run ``segment train --folds K`` writes at its root
when ``train.final = "ensemble"`` (the default).

For raw bands ``x`` the ensemble's probability is the mean of the K fold pipelines'
probabilities, ``p(x) = (1/K) sum_k sigmoid(z_k(x))`` (each pipeline with its own band
engineering and normalisation), returned as the logit ``log p - log(1 - p)``, so that TTA, scene
tiling and the service treat it as one network's output. Where the members disagree the mean is
less sure than the surest of them: an area one member alone fires on (0.999 beside two at 0.1)
averages to 0.40. The image gate, chosen on the members' own out-of-fold peaks, compares their
peaks averaged (:func:`~.predict.predict_region`), not the peak of the averaged map, which falls
under a gate near 1 as soon as the members' surest pixels differ by a little.

Why the fold models rather than a refit on every image: every figure a k-fold reports (the
out-of-fold sweep that sets the threshold and gate, ``oof_stats.csv`` the fusion learns from, the
component filter, the estimate for a declared share) is measured on these very models, each on
the images it did not see. A refit is another model that no figure measured, one draw from a
training whose spread between folds is wide (on Bijie the three fold models of one seed range
from 0.63 to 0.79 pixel F1 on the same unseen images, ``docs/results.md``). Averaging them
(bagging; Breiman, *Bagging predictors*, Machine Learning 24, 1996) predicts at least about as
well as their mean and with less spread, so the estimate measured on them holds; and the k-fold
needs no extra training pass. Prediction costs K forward passes.
"""

from __future__ import annotations

import torch
from torch import nn

from ...engineering.engineer import BandEngineer
from ...stats import BandStats
from ..config import SegmentConfig
from .pipeline import SegmentationPipeline, build_pipeline

__all__ = ["FoldEnsemble", "build_ensemble"]

_EPS = 1e-7


class FoldEnsemble(nn.Module):
    """K segmentation pipelines whose probabilities are averaged (module docstring); the same raw
    bands in, one logit map (B, 1, H, W) out."""

    def __init__(self, members: list[SegmentationPipeline]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least two pipelines, got {len(members)}")
        self.members = nn.ModuleList(members)

    @property
    def engineer(self) -> BandEngineer:
        """The band engineering of the members (one recipe: the same for all)."""
        return self.members[0].engineer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.stack([torch.sigmoid(m(x).float()) for m in self.members]).mean(0).clamp(_EPS, 1 - _EPS)
        return torch.log(p) - torch.log1p(-p)


def build_ensemble(cfg: SegmentConfig, stats: BandStats, members: int) -> FoldEnsemble:
    """An untrained ensemble of ``members`` pipelines of ``cfg`` (its weights follow, each
    member's normalisation among them)."""
    return FoldEnsemble([build_pipeline(cfg, stats) for _ in range(members)])
