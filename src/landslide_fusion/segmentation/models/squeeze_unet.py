"""Squeeze U-Net (``squeeze-unet``).

Beheshti & Johnson (2020), "Squeeze U-Net: A Memory and Energy Efficient Image Segmentation
Network", CVPR Workshops. A U-Net whose blocks are SqueezeNet fire modules (Iandola et al., 2016):
a 1x1 "squeeze" convolution to ``c/8`` channels, then parallel 1x1 and 3x3 "expand"
convolutions to ``c/2`` each, concatenated (BN + ReLU after each). Down-sampling is a stride-2
fire module; up-sampling a "transposed fire module", whose expand convolutions are a 2x2
stride-2 transposed convolution and a 1x1 convolution after nearest upsampling. Two fire modules
per level; widths ``(60, 120, 240, 480, 960)`` after a 3x3 stem give about 2.6 M parameters with
23 bands. Inputs are padded to a multiple of 16.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ...config import setting
from .decoder import decode
from .heads import SegmentationNet
from .layers import conv_bn_act
from .registry import HeadOptions, register_model

__all__ = ["Fire", "UpFire", "SqueezeUNet", "SqueezeUNetOptions"]


class Fire(nn.Module):
    """squeeze 1x1 (``cout / 8``) -> [expand 1x1 (``cout / 2``) | expand 3x3 (``cout / 2``)]."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        s = max(cout // 8, 4)
        self.squeeze = conv_bn_act(cin, s, 1)
        self.expand1 = conv_bn_act(s, cout // 2, 1, stride)
        self.expand3 = conv_bn_act(s, cout - cout // 2, 3, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        return torch.cat([self.expand1(s), self.expand3(s)], dim=1)


class UpFire(nn.Module):
    """Transposed fire module: squeeze 1x1 -> [2x2 stride-2 transposed conv | nearest 2x + 1x1]."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        s = max(cin // 8, 4)
        self.squeeze = conv_bn_act(cin, s, 1)
        self.expand_t = nn.Sequential(
            nn.ConvTranspose2d(s, cout // 2, 2, stride=2, bias=False), nn.BatchNorm2d(cout // 2), nn.ReLU(inplace=True)
        )
        self.expand1 = conv_bn_act(s, cout - cout // 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        return torch.cat([self.expand_t(s), self.expand1(F.interpolate(s, scale_factor=2.0, mode="nearest"))], dim=1)


class SqueezeUNet(SegmentationNet):
    def __init__(self, in_channels: int, widths: tuple[int, ...], heads: str) -> None:
        super().__init__(in_channels, 2 ** (len(widths) - 1), heads)
        w = widths
        self.stem = conv_bn_act(in_channels, w[0], 3)
        self.left = nn.ModuleList(
            [Fire(w[0], w[0])] + [nn.Sequential(Fire(w[i - 1], w[i], 2), Fire(w[i], w[i])) for i in range(1, len(w))]
        )
        self.ups = nn.ModuleList(UpFire(w[i + 1], w[i]) for i in range(len(w) - 2, -1, -1))
        self.right = nn.ModuleList(
            nn.Sequential(Fire(2 * w[i], w[i]), Fire(w[i], w[i])) for i in range(len(w) - 2, -1, -1)
        )
        self.build_heads(w[0], w[1], w[-1])

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        x = self.stem(x)
        skips = []
        for stage in self.left:
            x = stage(x)
            skips.append(x)
        outs = decode(x, self.ups, self.right, skips[:-1])
        return outs[-1], outs[-2], x


@dataclass(frozen=True)
class SqueezeUNetOptions(HeadOptions):
    """``widths``: channels per level (fire-module outputs)."""

    widths: tuple[int, ...] = setting((60, 120, 240, 480, 960), ge=2, min_length=3)


@register_model(
    "squeeze-unet",
    options=SqueezeUNetOptions,
    description="Squeeze U-Net: fire modules in a U shape (Beheshti 2020), ~2.6 M",
)
def squeeze_unet(in_channels: int, o: SqueezeUNetOptions) -> SqueezeUNet:
    return SqueezeUNet(in_channels, tuple(o.widths), o.heads)
