"""A U-Net decoder over any encoder's multi-scale features (the encoder-decoder models'
shared half), and the model class that joins an encoder to it.

Encoders return features at strides 2, 4, 8, 16 and 32. Per level, from coarse to fine: 2x
bilinear upsampling, concatenation with the encoder feature of that stride, a
:class:`~landslide_fusion.segmentation.blocks.ConvBlock`; a last upsampling and block bring the
features to full resolution. Inputs are padded to a multiple of 32.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import ConvBlock
from .heads import SegmentationNet

__all__ = ["UNetDecoder", "EncoderDecoderNet", "decode"]


def decode(x: torch.Tensor, ups: nn.ModuleList, stages: nn.ModuleList, skips: list[torch.Tensor]) -> list[torch.Tensor]:
    """U-Net right half: per level ``x = stage(cat(up(x), skip))``; ``skips`` fine to coarse
    (the deepest excluded). Returns every level's output, coarse to fine."""
    outs = []
    for up, stage, skip in zip(ups, stages, reversed(skips)):
        x = stage(torch.cat([up(x), skip], dim=1))
        outs.append(x)
    return outs


class UNetDecoder(nn.Module):
    """``skips``: encoder widths from fine (stride 2) to coarse (the deepest, the decoder's
    input); ``widths``: decoder widths from coarse to fine, one per skip level plus one for the
    final full-resolution stage (``len(widths) == len(skips)``)."""

    def __init__(self, skips: Sequence[int], widths: Sequence[int]) -> None:
        super().__init__()
        if len(widths) != len(skips):
            raise ValueError(f"need {len(skips)} decoder widths, got {len(widths)}")
        rev_skips = list(reversed(skips))  # coarse to fine; rev_skips[0] is the deepest
        cin = rev_skips[0]
        blocks = []
        for w, skip in zip(widths, rev_skips[1:] + [0]):
            blocks.append(ConvBlock(cin + skip, w))
            cin = w
        self.blocks = nn.ModuleList(blocks)

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        x = feats[-1]
        outs = []
        skips = list(reversed(feats[:-1])) + [None]
        for block, skip in zip(self.blocks, skips):
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            x = block(x if skip is None else torch.cat([x, skip], dim=1))
            outs.append(x)
        return outs


class EncoderDecoderNet(SegmentationNet):
    """``encoder`` (returning features at strides 2..32 of widths ``skips``) + :class:`UNetDecoder`
    + the shared heads."""

    def __init__(
        self, in_channels: int, encoder: nn.Module, skips: Sequence[int], widths: Sequence[int], heads: str
    ) -> None:
        super().__init__(in_channels, 2 ** len(skips), heads)
        self.encoder = encoder
        self.decoder = UNetDecoder(skips, widths)
        self.build_heads(widths[-1], widths[-2], skips[-1])

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        feats = self.encoder(x)
        dec = self.decoder(feats)
        return dec[-1], dec[-2], feats[-1]
