"""Swin-UNet (``swin-unet``): Swin Transformer blocks with shifted windows in a U shape.

Cao et al. (2021), "Swin-Unet: Unet-like Pure Transformer for Medical Image Segmentation",
arXiv:2105.05537, built on Liu et al. (2021), "Swin Transformer", ICCV. A 4x4 patch embedding
(a stride-4 convolution, then LayerNorm), four encoder stages of Swin blocks (window
multi-head self-attention with a learned relative position bias, alternating with shifted-window
attention whose cross-region pairs are masked; pre-norm, MLP ratio 4) separated by patch merging
(2x2 neighbours concatenated, LayerNorm, linear 4C -> 2C); a symmetric decoder of patch
expanding (linear C -> 2C, rearranged to twice the resolution at half the width), skip
concatenation with a linear 2C -> C, and Swin blocks; a final 4x patch expansion to full
resolution. Swin-T dimensions: embedding 96, heads 3-6-12-24, Swin-UNet's depths 2-2-2-2
(about 27 M parameters with 23 bands).

Windows are ``window`` x ``window`` tokens (default 4: the study's 224 px inputs used 7, giving a
7x7 deepest map; 128 px patches give 4x4). Inputs are padded to a multiple of
``4 x 2**3 x window`` (128 by default) so every stage tiles into whole windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ...config import setting
from ...errors import ConfigError
from .heads import SegmentationNet
from .registry import HeadOptions, option_error, register_model

__all__ = ["WindowAttention", "SwinBlock", "SwinUNet", "SwinUNetOptions"]


def _partition(x: torch.Tensor, ws: int) -> torch.Tensor:
    """(B, H, W, C) -> (B * windows, ws * ws, C)."""
    b, h, w, c = x.shape
    x = x.reshape(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, c)


def _merge(windows: torch.Tensor, ws: int, b: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`_partition`."""
    x = windows.reshape(b, h // ws, w // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, w, -1)


def _shift_mask(h: int, w: int, ws: int, shift: int, device: torch.device) -> torch.Tensor:
    """(windows, ws*ws, ws*ws) additive mask: -100 between tokens from different regions of the
    rolled map (Liu et al., 2021, Fig. 4), built with tensor ops so exported graphs stay dynamic."""

    def regions(n: int) -> torch.Tensor:
        r = torch.arange(n, device=device)
        return (r >= n - ws).long() + (r >= n - shift).long()

    ids = (regions(h)[:, None] * 3 + regions(w)[None, :]).float()
    win = _partition(ids[None, :, :, None], ws)[..., 0]  # (windows, ws*ws)
    return (win[:, :, None] != win[:, None, :]).float() * -100.0


class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows with a relative position bias table."""

    def __init__(self, dim: int, heads: int, ws: int) -> None:
        super().__init__()
        self.heads, self.ws = heads, ws
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        nn.init.trunc_normal_(self.bias_table, std=0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (ws - 1)
        self.register_buffer("bias_index", rel[..., 0] * (2 * ws - 1) + rel[..., 1], persistent=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:  # x: (B*nW, N, C)
        n = x.shape[1]
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in self.qkv(x).chunk(3, dim=-1))
        attn = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)  # (B*nW, heads, N, N)
        attn = attn + self.bias_table[self.bias_index.flatten()].reshape(n, n, -1).permute(2, 0, 1)[None]
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.unflatten(0, (-1, nw)) + mask[None, :, None]).flatten(0, 1)
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).flatten(-2))


class SwinBlock(nn.Module):
    """Pre-norm (shifted) window attention and MLP, each with a residual; x is (B, H, W, C)."""

    def __init__(self, dim: int, heads: int, ws: int, shift: bool) -> None:
        super().__init__()
        self.ws, self.shift = ws, ws // 2 if shift else 0
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, ws)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        y = self.norm1(x)
        mask = None
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), dims=(1, 2))
            mask = _shift_mask(h, w, self.ws, self.shift, x.device)
        y = _merge(self.attn(_partition(y, self.ws), mask), self.ws, b, h, w)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), dims=(1, 2))
        x = x + y
        return x + self.mlp(self.norm2(x))


def _stage(dim: int, heads: int, depth: int, ws: int) -> nn.Sequential:
    return nn.Sequential(*[SwinBlock(dim, heads, ws, shift=i % 2 == 1) for i in range(depth)])


class PatchMerging(nn.Module):
    """(B, H, W, C) -> (B, H/2, W/2, 2C): 2x2 neighbours concatenated, LayerNorm, linear."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduce = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduce(self.norm(x))


class PatchExpand(nn.Module):
    """(B, H, W, C) -> (B, sH, sW, C_out): linear to s*s*C_out, rearranged, LayerNorm."""

    def __init__(self, dim: int, out: int, scale: int) -> None:
        super().__init__()
        self.scale, self.out = scale, out
        self.expand = nn.Linear(dim, scale * scale * out, bias=False)
        self.norm = nn.LayerNorm(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        s = self.scale
        x = self.expand(x).reshape(b, h, w, s, s, self.out).permute(0, 1, 3, 2, 4, 5).reshape(b, h * s, w * s, self.out)
        return self.norm(x)


class SwinUNet(SegmentationNet):
    def __init__(
        self,
        in_channels: int,
        dim: int,
        depths: tuple[int, ...],
        heads_per_stage: tuple[int, ...],
        window: int,
        heads: str,
    ) -> None:
        n = len(depths)
        if len(heads_per_stage) != n or n < 2:
            raise ConfigError(
                f"model.options: depths {depths} and num_heads {heads_per_stage} need the same length (>= 2)"
            )
        super().__init__(in_channels, 4 * 2 ** (n - 1) * window, heads)
        dims = [dim * 2**i for i in range(n)]
        self.embed = nn.Conv2d(in_channels, dim, 4, stride=4)
        self.embed_norm = nn.LayerNorm(dim)
        self.encoder = nn.ModuleList(_stage(dims[i], heads_per_stage[i], depths[i], window) for i in range(n))
        self.merges = nn.ModuleList(PatchMerging(dims[i]) for i in range(n - 1))
        self.expands = nn.ModuleList(PatchExpand(dims[i + 1], dims[i], 2) for i in range(n - 2, -1, -1))
        self.fuse = nn.ModuleList(nn.Linear(2 * dims[i], dims[i]) for i in range(n - 2, -1, -1))
        self.decoder = nn.ModuleList(
            _stage(dims[i], heads_per_stage[i], depths[i], window) for i in range(n - 2, -1, -1)
        )
        self.final = PatchExpand(dims[0], dim, 4)
        self.build_heads(dim, dims[0], dims[-1])

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        x = self.embed_norm(self.embed(x).permute(0, 2, 3, 1))  # (B, H/4, W/4, C)
        skips = []
        for i, stage in enumerate(self.encoder):
            x = stage(x if i == 0 else self.merges[i - 1](x))
            skips.append(x)
        deep = x
        for expand, fuse, stage, skip in zip(self.expands, self.fuse, self.decoder, reversed(skips[:-1])):
            x = stage(fuse(torch.cat([expand(x), skip], dim=-1)))
        quarter = x.permute(0, 3, 1, 2)
        full = self.final(x).permute(0, 3, 1, 2).contiguous()
        return (
            full,
            F.interpolate(quarter, scale_factor=2.0, mode="bilinear", align_corners=False),
            deep.permute(0, 3, 1, 2),
        )


@dataclass(frozen=True)
class SwinUNetOptions(HeadOptions):
    """Swin-T dimensions: ``embed_dim`` 96, ``num_heads`` 3-6-12-24; ``depths`` per stage (the
    decoder mirrors stages 3..1); ``window`` in tokens."""

    embed_dim: int = setting(96, ge=1)
    depths: tuple[int, ...] = setting((2, 2, 2, 2), ge=1, min_length=2)
    num_heads: tuple[int, ...] = setting((3, 6, 12, 24), ge=1, min_length=2)
    window: int = setting(4, ge=1)

    def check(self) -> None:
        """``num_heads`` has one entry per stage, and stage ``i`` (``embed_dim * 2**i`` channels)
        divides evenly among its heads."""
        if len(self.num_heads) != len(self.depths):
            raise option_error(
                "num_heads", self.num_heads, f"must have one entry per stage of depths {list(self.depths)}"
            )
        for i, h in enumerate(self.num_heads):
            if (self.embed_dim * 2**i) % h:
                need = math.lcm(*(h // math.gcd(h, 2**j) for j, h in enumerate(self.num_heads)))
                raise option_error(
                    "embed_dim",
                    self.embed_dim,
                    f"gives stage {i + 1} {self.embed_dim * 2**i} channels, not divisible by its "
                    f"{h} heads (num_heads {list(self.num_heads)}); use a multiple of {need}, "
                    f"e.g. {need * max(1, round(self.embed_dim / need))}",
                )


@register_model(
    "swin-unet",
    options=SwinUNetOptions,
    description="Swin-UNet: shifted-window Swin blocks in a U shape, Swin-T dims (Cao 2021)",
)
def swin_unet(in_channels: int, o: SwinUNetOptions) -> SwinUNet:
    return SwinUNet(in_channels, o.embed_dim, tuple(o.depths), tuple(o.num_heads), o.window, o.heads)
