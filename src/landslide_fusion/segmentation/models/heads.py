"""The shared output side of every network: input check, padding, and the mono/dual/multi heads.

Heads (the RAU-Net paper's vocabulary):

* ``mono``: one 1x1 convolution on the finest decoder features -> mask logits.
* ``multi``: ``mono`` plus a head on the half-resolution decoder features and one on features
  upsampled 2x by a transposed convolution: masks at 1/2, 1 and 2x the input size, whose
  upsampled probabilities are averaged at inference.
* ``dual``: ``mono`` plus an image-level landslide logit, a linear layer on the global average of
  the deepest encoder features.

Contract: in eval mode a model returns mask logits (B, 1, H, W) at input size; in train mode it
returns :class:`HeadOutputs` (every head's logits at its own resolution, plus the image logit
for ``dual``), which the losses accept. Inputs are padded (replicating the last row and column)
to the multiple the architecture needs, and outputs cropped back.
Networks whose finest features are coarser than the input (DeepLab at 1/8, SegFormer at 1/4)
upsample the logits bilinearly to the padded size before cropping.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ConfigError
from ..blocks import interpolate_to

__all__ = ["HeadOutputs", "SegmentationNet", "pad_to_multiple"]


class HeadOutputs(NamedTuple):
    """Train-mode output: logits per head at the head's resolution, and the image logit."""

    masks: list[torch.Tensor]
    image: torch.Tensor | None = None


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad the bottom and right of ``x`` (B, C, H, W) so H and W are multiples of ``multiple``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    # always padded (even by zero rows) and always in one mode, so that a traced (ONNX) graph
    # pads every input size as torch does; replicate works for inputs of any size
    return F.pad(x, (0, pw, 0, ph), mode="replicate")


class SegmentationNet(nn.Module):
    """Base class: subclasses build their body, call :meth:`build_heads`, and implement
    :meth:`forward_features` returning ``(finest, half, deepest)`` feature maps (``half`` may be
    None when ``multi`` is not supported)."""

    def __init__(self, in_channels: int, multiple: int, heads: str) -> None:
        super().__init__()
        if in_channels < 1:
            raise ConfigError(f"in_channels must be >= 1, got {in_channels}")
        self.in_channels = in_channels
        self.multiple = multiple
        self.heads = heads

    def build_heads(self, c_full: int, c_half: int, c_deep: int) -> None:
        """Head layers for ``self.heads`` over features of these widths (names kept stable so
        saved runs load)."""
        self.head = nn.Conv2d(c_full, 1, 1)
        if self.heads == "multi":
            c_up = max(c_full // 2, 4)
            self.head_half = nn.Conv2d(c_half, 1, 1)
            self.up_double = nn.Sequential(
                nn.ConvTranspose2d(c_full, c_up, 2, stride=2), nn.BatchNorm2d(c_up), nn.LeakyReLU(0.01, inplace=True)
            )
            self.head_double = nn.Conv2d(c_up, 1, 1)
        if self.heads == "dual":
            self.image_head = nn.Linear(c_deep, 1)

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor | HeadOutputs:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ConfigError(
                f"model expects input (B, {self.in_channels}, H, W); got {tuple(x.shape)}: "
                "check the band preset matches the one the model was built for"
            )
        h, w = x.shape[-2:]
        x = pad_to_multiple(x, self.multiple)
        hp, wp = x.shape[-2:]
        full, half, deep = self.forward_features(x)
        masks = [interpolate_to(self.head(full), (hp, wp))[..., :h, :w]]
        if self.heads == "multi":
            half = full if half is None else half  # (multi is only offered by networks that return half)
            masks.insert(
                0, interpolate_to(self.head_half(half), (hp // 2, wp // 2))[..., : (h + 1) // 2, : (w + 1) // 2]
            )
            masks.append(
                interpolate_to(self.head_double(self.up_double(full)), (2 * hp, 2 * wp))[..., : 2 * h, : 2 * w]
            )
        image = self.image_head(deep.mean(dim=(2, 3)))[:, 0] if self.heads == "dual" else None
        if self.training:
            return HeadOutputs(masks, image)
        if len(masks) == 1:
            return masks[0]
        prob = torch.stack([torch.sigmoid(interpolate_to(m, (h, w))) for m in masks]).mean(0)
        return torch.logit(prob.clamp(1e-6, 1 - 1e-6))
