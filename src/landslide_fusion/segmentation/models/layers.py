"""Layers shared by the models: the convolution factory, conv-BN-activation, squeeze-excitation,
and the inverted residual block in its MBConv (Sandler et al., 2018; Howard et al., 2019) and
Fused-MBConv (Tan & Le, 2021) forms.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ACTIVATIONS",
    "StridedPointwiseConv2d",
    "conv2d",
    "conv_bn_act",
    "SqueezeExcite",
    "InvertedResidual",
    "make_divisible",
    "TappedEncoder",
]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "hswish": nn.Hardswish,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
    "none": nn.Identity,
}


def make_divisible(v: float, divisor: int = 8) -> int:
    """``v`` rounded to a multiple of ``divisor``, never below 90 % of ``v`` (MobileNet's rule)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class StridedPointwiseConv2d(nn.Conv2d):
    """A 1x1 convolution of stride ``s`` computed as ``conv1x1(x[..., ::s, ::s])``.

    The output is the same as ``nn.Conv2d(cin, cout, 1, s)``'s, and so are the parameters and
    their names: an unpadded 1x1 kernel at stride ``s`` reads exactly the pixels ``x[..., ::s, ::s]``.
    Why: in PyTorch 2.13's CPU build (oneDNN 3.12), the weight gradient of a stride-2 1x1
    convolution on channels-last input with fewer than 16 input channels (the AVX-512 channel
    block) writes past its workspace and aborts the process ("double free or corruption"; oneDNN
    issue #6035, `IC < ic_block` in the "reduce to unit stride" path). Training uses channels-last,
    so such a layer would crash it; subsampling first never enters that path.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sh, sw = self.stride
        return F.conv2d(x[:, :, ::sh, ::sw], self.weight, self.bias, 1, 0, 1, self.groups)


def conv2d(
    cin: int,
    cout: int,
    k: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
    bias: bool = False,
) -> nn.Conv2d:
    """``nn.Conv2d(cin, cout, k, stride, padding, dilation, groups, bias)``; an unpadded 1x1
    kernel at stride > 1 is a :class:`StridedPointwiseConv2d`. Build any 1x1 convolution that may
    be strided with this, never with ``nn.Conv2d`` directly (``tests/test_models.py`` checks)."""
    cls = StridedPointwiseConv2d if k == 1 and stride > 1 and padding == 0 else nn.Conv2d
    return cls(cin, cout, k, stride, padding, dilation=dilation, groups=groups, bias=bias)


def conv_bn_act(
    cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, act: str = "relu", dilation: int = 1
) -> nn.Sequential:
    """Conv(k x k, 'same' padding) - BatchNorm - activation."""
    pad = dilation * (k - 1) // 2
    return nn.Sequential(conv2d(cin, cout, k, stride, pad, dilation, groups), nn.BatchNorm2d(cout), ACTIVATIONS[act]())


class SqueezeExcite(nn.Module):
    """``x * gate(W2 act(W1 avgpool(x)))`` with 1x1 convolutions; ``gate`` is a sigmoid
    (EfficientNet) or a hard sigmoid (MobileNetV3)."""

    def __init__(self, channels: int, squeeze: int, act: str = "relu", hard: bool = False) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.act = ACTIVATIONS[act]()
        self.expand = nn.Conv2d(squeeze, channels, 1)
        self.gate: nn.Module = nn.Hardsigmoid() if hard else nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.expand(self.act(self.reduce(x.mean(dim=(2, 3), keepdim=True)))))


class InvertedResidual(nn.Module):
    """Expand (1x1, or k x k when ``fused``) - depthwise k x k - SE - project 1x1, with a
    residual add when stride is 1 and widths match.

    ``se`` is the squeeze width (0: none). Fused-MBConv with expansion 1 is a single k x k conv.
    """

    def __init__(
        self,
        cin: int,
        exp: int,
        cout: int,
        k: int,
        stride: int,
        act: str,
        se: int = 0,
        fused: bool = False,
        hard_se: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        if fused and exp == cin:  # Fused-MBConv without expansion: one k x k convolution
            layers.append(conv_bn_act(cin, cout, k, stride, act=act))
        else:
            if fused:
                layers.append(conv_bn_act(cin, exp, k, stride, act=act))
            else:
                if exp != cin:
                    layers.append(conv_bn_act(cin, exp, 1, act=act))
                layers.append(conv_bn_act(exp, exp, k, stride, groups=exp, act=act))
            if se:
                layers.append(SqueezeExcite(exp, se, "relu" if hard_se else "silu", hard=hard_se))
            layers.append(conv_bn_act(exp, cout, 1, act="none"))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class TappedEncoder(nn.Module):
    """``stem`` then ``blocks`` in order; returns the outputs of the blocks listed in ``taps``
    (the last block before each stride change, and the last one), fine to coarse."""

    def __init__(self, stem: nn.Module, blocks: list[nn.Module], taps: list[int], channels: list[int]) -> None:
        super().__init__()
        self.stem = stem
        self.blocks = nn.ModuleList(blocks)
        self.taps = list(taps)
        self.channels = list(channels)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        feats = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                feats.append(x)
        return feats
