"""SegFormer-B0 (``segformer-b0``): Mix Transformer encoder and an all-MLP decoder.

Xie et al. (2021), "SegFormer: Simple and Efficient Design for Semantic Segmentation with
Transformers", NeurIPS. Encoder MiT-B0: four stages, each an overlapping patch embedding (a
7x7 stride-4 convolution first, then 3x3 stride-2, each followed by LayerNorm) and transformer
blocks of efficient self-attention (keys and values from the map reduced by an ``r x r``
stride-``r`` convolution + LayerNorm, ``r = 8, 4, 2, 1``) and Mix-FFN (linear, 3x3 depthwise
convolution, GELU, linear); widths 32-64-160-256, depths 2-2-2-2, heads 1-2-5-8, MLP ratio 4.
Decoder: each stage's features through a linear layer to 256, upsampled to 1/4, concatenated,
fused by a 1x1 convolution (BN, ReLU) and classified; logits are upsampled bilinearly to the
input size. About 3.7 M parameters with 23 bands. Inputs are padded to a multiple of 32. Heads:
mono or dual (the finest features are at 1/4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ...config import setting
from ...errors import ConfigError
from .heads import SegmentationNet
from .layers import conv_bn_act
from .registry import HeadOptions, option_error, register_model

__all__ = ["EfficientSelfAttention", "MixFFN", "MiTBlock", "SegFormer", "SegFormerOptions"]


def _to_map(tokens: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """(B, H*W, C) -> (B, C, H, W); ``reshape`` with the traced sizes keeps exported graphs dynamic."""
    return tokens.transpose(1, 2).reshape(tokens.shape[0], -1, h, w)


class EfficientSelfAttention(nn.Module):
    """Multi-head attention whose keys/values come from the map reduced ``sr`` times per side."""

    def __init__(self, dim: int, heads: int, sr: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.sr = nn.Conv2d(dim, dim, sr, stride=sr) if sr > 1 else None
        self.norm = nn.LayerNorm(dim) if sr > 1 else None

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:  # x: (B, N, C)
        kv_in = x
        if self.sr is not None:
            kv_in = self.norm(self.sr(_to_map(x, h, w)).flatten(2).transpose(1, 2))
        q = self.q(x).unflatten(-1, (self.heads, -1)).transpose(1, 2)
        k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in self.kv(kv_in).chunk(2, dim=-1))
        attn = ((q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).flatten(-2))


class MixFFN(nn.Module):
    """linear -> 3x3 depthwise convolution (positional information) -> GELU -> linear."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dw = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = self.fc1(x)
        x = self.dw(_to_map(x, h, w)).flatten(2).transpose(1, 2)
        return self.fc2(F.gelu(x))


class MiTBlock(nn.Module):
    def __init__(self, dim: int, heads: int, sr: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = EfficientSelfAttention(dim, heads, sr)
        self.ffn = MixFFN(dim, dim * mlp_ratio)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), h, w)
        return x + self.ffn(self.norm2(x), h, w)


class MiTStage(nn.Module):
    """Overlapping patch embedding, blocks, LayerNorm; (B, C_in, H, W) -> (B, C, H/s, W/s)."""

    def __init__(
        self, cin: int, dim: int, patch: int, stride: int, depth: int, heads: int, sr: int, mlp_ratio: int
    ) -> None:
        super().__init__()
        self.embed = nn.Conv2d(cin, dim, patch, stride, patch // 2)
        self.embed_norm = nn.LayerNorm(dim)
        self.blocks = nn.ModuleList(MiTBlock(dim, heads, sr, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x)
        h, w = x.shape[-2:]
        t = self.embed_norm(x.flatten(2).transpose(1, 2))
        for block in self.blocks:
            t = block(t, h, w)
        return _to_map(self.norm(t), h, w)


class SegFormer(SegmentationNet):
    def __init__(
        self,
        in_channels: int,
        dims: tuple[int, ...],
        depths: tuple[int, ...],
        num_heads: tuple[int, ...],
        sr: tuple[int, ...],
        decoder: int,
        heads: str,
    ) -> None:
        if not len(dims) == len(depths) == len(num_heads) == len(sr) == 4:
            raise ConfigError("model.options: dims, depths, num_heads and sr_ratios need four entries each")
        super().__init__(in_channels, 32, heads)
        cins = (in_channels,) + tuple(dims[:-1])
        self.stages = nn.ModuleList(
            MiTStage(cins[i], dims[i], 7 if i == 0 else 3, 4 if i == 0 else 2, depths[i], num_heads[i], sr[i], 4)
            for i in range(4)
        )
        self.linears = nn.ModuleList(nn.Conv2d(d, decoder, 1) for d in dims)  # per-pixel linear layers
        self.fuse = conv_bn_act(4 * decoder, decoder, 1)
        self.build_heads(decoder, decoder, dims[-1])

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        size = feats[0].shape[-2:]
        ups = [
            F.interpolate(lin(f), size=size, mode="bilinear", align_corners=False) if i else lin(f)
            for i, (lin, f) in enumerate(zip(self.linears, feats))
        ]
        return self.fuse(torch.cat(ups, dim=1)), None, feats[-1]


@dataclass(frozen=True)
class SegFormerOptions(HeadOptions):
    """MiT-B0: ``dims``, ``depths``, ``num_heads``, ``sr_ratios`` per stage; ``decoder`` width."""

    supported_heads: ClassVar[tuple[str, ...]] = ("mono", "dual")
    dims: tuple[int, ...] = setting((32, 64, 160, 256), ge=1, length=4)
    depths: tuple[int, ...] = setting((2, 2, 2, 2), ge=1, length=4)
    num_heads: tuple[int, ...] = setting((1, 2, 5, 8), ge=1, length=4)
    sr_ratios: tuple[int, ...] = setting((8, 4, 2, 1), ge=1, length=4)
    decoder: int = setting(256, ge=1)

    def check(self) -> None:
        """Each stage's width divides evenly among its heads."""
        for i, (d, h) in enumerate(zip(self.dims, self.num_heads)):
            if d % h:
                fit = [max(1, round(d / h)) * h for d, h in zip(self.dims, self.num_heads)]
                raise option_error(
                    "dims",
                    self.dims,
                    f"stage {i + 1}'s {d} channels are not divisible by its {h} "
                    f"heads (num_heads {list(self.num_heads)}); e.g. {fit}",
                )


@register_model(
    "segformer-b0",
    options=SegFormerOptions,
    description="SegFormer-B0: Mix Transformer encoder + all-MLP decoder (Xie 2021), ~3.7 M",
)
def segformer_b0(in_channels: int, o: SegFormerOptions) -> SegFormer:
    return SegFormer(
        in_channels, tuple(o.dims), tuple(o.depths), tuple(o.num_heads), tuple(o.sr_ratios), o.decoder, o.heads
    )
