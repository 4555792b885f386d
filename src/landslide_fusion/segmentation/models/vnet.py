"""V-Net in 2-D (``vnet``).

Milletari, Navab & Ahmadi (2016), "V-Net: Fully Convolutional Neural Networks for Volumetric
Medical Image Segmentation", 3DV. The volumetric design made planar: every stage is 1-3 5x5
convolutions (BN + PReLU; the paper had no BN) whose output is added to the stage's input
(residual stages); down-sampling is a 2x2 stride-2 convolution that doubles the width (no
pooling), up-sampling a 2x2 stride-2 transposed convolution; the right half concatenates the
left half's features of the same scale, so its stages run at twice the level's width. Widths
``base x (1, 2, 4, 8, 16)`` with 1, 2, 3, 3, 3 convolutions per stage; ``base = 7`` gives
about 2.6 M parameters with 23 bands. Inputs are padded to a multiple of 16.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ...config import setting
from .decoder import decode
from .heads import SegmentationNet
from .registry import HeadOptions, register_model

__all__ = ["ResidualStage", "VNet", "VNetOptions"]


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 5, padding=2, bias=False), nn.BatchNorm2d(cout), nn.PReLU(cout))


class ResidualStage(nn.Module):
    """``n`` 5x5 convolutions, plus the input (projected by a 1x1 convolution when ``cin != cout``)."""

    def __init__(self, cin: int, cout: int, n: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*[_conv(cin if i == 0 else cout, cout) for i in range(n)])
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.skip(x)


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 2, stride=2, bias=False), nn.BatchNorm2d(cout), nn.PReLU(cout))


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 2, stride=2, bias=False), nn.BatchNorm2d(cout), nn.PReLU(cout))


class VNet(SegmentationNet):
    def __init__(self, in_channels: int, base: int, convs: tuple[int, ...], heads: str) -> None:
        super().__init__(in_channels, 2 ** (len(convs) - 1), heads)
        w = [base * 2**i for i in range(len(convs))]
        self.left = nn.ModuleList(
            [ResidualStage(in_channels, w[0], convs[0])]
            + [ResidualStage(w[i], w[i], convs[i]) for i in range(1, len(w))]
        )
        self.downs = nn.ModuleList(_down(w[i], w[i + 1]) for i in range(len(w) - 1))
        # right stage i (coarse to fine) upsamples to the level width and concatenates the skip
        rev = list(range(len(w) - 2, -1, -1))
        right_in = [w[-1]] + [2 * w[i + 1] for i in rev[1:]]
        self.ups = nn.ModuleList(_up(c, w[i]) for c, i in zip(right_in, rev))
        self.right = nn.ModuleList(ResidualStage(2 * w[i], 2 * w[i], max(convs[i + 1], 1)) for i in rev)
        self.build_heads(2 * w[0], 2 * w[1], w[-1])

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        skips = []
        for i, stage in enumerate(self.left):
            x = stage(x if i == 0 else self.downs[i - 1](x))
            skips.append(x)
        outs = decode(x, self.ups, self.right, skips[:-1])
        return outs[-1], outs[-2], x


@dataclass(frozen=True)
class VNetOptions(HeadOptions):
    """``base``: width of the first stage; ``convs``: 5x5 convolutions per left stage."""

    base: int = setting(7, ge=1)
    convs: tuple[int, ...] = setting((1, 2, 3, 3, 3), ge=1, min_length=3)


@register_model(
    "vnet",
    options=VNetOptions,
    description="2-D V-Net: residual 5x5 stages, strided-conv down, transposed-conv up (Milletari 2016), ~2.6 M",
)
def vnet(in_channels: int, o: VNetOptions) -> VNet:
    return VNet(in_channels, o.base, tuple(o.convs), o.heads)
