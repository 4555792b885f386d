"""Segmentation networks: encoder, decoder, heads, and a registry of named builders.

Registered models (``list_models()``; ``landslide segment models`` prints parameter counts):

* ``unet``: the RAU-Net paper's baseline (its Table I): double Conv3x3-BN-LeakyReLU blocks,
  widths 64-128-256-512-1024, max-pool down, 2x2 up-convolution up, dropout 0.2 before a
  single 1x1 head; about 31 M parameters with 14 input bands.
* ``rau-net``: residual convolution blocks, an attention layer after every block (``se``,
  ``cbam`` or ``mha``) and multi-resolution heads; about 24.8 M parameters with 23 bands.
* ``rau-net-small``: the same design narrowed to about 2.6 M parameters, for edge devices.

Heads: ``mono`` (one full-resolution mask), ``multi`` (masks at 1/2, 1 and 2x the input size,
i.e. 64, 128 and 256 px for a 128 px patch, whose upsampled probabilities are averaged at
inference), ``dual`` (mono plus an image-level landslide logit from the bottleneck).

Contract: in eval mode a model returns mask logits (B, 1, H, W) at input size; in train mode it
returns :class:`HeadOutputs` (every head's logits at its own resolution, plus the image logit for
``dual``), which the losses accept. Any input size works: inputs are padded (reflect) to a
multiple of 16 and outputs cropped back.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .blocks import ConvBlock, ResidualConvBlock, create_attention, interpolate_to

__all__ = [
    "HeadOutputs",
    "SegmentationModel",
    "Encoder",
    "Decoder",
    "create_model",
    "list_models",
    "register_model",
    "count_parameters",
    "HEADS",
]

HEADS = ("mono", "multi", "dual")
BLOCKS: dict[str, type[nn.Module]] = {"conv": ConvBlock, "residual": ResidualConvBlock}


class HeadOutputs(NamedTuple):
    """Train-mode output: logits per head at the head's resolution, and the image logit."""

    masks: list[torch.Tensor]
    image: torch.Tensor | None = None


class _Stage(nn.Sequential):
    def __init__(self, block: type[nn.Module], cin: int, cout: int, attention: str) -> None:
        super().__init__(block(cin, cout), create_attention(attention, cout))


class Encoder(nn.Module):
    """Block at full resolution, then (max-pool, block) per further width."""

    def __init__(self, in_channels: int, widths: tuple[int, ...], block: type[nn.Module], attention: str) -> None:
        super().__init__()
        chans = (in_channels,) + tuple(widths)
        self.stages = nn.ModuleList(_Stage(block, chans[i], chans[i + 1], attention) for i in range(len(widths)))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for i, stage in enumerate(self.stages):
            x = stage(x if i == 0 else F.max_pool2d(x, 2))
            feats.append(x)
        return feats


class Decoder(nn.Module):
    """Per level: 2x2 up-convolution, concatenation with the skip, block. Returns the decoder
    features from coarse to fine (the last one at full resolution)."""

    def __init__(self, widths: tuple[int, ...], block: type[nn.Module], attention: str) -> None:
        super().__init__()
        rev = tuple(reversed(widths))
        self.ups = nn.ModuleList(nn.ConvTranspose2d(rev[i], rev[i + 1], 2, stride=2) for i in range(len(rev) - 1))
        self.stages = nn.ModuleList(_Stage(block, 2 * rev[i + 1], rev[i + 1], attention) for i in range(len(rev) - 1))

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        x = feats[-1]
        outs = []
        for up, stage, skip in zip(self.ups, self.stages, reversed(feats[:-1])):
            x = stage(torch.cat([up(x), skip], dim=1))
            outs.append(x)
        return outs


