"""U-Net and the RAU-Net family: encoder, decoder and builders.

* ``unet``: the RAU-Net paper's baseline (its Table I; Ronneberger et al., 2015): double
  Conv3x3-BN-LeakyReLU blocks, widths 64-128-256-512-1024, max-pool down, 2x2 up-convolution up,
  dropout 0.2 before a single 1x1 head; about 31 M parameters with 14 input bands.
* ``rau-net``: residual convolution blocks, an attention layer after every block (``se``,
  ``cbam`` or ``mha``) and multi-resolution heads; about 24.8 M parameters with 23 bands.
* ``rau-net-small``: the same design narrowed to about 2.6 M parameters, for edge devices.

Inputs are padded to a multiple of ``2 ** (len(widths) - 1)`` (16 by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ...config import names_of, setting
from ...errors import ConfigError
from ..blocks import ConvBlock, ResidualConvBlock, create_attention
from .decoder import decode
from .heads import SegmentationNet
from .registry import HeadOptions, register_model

__all__ = ["Encoder", "Decoder", "SegmentationModel", "UNetOptions", "RAUNetOptions", "RAUNetSmallOptions", "BLOCKS"]

BLOCKS: dict[str, type[nn.Module]] = {"conv": ConvBlock, "residual": ResidualConvBlock}


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
        return decode(feats[-1], self.ups, self.stages, feats[:-1])


class SegmentationModel(SegmentationNet):
    """Encoder + decoder + heads (U-Net shape), with padding so any input size works."""

    def __init__(
        self,
        in_channels: int,
        widths: tuple[int, ...],
        block: str = "conv",
        attention: str = "none",
        heads: str = "mono",
        dropout: float = 0.0,
    ) -> None:
        if block not in BLOCKS:
            raise ConfigError(f"unknown block {block!r}; valid: {', '.join(BLOCKS)}")
        if len(widths) < 3:
            raise ConfigError(f"widths needs at least three levels, got {tuple(widths)}")
        super().__init__(in_channels, 2 ** (len(widths) - 1), heads)
        blk = BLOCKS[block]
        self.encoder = Encoder(in_channels, widths, blk, attention)
        self.decoder = Decoder(widths, blk, attention)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.build_heads(widths[0], widths[1], widths[-1])

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        feats = self.encoder(x)
        dec = self.decoder(feats)
        return self.dropout(dec[-1]), dec[-2], feats[-1]


@dataclass(frozen=True)
class UNetOptions(HeadOptions):
    """``attention``: none, se, cbam or mha after every block; ``widths``: channels per level."""

    attention: str = setting("none", choices=names_of("landslide_fusion.segmentation.blocks", "ATTENTIONS"))
    widths: tuple[int, ...] = setting((64, 128, 256, 512, 1024), ge=1, min_length=3)
    dropout: float = setting(0.2, ge=0, lt=1)


@dataclass(frozen=True)
class RAUNetOptions(UNetOptions):
    heads: str = "multi"
    attention: str = setting("mha", choices=names_of("landslide_fusion.segmentation.blocks", "ATTENTIONS"))
    widths: tuple[int, ...] = setting((52, 104, 208, 416, 832), ge=1, min_length=3)
    dropout: float = setting(0.0, ge=0, lt=1)


@dataclass(frozen=True)
class RAUNetSmallOptions(RAUNetOptions):
    widths: tuple[int, ...] = setting((8, 24, 48, 112, 336), ge=1, min_length=3)


@register_model(
    "unet", options=UNetOptions, description="U-Net baseline (paper Table I), double conv, 64..1024, dropout 0.2"
)
def unet(in_channels: int, o: UNetOptions) -> SegmentationModel:
    return SegmentationModel(in_channels, tuple(o.widths), "conv", o.attention, o.heads, o.dropout)


@register_model(
    "rau-net", options=RAUNetOptions, description="RAU-Net: residual blocks + attention + multi-resolution heads"
)
def rau_net(in_channels: int, o: RAUNetOptions) -> SegmentationModel:
    return SegmentationModel(in_channels, tuple(o.widths), "residual", o.attention, o.heads, o.dropout)


@register_model(
    "rau-net-small", options=RAUNetSmallOptions, description="RAU-Net at ~2.6 M parameters for edge devices"
)
def rau_net_small(in_channels: int, o: RAUNetSmallOptions) -> SegmentationModel:
    return rau_net(in_channels, o)
