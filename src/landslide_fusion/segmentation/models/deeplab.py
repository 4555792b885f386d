"""DeepLabv3: a dilated ResNet with Atrous Spatial Pyramid Pooling (``deeplabv3``, ``deeplabv3-small``).

Chen, Papandreou, Schroff & Adam (2017), "Rethinking Atrous Convolution for Semantic Image
Segmentation", arXiv:1706.05587. Backbone: ResNet-50 (He et al., 2016; bottleneck blocks
1x1-3x3-1x1 with expansion 4, blocks 3-4-6-3) with the last stage's stride replaced by dilation
2 (output stride 16, the paper's training setting; ``output_stride = 8`` dilates the last two
stages). ASPP: a 1x1 convolution, three 3x3 atrous convolutions at rates 6, 12, 18 (doubled at
output stride 8) and image-level pooling, concatenated and projected by a 1x1 convolution; then
a 3x3 convolution and the 1x1 head, whose logits are upsampled bilinearly to the input size.
The pooling branch has no batch normalisation (a 1x1 map of batch size 1 cannot be normalised).

``deeplabv3`` is the full-size network (about 39.6 M parameters with 23 bands); ``deeplabv3-small``
narrows the backbone (``base = 16``) and ASPP (``aspp = 72``) to about 2.6 M. Heads: mono or dual
(the finest features are at 1/16 of the input, so multi-resolution heads do not apply).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from ...config import setting
from ...errors import ConfigError
from .heads import SegmentationNet
from .layers import conv2d, conv_bn_act
from .registry import HeadOptions, register_model

__all__ = ["Bottleneck", "ResNetBackbone", "ASPP", "DeepLabV3", "DeepLabOptions", "DeepLabSmallOptions"]


class Bottleneck(nn.Module):
    """ResNet bottleneck: 1x1 (width) - 3x3 (stride, dilation) - 1x1 (4 x width), plus the
    (projected) input, ReLU."""

    def __init__(self, cin: int, width: int, stride: int, dilation: int) -> None:
        super().__init__()
        cout = 4 * width
        self.body = nn.Sequential(
            conv_bn_act(cin, width, 1),
            conv_bn_act(width, width, 3, stride, dilation=dilation),
            conv_bn_act(width, cout, 1, act="none"),
        )
        self.skip = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(conv2d(cin, cout, 1, stride), nn.BatchNorm2d(cout))
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


class ResNetBackbone(nn.Module):
    """7x7 stride-2 stem, 3x3 stride-2 max-pool, four bottleneck stages (widths base x 1, 2, 4,
    8); stages past ``output_stride`` use dilation instead of stride."""

    def __init__(self, in_channels: int, base: int, layers: tuple[int, ...], output_stride: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn_act(in_channels, base, 7, 2), nn.MaxPool2d(3, 2, 1))
        stages, cin, stride_now, dilation = [], base, 4, 1
        for i, n in enumerate(layers):
            stride = 1 if i == 0 else 2
            if stride_now * stride > output_stride:
                dilation, stride = dilation * stride, 1
            stride_now *= stride
            width = base * 2**i
            blocks = [
                Bottleneck(cin if j == 0 else 4 * width, width, stride if j == 0 else 1, dilation) for j in range(n)
            ]
            stages.append(nn.Sequential(*blocks))
            cin = 4 * width
        self.stages = nn.Sequential(*stages)
        self.channels = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling (Chen et al., 2017, Section 3.3)."""

    def __init__(self, cin: int, cout: int, rates: tuple[int, ...]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [conv_bn_act(cin, cout, 1)] + [conv_bn_act(cin, cout, 3, dilation=r) for r in rates]
        )
        self.pool = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.ReLU(inplace=True))
        self.project = conv_bn_act(cout * (len(rates) + 2), cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(x.mean(dim=(2, 3), keepdim=True)).expand(-1, -1, x.shape[2], x.shape[3])
        return self.project(torch.cat([b(x) for b in self.branches] + [pooled], dim=1))


class DeepLabV3(SegmentationNet):
    """Dilated ResNet + ASPP + 3x3 convolution + 1x1 head."""

    def __init__(
        self, in_channels: int, base: int, layers: tuple[int, ...], aspp: int, output_stride: int, heads: str
    ) -> None:
        if output_stride not in (8, 16):
            raise ConfigError(f"model.options.output_stride must be 8 or 16, got {output_stride}")
        super().__init__(in_channels, output_stride, heads)
        self.backbone = ResNetBackbone(in_channels, base, layers, output_stride)
        rates = (6, 12, 18) if output_stride == 16 else (12, 24, 36)
        self.aspp = ASPP(self.backbone.channels, aspp, rates)
        self.refine = conv_bn_act(aspp, aspp, 3)
        self.build_heads(aspp, aspp, self.backbone.channels)

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        deep = self.backbone(x)
        return self.refine(self.aspp(deep)), None, deep


@dataclass(frozen=True)
class DeepLabOptions(HeadOptions):
    """``base``: stem width (ResNet-50: 64); ``layers``: bottleneck blocks per stage; ``aspp``:
    ASPP width; ``output_stride``: 8 or 16."""

    supported_heads: ClassVar[tuple[str, ...]] = ("mono", "dual")
    base: int = setting(64, ge=1)
    layers: tuple[int, ...] = setting((3, 4, 6, 3), ge=1, length=4)
    aspp: int = setting(256, ge=1)
    output_stride: int = setting(16, choices=(8, 16))


@dataclass(frozen=True)
class DeepLabSmallOptions(DeepLabOptions):
    base: int = setting(16, ge=1)
    aspp: int = setting(72, ge=1)


def _deeplab(in_channels: int, o: DeepLabOptions) -> DeepLabV3:
    return DeepLabV3(in_channels, o.base, tuple(o.layers), o.aspp, o.output_stride, o.heads)


register_model(
    "deeplabv3", options=DeepLabOptions, description="DeepLabv3: dilated ResNet-50 + ASPP, output stride 16 (Chen 2017)"
)(_deeplab)
register_model(
    "deeplabv3-small", options=DeepLabSmallOptions, description="DeepLabv3 narrowed to ~2.6 M (ResNet base 16, ASPP 72)"
)(_deeplab)