class SegmentationModel(nn.Module):
    """Encoder + decoder + heads, with padding so any input size works."""

    def __init__(
        self,
        in_channels: int,
        widths: tuple[int, ...],
        block: str = "conv",
        attention: str = "none",
        heads: str = "mono",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if heads not in HEADS:
            raise ConfigError(f"unknown heads {heads!r}; valid: {', '.join(HEADS)}")
        if block not in BLOCKS:
            raise ConfigError(f"unknown block {block!r}; valid: {', '.join(BLOCKS)}")
        if in_channels < 1:
            raise ConfigError(f"in_channels must be >= 1, got {in_channels}")
        self.in_channels = in_channels
        self.heads = heads
        self.multiple = 2 ** (len(widths) - 1)
        blk = BLOCKS[block]
        self.encoder = Encoder(in_channels, widths, blk, attention)
        self.decoder = Decoder(widths, blk, attention)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        w0, w1 = widths[0], widths[1]
        self.head = nn.Conv2d(w0, 1, 1)
        if heads == "multi":
            self.head_half = nn.Conv2d(w1, 1, 1)
            self.up_double = nn.Sequential(
                nn.ConvTranspose2d(w0, max(w0 // 2, 4), 2, stride=2),
                nn.BatchNorm2d(max(w0 // 2, 4)),
                nn.LeakyReLU(0.01, inplace=True),
            )
            self.head_double = nn.Conv2d(max(w0 // 2, 4), 1, 1)
        if heads == "dual":
            self.image_head = nn.Linear(widths[-1], 1)

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        h, w = x.shape[-2:]
        ph, pw = (-h) % self.multiple, (-w) % self.multiple
        if ph or pw:
            mode = "reflect" if min(h, w) > max(ph, pw) else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        return x, h, w

    def forward(self, x: torch.Tensor) -> torch.Tensor | HeadOutputs:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ConfigError(
                f"model expects input (B, {self.in_channels}, H, W); got {tuple(x.shape)}: "
                "check the band preset matches the one the model was built for"
            )
        x, h, w = self._pad(x)
        feats = self.encoder(x)
        dec = self.decoder(feats)
        full = self.dropout(dec[-1])
        masks = [self.head(full)[..., :h, :w]]
        if self.heads == "multi":
            masks.insert(0, self.head_half(dec[-2])[..., : (h + 1) // 2, : (w + 1) // 2])
            masks.append(self.head_double(self.up_double(full))[..., : 2 * h, : 2 * w])
        image = self.image_head(feats[-1].mean(dim=(2, 3)))[:, 0] if self.heads == "dual" else None
        if self.training:
            return HeadOutputs(masks, image)
        if len(masks) == 1:
            return masks[0]
        prob = torch.stack([torch.sigmoid(interpolate_to(m, (h, w))) for m in masks]).mean(0)
        return torch.logit(prob.clamp(1e-6, 1 - 1e-6))


_REGISTRY: dict[str, tuple[Callable[..., nn.Module], str]] = {}


def register_model(name: str, description: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator adding a builder ``fn(in_channels, **options)`` to the registry."""

    def deco(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _REGISTRY[name] = (fn, description)
        return fn

    return deco


def list_models() -> list[str]:
    """Registered model names."""
    return list(_REGISTRY)


def describe_model(name: str) -> str:
    return _lookup(name)[1]


def _lookup(name: str) -> tuple[Callable[..., nn.Module], str]:
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model {name!r}; valid: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def create_model(name: str, in_channels: int, **options: object) -> nn.Module:
    """Build a registered model; ``options`` go to its builder (``attention``, ``heads``, ...)."""
    fn = _lookup(name)[0]
    try:
        return fn(in_channels, **options)
    except TypeError as e:
        raise ConfigError(f"model {name!r}: {e}") from None


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@register_model("unet", "U-Net baseline (paper Table I), double conv, 64..1024, dropout 0.2")
def unet(
    in_channels: int, *, attention: str = "none", heads: str = "mono", widths: tuple[int, ...] = (64, 128, 256, 512, 1024), dropout: float = 0.2
) -> SegmentationModel:
    return SegmentationModel(in_channels, tuple(widths), "conv", attention, heads, dropout)


@register_model("rau-net", "RAU-Net: residual blocks + attention + multi-resolution heads")
def rau_net(
    in_channels: int, *, attention: str = "mha", heads: str = "multi", widths: tuple[int, ...] = (52, 104, 208, 416, 832), dropout: float = 0.0
) -> SegmentationModel:
    return SegmentationModel(in_channels, tuple(widths), "residual", attention, heads, dropout)


@register_model("rau-net-small", "RAU-Net at ~2.6 M parameters for edge devices")
def rau_net_small(
    in_channels: int, *, attention: str = "mha", heads: str = "multi", widths: tuple[int, ...] = (8, 24, 48, 112, 336), dropout: float = 0.0
) -> SegmentationModel:
    return SegmentationModel(in_channels, tuple(widths), "residual", attention, heads, dropout)
