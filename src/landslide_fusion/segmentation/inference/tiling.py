"""Sliding windows: how an image larger than the network's window is cut, predicted and blended.

Patches, images of any size and scenes are all predicted through these functions, so a
region's probabilities do not depend on which command produced them.

* Windows of ``window`` px start every ``stride = window - overlap`` px; the last window of a
  row or column ends at the image's edge (:func:`window_starts`).
* Each window's probabilities are weighted by a separable cosine taper over the ``overlap``
  pixels at each side, ``w(u) = max(sin(pi (u + 0.5) / (2 o)), eps)`` (1 inside), and the
  weighted sum is divided by the summed weights (:func:`blend_weights`), so neighbouring windows
  blend without seams.
* An image smaller than a window is padded to it by reflection (replication when it is too small
  to reflect), predicted, and cropped back (:func:`predict_windows`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import ConfigError
from ..config import NETWORK_MULTIPLE

__all__ = ["Tiling", "window_starts", "blend_weights", "predict_windows", "add_windows", "NETWORK_MULTIPLE"]


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Start offsets of windows covering ``[0, length)``; the last window ends at ``length``."""
    if length <= window:
        return [0]
    starts = list(range(0, length - window, stride))
    return starts + [length - window]


def blend_weights(window: int, overlap: int, eps: float = 1e-3) -> np.ndarray:
    """(window, window) separable cosine taper over ``overlap`` pixels at each side (see module doc)."""
    ramp = np.ones(window, np.float32)
    if overlap > 0:
        u = np.arange(overlap, dtype=np.float32)
        taper = np.maximum(np.sin(np.pi * (u + 0.5) / (2 * overlap)), eps)
        ramp[:overlap] = taper
        ramp[window - overlap :] = np.minimum(ramp[window - overlap :], taper[::-1])
    return np.outer(ramp, ramp)


@dataclass(frozen=True)
class Tiling:
    """Window size, stride and blend weights of one prediction."""

    window: int
    stride: int
    weights: np.ndarray  # (window, window)

    @classmethod
    def create(cls, window: int, overlap: float) -> "Tiling":
        """Tiling for ``window`` px windows sharing ``overlap`` (a fraction in [0, 1)) with each neighbour."""
        if window <= 0 or window % NETWORK_MULTIPLE:
            fix = NETWORK_MULTIPLE * max(1, math.ceil(window / NETWORK_MULTIPLE))
            raise ConfigError(
                f"window {window} must be a positive multiple of {NETWORK_MULTIPLE} "
                f"(the network downsamples 4 times); try {fix}"
            )
        if not 0 <= overlap < 1:
            raise ConfigError(
                f"overlap {overlap} must be in [0, 1): the fraction of a window shared with its neighbour"
            )
        ov = int(round(overlap * window))
        return cls(window, window - ov, blend_weights(window, ov))


def predict_windows(predict, strip: np.ndarray, window: int, starts: list[int]) -> list[np.ndarray]:
    """Probabilities (window, window) of the windows of ``strip`` (C, h, w; h <= window) starting
    at columns ``starts`` (relative to the strip's first column ``starts[0]``).

    ``predict`` maps a (N, C, window, window) tensor to (N, window, window) probabilities. A strip
    lower or narrower than a window is padded (see the module docstring)."""
    c, h, w = strip.shape
    t = torch.from_numpy(np.ascontiguousarray(strip, dtype=np.float32))[None]
    pad_h, pad_w = max(0, window - h), max(0, window - w)
    if pad_h or pad_w:
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        t = F.pad(t, (0, pad_w, 0, pad_h), mode=mode)
    tiles = torch.cat([t[..., :, s - starts[0] : s - starts[0] + window] for s in starts])
    return list(predict(tiles).numpy())


def add_windows(
    prob: np.ndarray,
    weight: np.ndarray,
    tiling: Tiling,
    windows: list[np.ndarray],
    starts: list[int],
    row: int,
    height: int,
    width: int,
    left: int = 0,
) -> None:
    """Blend one strip of windows into the running sums: each (window, window) probability map of
    ``windows``, starting at image column ``starts[i]`` of an image ``width`` wide, is added times
    the tiling's taper ``w`` to ``prob`` and ``w`` to ``weight`` at rows ``[row, row + height)``,
    columns shifted by ``left`` (the sums' first image column). The blend is ``prob / weight``."""
    for s, p in zip(starts, windows):
        ww = min(tiling.window, width - s)
        prob[row : row + height, s - left : s - left + ww] += (p * tiling.weights)[:height, :ww]
        weight[row : row + height, s - left : s - left + ww] += tiling.weights[:height, :ww]
