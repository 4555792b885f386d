"""Building blocks: convolution blocks and attention layers.

* :class:`ConvBlock`: U-Net double convolution, (Conv3x3-BN-LeakyReLU) x 2 (Ronneberger et al., 2015).
* :class:`ResidualConvBlock`: RAU-Net's residual convolution: parallel 2x2 and 3x3 convolutions,
  each BN + LeakyReLU, summed, a 3x3 convolution, then a residual add of the (1x1-projected) input.
* Attention: :class:`SEAttention` (Hu et al., 2018), :class:`CBAMAttention` (Woo et al., 2018) and
  :class:`AxisMHAttention`, the RAU-Net multi-head attention over pooled views.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ConvBlock",
    "ResidualConvBlock",
    "SEAttention",
    "CBAMAttention",
    "AxisMHAttention",
    "create_attention",
    "ATTENTIONS",
    "interpolate_to",
]

_SLOPE = 0.01


def _conv_bn_act(cin: int, cout: int, k: int, padding: int | tuple[int, int, int, int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    if isinstance(padding, tuple):
        layers.append(nn.ZeroPad2d(padding))
        padding = 0
    layers += [
        nn.Conv2d(cin, cout, k, padding=padding, bias=False),
        nn.BatchNorm2d(cout),
        nn.LeakyReLU(_SLOPE, inplace=True),
    ]
    return nn.Sequential(*layers)


class ConvBlock(nn.Module):
    """(Conv3x3 - BN - LeakyReLU) x 2."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_bn_act(cin, cout, 3, 1), _conv_bn_act(cout, cout, 3, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class ResidualConvBlock(nn.Module):
    """RAU-Net residual convolution block.

    ``y = Conv3x3(LReLU(BN(Conv2x2(x))) + LReLU(BN(Conv3x3(x)))) + P(x)`` where ``P`` is the
    identity when channel counts match and a 1x1 convolution otherwise. The 2x2 branch is
    padded one pixel right and bottom so both branches keep the input size.
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.branch2 = _conv_bn_act(cin, cout, 2, (0, 1, 0, 1))
        self.branch3 = _conv_bn_act(cin, cout, 3, 1)
        self.fuse = nn.Sequential(nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout))
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1, bias=False)
        self.act = nn.LeakyReLU(_SLOPE, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.fuse(self.branch2(x) + self.branch3(x)) + self.skip(x))


class SEAttention(nn.Module):
    """Squeeze-and-excitation: ``x * sigmoid(W2 relu(W1 avgpool(x))))``, reduction 16."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.sigmoid(self.mlp(x.mean(dim=(2, 3))))
        return x * w[:, :, None, None]


class CBAMAttention(nn.Module):
    """Convolutional block attention: channel gate from avg- and max-pooled descriptors through a
    shared MLP, then a spatial gate from a 7x7 convolution over channel-wise avg and max maps."""

    def __init__(self, channels: int, reduction: int = 16, kernel: int = 7) -> None:
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))
        self.spatial = nn.Conv2d(2, 1, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = torch.sigmoid(self.mlp(x.mean(dim=(2, 3))) + self.mlp(x.amax(dim=(2, 3))))
        x = x * c[:, :, None, None]
        s = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(s))


class _SelfAttention(nn.Module):
    """Multi-head self-attention (Vaswani et al., 2017), the computation of
    ``nn.MultiheadAttention(dim, heads, batch_first=True)`` with the same parameter names, written
    with shape-agnostic reshapes so that ONNX export keeps batch and length dynamic."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, dim)
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in (q, k, v))  # (B, heads, L, d)
        attn = torch.softmax((q / math.sqrt(q.shape[-1])) @ k.transpose(-2, -1), dim=-1)  # scale the smaller operand
        return self.out_proj((attn @ v).transpose(1, 2).flatten(-2))


class _AxisGate(nn.Module):
    """Self-attention over the positions of one axis; each position is described by the
    average and maximum of the feature map over the other two axes."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.embed = nn.Linear(2, dim)
        self.attn = _SelfAttention(dim, heads)
        self.out = nn.Linear(dim, 1)

    def forward(self, avg: torch.Tensor, mx: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(torch.stack([avg, mx], dim=-1))  # (B, L, dim)
        mixed = self.attn(tokens)
        return torch.sigmoid(self.out(mixed + tokens))[..., 0]  # (B, L)


class AxisMHAttention(nn.Module):
    """RAU-Net multi-head attention over pooled width, height and channel views.

    For a feature map (B, C, H, W), each axis gets a gate in (0, 1) from multi-head self-attention
    over its positions (tokens built from max- and average-pooling over the other two axes);
    the output is ``x * g_C[:, :, None, None] * g_H[:, None, :, None] * g_W[:, None, None, :]``.
    """

    def __init__(self, channels: int, dim: int = 16, heads: int = 4) -> None:
        super().__init__()
        self.channel = _AxisGate(dim, heads)
        self.height = _AxisGate(dim, heads)
        self.width = _AxisGate(dim, heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # height and width views from the channel-pooled maps: two passes over x instead of four
        across_c_mean, across_c_max = x.mean(dim=1), x.amax(dim=1)  # (B, H, W)
        gc = self.channel(x.mean(dim=(2, 3)), x.amax(dim=(2, 3)))
        gh = self.height(across_c_mean.mean(dim=2), across_c_max.amax(dim=2))
        gw = self.width(across_c_mean.mean(dim=1), across_c_max.amax(dim=1))
        gate = gc[:, :, None, None] * gh[:, None, :, None] * gw[:, None, None, :]  # one full-size product
        return x * gate


ATTENTIONS = {"none": None, "se": SEAttention, "cbam": CBAMAttention, "mha": AxisMHAttention}


def create_attention(name: str, channels: int) -> nn.Module:
    """Attention layer by name (``none``, ``se``, ``cbam``, ``mha``)."""
    from ..errors import ConfigError

    if name not in ATTENTIONS:
        raise ConfigError(f"unknown attention {name!r}; valid: {', '.join(ATTENTIONS)}")
    cls = ATTENTIONS[name]
    return nn.Identity() if cls is None else cls(channels)


def interpolate_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of logits/probabilities to ``size`` (no-op when already there)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)
