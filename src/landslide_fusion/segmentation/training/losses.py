"""Segmentation losses for binary landslide masks: pure functions plus a registry.

Every function takes logits ``z`` (B, 1, H, W) or (B, H, W) and a target ``y`` (B, H, W) in
{0, 1} and returns a scalar; any other logit shape (e.g. two-class (B, 2, H, W)) is refused
with a ``ValueError`` that says how to convert it. With ``p = sigmoid(z)`` and sums over all pixels of the batch:

=================  ==========================================================================
``ce``             binary cross-entropy ``-mean(y log p + (1 - y) log(1 - p))``
``wce``            cross-entropy with positives weighted by ``pos_weight`` (default: the
                   batch's negative/positive ratio, clipped to [1, 100])
``focal``          ``-mean(a_t (1 - p_t)^g log p_t)``, a = 0.25, g = 2 (Lin et al., 2017)
``iou``            soft Jaccard ``1 - (sum p y + e) / (sum p + sum y - sum p y + e)``
                   (Rahman & Wang, 2016)
``dice``           soft Dice ``1 - (2 sum p y + e) / (sum p + sum y + e)``
``tversky``        ``1 - (TP + e) / (TP + a FP + b FN + e)``, a = 0.3, b = 0.7 (Salehi et al., 2017)
``lovasz``         Lovasz hinge, per image (Berman et al., 2018)
``logcosh-dice``   ``log(cosh(dice))`` (Jadon, 2020)
``boundary``       cross-entropy with weight ``1 + w`` on pixels within ``width`` px of a mask
                   boundary (morphological gradient), w = 5
``centre``         cross-entropy with weight ``1 + w * y * avgpool_k(y)``, emphasising the
                   interior of landslides, w = 5, k = 7
=================  ==========================================================================

A new loss is a pure addition: ``register_loss("name", fn)`` with ``fn(z, y) -> scalar``, then
``train.loss = "name"`` or ``"focal+name"``.

``create_loss("focal+iou")`` sums terms with equal weights (1/n each: the RAU-Net paper's
alpha = 0.5 for focal + IoU); explicit weights are written ``"0.7*focal+0.3*iou"``. The module
it returns accepts a model's train-mode :class:`~..models.HeadOutputs`: every head's logits are
resized to the mask size and the losses averaged over heads; a dual head's image logit adds
``0.5 * BCE(image logit, mask has any landslide)``.
"""

from __future__ import annotations

import re
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ConfigError
from ...registry import Registry
from ..blocks import interpolate_to
from ..models import HeadOutputs

__all__ = [
    "cross_entropy",
    "weighted_cross_entropy",
    "focal_loss",
    "soft_iou_loss",
    "dice_loss",
    "tversky_loss",
    "lovasz_hinge",
    "log_cosh_dice_loss",
    "boundary_weighted_ce",
    "centre_weighted_ce",
    "LOSSES",
    "register_loss",
    "create_loss",
    "list_losses",
    "SegmentationLoss",
]

EPS = 1.0


