"""EfficientNetV2 encoder + U-Net decoder (``efficientnetv2``).

Encoder: EfficientNetV2 (Tan & Le, 2021, "EfficientNetV2: Smaller Models and Faster Training",
ICML): Fused-MBConv stages early (a 3x3 expansion convolution replaces the 1x1 expansion and the
depthwise convolution) and MBConv stages with squeeze-excitation (ratio 0.25 of the input width,
SiLU, sigmoid gate) later. The stage table is that of the B0 variant
(``efficientnetv2_b0``: 16-32-48-96-112-192 channels, 1-2-2-3-5-8 blocks); ``width`` and
``depth`` scale channels and block counts as in EfficientNet's compound scaling (0.9 and 0.5 here). The 1280-wide
head and classifier are dropped; features at strides 2..32 feed :class:`.decoder.UNetDecoder`.
About 2.6 M parameters with 23 bands at the defaults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from ...config import setting
from .decoder import EncoderDecoderNet
from .layers import InvertedResidual, TappedEncoder, conv_bn_act, make_divisible
from .registry import HeadOptions, register_model

__all__ = ["efficientnetv2_encoder", "EfficientNetV2Options", "B0"]

# (fused, expansion, kernel, stride, output width, blocks, squeeze-excitation): EfficientNetV2-B0
B0: tuple[tuple[bool, int, int, int, int, int, bool], ...] = (
    (True, 1, 3, 1, 16, 1, False),
    (True, 4, 3, 2, 32, 2, False),
    (True, 4, 3, 2, 48, 2, False),
    (False, 4, 3, 2, 96, 3, True),
    (False, 6, 3, 1, 112, 5, True),
    (False, 6, 3, 2, 192, 8, True),
)


def efficientnetv2_encoder(in_channels: int, width: float = 1.0, depth: float = 1.0) -> TappedEncoder:
    """The EfficientNetV2-B0 feature extractor (one block per stage), tapped at strides 2..32."""
    c = make_divisible(32 * width)
    stem = conv_bn_act(in_channels, c, 3, 2, act="silu")
    stages, channels = [], []
    for fused, e, k, s, out, n, se in B0:
        o = make_divisible(out * width)
        blocks = []
        for i in range(max(1, math.ceil(n * depth))):
            blocks.append(
                InvertedResidual(
                    c, c * e, o, k, s if i == 0 else 1, "silu", se=max(1, c // 4) if se else 0, fused=fused
                )
            )
            c = o
        stages.append(nn.Sequential(*blocks))
        channels.append(c)
    strides = [row[3] for row in B0]
    taps = [i for i in range(len(B0)) if i == len(B0) - 1 or strides[i + 1] == 2]
    return TappedEncoder(stem, stages, taps, [channels[i] for i in taps])


@dataclass(frozen=True)
class EfficientNetV2Options(HeadOptions):
    """``width``/``depth``: channel and block-count multipliers; ``decoder``: decoder widths."""

    width: float = setting(0.9, gt=0)
    depth: float = setting(0.5, gt=0)
    decoder: tuple[int, ...] = setting((64, 48, 32, 24, 16), ge=1, length=5)


@register_model(
    "efficientnetv2",
    options=EfficientNetV2Options,
    description="EfficientNetV2-B0 encoder (Fused-MBConv + MBConv) + U-Net decoder (Tan 2021), ~2.6 M",
)
def efficientnetv2(in_channels: int, o: EfficientNetV2Options) -> EncoderDecoderNet:
    enc = efficientnetv2_encoder(in_channels, o.width, o.depth)
    return EncoderDecoderNet(in_channels, enc, enc.channels, o.decoder, o.heads)
