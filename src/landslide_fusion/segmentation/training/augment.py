"""Batched augmentation on tensors, applied to raw bands before band engineering.

* ``rot90_flip``: a random multiple of 90 degrees and a random horizontal flip per sample
  (non-square batches rotate by 0 or 180 degrees only).
* ``cutmix_landslides``: in up to ``max_sources`` rounds, each sample receives (with
  probability ``prob``) the landslide pixels of another positive sample of the batch, image and
  mask together (the RAU-Net paper's landslide cut-mix).
* ``spectral_jitter``: per sample and band, multiply spectral bands by ``1 + s * N(0, 1)``;
  terrain bands (slope, DEM) are left alone.
"""

from __future__ import annotations

import torch

__all__ = ["rot90_flip", "cutmix_landslides", "spectral_jitter", "augment_batch"]


def rot90_flip(x: torch.Tensor, y: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random rotation by k*90 degrees and random horizontal flip, per sample."""
    b = x.shape[0]
    square = x.shape[-1] == x.shape[-2]
    k = (
        torch.randint(0, 4, (b,), generator=g, device=g.device)
        if square
        else 2 * torch.randint(0, 2, (b,), generator=g, device=g.device)
    )
    flip = torch.rand(b, generator=g, device=g.device) < 0.5
    x, y = x.clone(), y.clone()
    for kk in k.unique().tolist():
        for f in (False, True):
            idx = ((k == kk) & (flip == f)).nonzero().flatten()
            if idx.numel() == 0:
                continue
            xi, yi = torch.rot90(x[idx], kk, (-2, -1)), torch.rot90(y[idx], kk, (-2, -1))
            if f:
                xi, yi = xi.flip(-1), yi.flip(-1)
            x[idx], y[idx] = xi, yi
    return x, y


def cutmix_landslides(
    x: torch.Tensor, y: torch.Tensor, g: torch.Generator, prob: float = 0.5, max_sources: int = 2
) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste landslide regions from other positive samples of the batch (0 to ``max_sources``)."""
    positive = (y.flatten(1).amax(1) > 0).nonzero().flatten()
    if positive.numel() == 0 or prob <= 0:
        return x, y
    b = x.shape[0]
    idx = torch.arange(b, device=x.device)
    for _ in range(max_sources):
        src = positive[torch.randint(0, positive.numel(), (b,), generator=g, device=g.device)]
        apply = (torch.rand(b, generator=g, device=g.device) < prob) & (src != idx)
        m = (y[src] > 0) & apply[:, None, None]
        x = torch.where(m[:, None], x[src], x)
        y = torch.where(m, torch.ones_like(y), y)
    return x, y


def spectral_jitter(x: torch.Tensor, spectral: torch.Tensor, g: torch.Generator, strength: float) -> torch.Tensor:
    """Scale spectral bands (``spectral``: (C,) bool) by ``1 + strength * N(0, 1)`` per sample."""
    if strength <= 0:
        return x
    noise = torch.randn(x.shape[0], x.shape[1], generator=g, device=g.device) * strength
    scale = 1 + noise * spectral.to(x.device)[None].float()
    return x * scale[:, :, None, None]


def augment_batch(
    x: torch.Tensor,
    y: torch.Tensor,
    g: torch.Generator,
    *,
    rotate: bool = True,
    cutmix_prob: float = 0.0,
    cutmix_max: int = 2,
    jitter: float = 0.0,
    spectral: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """All augmentations in the order cut-mix, rotate/flip, jitter."""
    if cutmix_prob > 0:
        x, y = cutmix_landslides(x, y, g, cutmix_prob, cutmix_max)
    if rotate:
        x, y = rot90_flip(x, y, g)
    if jitter > 0 and spectral is not None:
        x = spectral_jitter(x, spectral, g, jitter)
    return x, y
