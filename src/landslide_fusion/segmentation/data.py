"""Load a dataset's patches into tensors for training and evaluation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DataError
from ..io.sample import Sample

__all__ = ["load_patches", "resize_patch", "stratified_holdout"]


def resize_patch(image: np.ndarray, mask: np.ndarray | None, size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Resize to ``size`` x ``size``: bilinear with antialiasing for the image, nearest for the mask."""
    x = torch.from_numpy(image)[None]
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
    m = None
    if mask is not None:
        m = F.interpolate(torch.from_numpy(mask)[None, None].float(), size=(size, size), mode="nearest")[0, 0]
    return x, m


def load_patches(
    samples: Sequence[Sample], size: int = 0, require_masks: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None, list[str]]:
    """Stack samples into ``(N, C, H, W)`` float32 images and ``(N, H, W)`` uint8 masks.

    With ``size > 0`` each patch is resized to ``size`` x ``size`` (bilinear with antialiasing
    for images, nearest for masks); otherwise all patches must share one shape.
    """
    xs, ms, ids = [], [], []
    shape = None
    for s in samples:
        if require_masks and s.mask is None:
            raise DataError(f"sample {s.id} has no mask; training and evaluation need labelled data")
        if size:
            x, m = resize_patch(s.image, s.mask, size)
        else:
            x = torch.from_numpy(s.image)
            m = None if s.mask is None else torch.from_numpy(s.mask)
            if shape is None:
                shape = tuple(x.shape)
            elif tuple(x.shape) != shape:
                raise DataError(
                    f"sample {s.id} has shape {tuple(x.shape)}, the first had {shape}; "
                    "set data.size (e.g. --set data.size=128) to resize patches to one size"
                )
        xs.append(x)
        ms.append(m)
        ids.append(s.id)
    if not xs:
        raise DataError("no samples to load")
    masks = torch.stack([m.to(torch.uint8) for m in ms]) if all(m is not None for m in ms) else None
    return torch.stack(xs).float(), masks, ids


def stratified_holdout(masks: torch.Tensor, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a train/validation split stratified by "patch holds a landslide"."""
    from sklearn.model_selection import train_test_split

    if not 0 < fraction < 1:
        raise DataError(f"data.val_fraction must be in (0, 1), got {fraction}")
    y = masks.flatten(1).amax(1).numpy()
    idx = np.arange(len(y))
    strat = y if min(np.bincount(y, minlength=2)) >= 2 else None
    tr, va = train_test_split(idx, test_size=fraction, random_state=seed, stratify=strat)
    return np.sort(tr), np.sort(va)