def _prep(z: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (B, 1, H, W) or (B, H, W) and a (B, H, W) target as float (B, H, W); refuses the rest."""
    if z.ndim == 4 and z.shape[1] == 1:
        z = z[:, 0]
    elif z.ndim != 3:
        raise ValueError(
            f"logits of shape {tuple(z.shape)}: these binary losses take one landslide logit per pixel, "
            "(B, 1, H, W) or (B, H, W); for two-class logits (background, landslide) pass "
            "z[:, 1:2] - z[:, 0:1], whose sigmoid is the two-class softmax of the landslide class"
        )
    if z.shape != y.shape:
        raise ValueError(f"logits {tuple(z.shape)} and target {tuple(y.shape)} differ; resize one to the other")
    return z.float(), y.float()


def cross_entropy(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    z, y = _prep(z, y)
    return F.binary_cross_entropy_with_logits(z, y)


def weighted_cross_entropy(z: torch.Tensor, y: torch.Tensor, pos_weight: float | None = None) -> torch.Tensor:
    z, y = _prep(z, y)
    if pos_weight is None:
        pos = y.sum()
        pos_weight = float(((y.numel() - pos) / pos.clamp_min(1)).clamp(1, 100))
    return F.binary_cross_entropy_with_logits(z, y, pos_weight=torch.tensor(pos_weight, device=z.device))


def focal_loss(z: torch.Tensor, y: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0) -> torch.Tensor:
    z, y = _prep(z, y)
    ce = F.binary_cross_entropy_with_logits(z, y, reduction="none")
    p = torch.sigmoid(z)
    p_t = p * y + (1 - p) * (1 - y)
    a_t = alpha * y + (1 - alpha) * (1 - y)
    return (a_t * (1 - p_t) ** gamma * ce).mean()


def _counts(z: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    z, y = _prep(z, y)
    p = torch.sigmoid(z)
    tp = (p * y).sum()
    return tp, p.sum() - tp, y.sum() - tp


def soft_iou_loss(z: torch.Tensor, y: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    tp, fp, fn = _counts(z, y)
    return 1 - (tp + eps) / (tp + fp + fn + eps)


def dice_loss(z: torch.Tensor, y: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    tp, fp, fn = _counts(z, y)
    return 1 - (2 * tp + eps) / (2 * tp + fp + fn + eps)


def tversky_loss(
    z: torch.Tensor, y: torch.Tensor, alpha: float = 0.3, beta: float = 0.7, eps: float = EPS
) -> torch.Tensor:
    tp, fp, fn = _counts(z, y)
    return 1 - (tp + eps) / (tp + alpha * fp + beta * fn + eps)


def log_cosh_dice_loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.log(torch.cosh(dice_loss(z, y)))


def _lovasz_grad(gt_sorted: torch.Tensor) -> torch.Tensor:
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


def lovasz_hinge(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean over images of the Lovasz extension of the Jaccard loss applied to hinge errors."""
    z, y = _prep(z, y)
    losses = []
    for logits, labels in zip(z.flatten(1), y.flatten(1)):
        signs = 2 * labels - 1
        errors = 1 - logits * signs
        errors_sorted, perm = torch.sort(errors, descending=True)
        losses.append(torch.dot(F.relu(errors_sorted), _lovasz_grad(labels[perm])))
    return torch.stack(losses).mean()


def _weighted_ce(z: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return (w * F.binary_cross_entropy_with_logits(z, y, reduction="none")).sum() / w.sum()


def boundary_weighted_ce(z: torch.Tensor, y: torch.Tensor, weight: float = 5.0, width: int = 3) -> torch.Tensor:
    z, y = _prep(z, y)
    k = 2 * width + 1
    m = y[:, None]
    dil = F.max_pool2d(m, k, stride=1, padding=width)
    ero = -F.max_pool2d(-m, k, stride=1, padding=width)
    return _weighted_ce(z, y, 1 + weight * (dil - ero)[:, 0])


def centre_weighted_ce(z: torch.Tensor, y: torch.Tensor, weight: float = 5.0, kernel: int = 7) -> torch.Tensor:
    z, y = _prep(z, y)
    depth = F.avg_pool2d(y[:, None], kernel, stride=1, padding=kernel // 2, count_include_pad=False)[:, 0]
    return _weighted_ce(z, y, 1 + weight * y * depth)


LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
_REGISTRY: Registry[LossFn] = Registry("loss", ConfigError)
LOSSES = _REGISTRY.view
"""Read-only view of the registered losses by name."""


def register_loss(name: str, fn: LossFn, *, replace: bool = False) -> LossFn:
    """Register ``fn(z, y) -> scalar`` under ``name`` (a term of ``train.loss``) and return it.

    Raises:
        ConfigError: ``name`` holds another loss and ``replace`` is False, or is not a loss name
            (lower-case letters and hyphens).
    """
    if not re.fullmatch(r"[a-z-]+", name):
        raise ConfigError(f"loss name {name!r}: use lower-case letters and hyphens, e.g. 'my-loss'")
    return _REGISTRY.register(name, fn, replace=replace)


for _name, _fn in {
    "ce": cross_entropy,
    "wce": weighted_cross_entropy,
    "focal": focal_loss,
    "iou": soft_iou_loss,
    "dice": dice_loss,
    "tversky": tversky_loss,
    "lovasz": lovasz_hinge,
    "logcosh-dice": log_cosh_dice_loss,
    "boundary": boundary_weighted_ce,
    "centre": centre_weighted_ce,
}.items():
    register_loss(_name, _fn)


def list_losses() -> list[str]:
    """Registered loss names, in registration order."""
    return list(_REGISTRY)


_TERM = re.compile(r"^\s*(?:(\d*\.?\d+)\s*\*\s*)?([a-z-]+)\s*$")


def parse_loss_spec(spec: str) -> list[tuple[float, str]]:
    """``"0.7*focal+0.3*iou"`` -> ``[(0.7, "focal"), (0.3, "iou")]``; bare terms share 1 equally."""
    terms = []
    for part in spec.split("+"):
        m = _TERM.match(part)
        if not m:
            raise ConfigError(
                f"loss {spec!r}: cannot parse term {part!r}; write e.g. 'focal+iou' or '0.7*focal+0.3*iou'"
            )
        if m.group(2) not in LOSSES:
            raise ConfigError(f"loss {spec!r}: unknown loss {m.group(2)!r}; valid: {_REGISTRY.valid()}")
        terms.append((float(m.group(1)) if m.group(1) else None, m.group(2)))
    if any(w is None for w, _ in terms) and any(w is not None for w, _ in terms):
        raise ConfigError(f"loss {spec!r}: give a weight to every term or to none")
    return [(w if w is not None else 1.0 / len(terms), n) for w, n in terms]


class SegmentationLoss(nn.Module):
    """Weighted sum of registered losses, averaged over a model's heads."""

    def __init__(self, spec: str, image_weight: float = 0.5) -> None:
        super().__init__()
        self.spec = spec
        self.terms = parse_loss_spec(spec)
        self.image_weight = image_weight

    def single(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return sum(w * LOSSES[name](z, y) for w, name in self.terms)  # type: ignore[return-value]

    def forward(self, output: torch.Tensor | HeadOutputs | list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        if isinstance(output, HeadOutputs):
            masks, image = output.masks, output.image
        elif isinstance(output, torch.Tensor):
            masks, image = [output], None
        else:
            masks, image = list(output), None
        size = tuple(target.shape[-2:])
        z = [interpolate_to(m if m.ndim == 4 else m[:, None], size) for m in masks]
        loss = torch.stack([self.single(m, target) for m in z]).mean()
        if image is not None:
            has = target.flatten(1).amax(1).float()
            loss = loss + self.image_weight * F.binary_cross_entropy_with_logits(image, has)
        return loss

    def extra_repr(self) -> str:
        return " + ".join(f"{w:g}*{n}" for w, n in self.terms)


def create_loss(spec: str) -> SegmentationLoss:
    """Loss module from a spec such as ``"focal+iou"`` (see module docs)."""
    return SegmentationLoss(spec)
