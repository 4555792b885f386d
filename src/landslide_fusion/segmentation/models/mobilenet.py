"""MobileNetV3 encoder + U-Net decoder (``mobilenetv3``).

Encoder: MobileNetV3-Large (Howard et al., 2019, "Searching for MobileNetV3", ICCV, Table 1):
a 3x3 stride-2 stem (16, h-swish) and 15 inverted-residual "bneck" blocks with 3x3/5x5
depthwise convolutions, squeeze-excitation with a hard-sigmoid gate (squeeze width
``exp / 4``) and ReLU or h-swish, ending at stride 32 with 160 channels (the final 960-wide 1x1
convolution and classifier are dropped). ``width`` multiplies every channel count (rounded to
multiples of 8). Features at strides 2, 4, 8, 16, 32 feed :class:`.decoder.UNetDecoder`.
About 2.6 M parameters with 23 bands at the defaults (``width = 0.9``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...config import setting
from .decoder import EncoderDecoderNet
from .layers import InvertedResidual, TappedEncoder, conv_bn_act, make_divisible
from .registry import HeadOptions, register_model

__all__ = ["mobilenetv3_encoder", "MobileNetV3Options", "LARGE"]

# (kernel, expansion width, output width, squeeze-excitation, activation, stride): Table 1 of the paper
LARGE: tuple[tuple[int, int, int, bool, str, int], ...] = (
    (3, 16, 16, False, "relu", 1),
    (3, 64, 24, False, "relu", 2),
    (3, 72, 24, False, "relu", 1),
    (5, 72, 40, True, "relu", 2),
    (5, 120, 40, True, "relu", 1),
    (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "hswish", 2),
    (3, 200, 80, False, "hswish", 1),
    (3, 184, 80, False, "hswish", 1),
    (3, 184, 80, False, "hswish", 1),
    (3, 480, 112, True, "hswish", 1),
    (3, 672, 112, True, "hswish", 1),
    (5, 672, 160, True, "hswish", 2),
    (5, 960, 160, True, "hswish", 1),
    (5, 960, 160, True, "hswish", 1),
)


def mobilenetv3_encoder(in_channels: int, width: float = 1.0) -> TappedEncoder:
    """The MobileNetV3-Large feature extractor, tapped at strides 2, 4, 8, 16, 32."""
    c = make_divisible(16 * width)
    stem = conv_bn_act(in_channels, c, 3, 2, act="hswish")
    blocks, taps, channels = [], [], []
    for i, (k, exp, out, se, act, s) in enumerate(LARGE):
        e, o = make_divisible(exp * width), make_divisible(out * width)
        if s == 2 and i > 0:
            taps.append(i - 1)
            channels.append(c)
        blocks.append(InvertedResidual(c, e, o, k, s, act, se=make_divisible(e / 4) if se else 0, hard_se=True))
        c = o
    return TappedEncoder(stem, blocks, taps + [len(LARGE) - 1], channels + [c])


@dataclass(frozen=True)
class MobileNetV3Options(HeadOptions):
    """``width``: channel multiplier of the encoder; ``decoder``: decoder widths, coarse to fine."""

    width: float = setting(0.9, gt=0)
    decoder: tuple[int, ...] = setting((64, 48, 32, 24, 16), ge=1, length=5)


@register_model(
    "mobilenetv3",
    options=MobileNetV3Options,
    description="MobileNetV3-Large encoder + U-Net decoder (Howard 2019), ~2.6 M",
)
def mobilenetv3(in_channels: int, o: MobileNetV3Options) -> EncoderDecoderNet:
    enc = mobilenetv3_encoder(in_channels, o.width)
    return EncoderDecoderNet(in_channels, enc, enc.channels, o.decoder, o.heads)
