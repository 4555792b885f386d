"""Per-patch transforms (resize, random crop at native resolution), stacking into tensors, and
the stratified holdout.

Crops of images smaller than the crop are padded by mirror reflection (``numpy.pad`` mode
``symmetric``: the edge pixel repeats, so 1-pixel-wide images work), and the mask is padded the
same way. The padded area is thus a consistent mirrored scene with its own labels, so the losses
need no ignore value and count it like any other pixel; validation never pads (it scores whole
images at their own size)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DataError
from ..io.sample import Sample

__all__ = ["resize_patch", "crop_patch", "patch_labels", "stratified_holdout"]


def resize_patch(image: np.ndarray, mask: np.ndarray | None, size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Resize to ``size`` x ``size``: bilinear with antialiasing for the image, nearest for the mask."""
    x = torch.from_numpy(image)[None]
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
    m = None
    if mask is not None:
        m = F.interpolate(torch.from_numpy(mask)[None, None].float(), size=(size, size), mode="nearest")[0, 0]
    return x, m


def crop_patch(
    image: np.ndarray, mask: np.ndarray | None, crop: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A random ``crop`` x ``crop`` window of ``image`` (C, H, W) and ``mask`` (H, W) at native
    resolution; a side shorter than ``crop`` is first mirror-padded (both sides, image and mask)."""
    h, w = image.shape[-2:]
    ph, pw = max(crop - h, 0), max(crop - w, 0)
    pads = ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2))
    if ph or pw:
        image = np.pad(image, ((0, 0), *pads), mode="symmetric")
        mask = None if mask is None else np.pad(mask, pads, mode="symmetric")
    top = int(rng.integers(0, image.shape[-2] - crop + 1))
    left = int(rng.integers(0, image.shape[-1] - crop + 1))
    window = (slice(top, top + crop), slice(left, left + crop))
    x = torch.from_numpy(np.ascontiguousarray(image[(slice(None), *window)], dtype=np.float32))
    m = None if mask is None else torch.from_numpy(np.ascontiguousarray(mask[window]))
    return x, m


def patch_labels(samples: Sequence[Sample], same_shape: bool = False) -> np.ndarray:
    """1 where a sample's mask holds landslide pixels, else 0 (one read per sample, streamed);
    with ``same_shape``, every image must have the first one's shape."""
    labels, shape = [], None
    for s in samples:
        if s.mask is None:
            raise DataError(f"sample {s.id} has no mask; training and evaluation need labelled data")
        shape = shape or s.image.shape
        if same_shape and s.image.shape != shape:
            raise DataError(
                f"sample {s.id} has shape {s.image.shape}, the first had {shape}; "
                "set data.size (e.g. --set data.size=128) or data.crop to train on images of several sizes"
            )
        labels.append(int(np.any(s.mask)))
    return np.asarray(labels, dtype=np.int64)


def stratified_holdout(labels: np.ndarray | torch.Tensor, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a train/validation split stratified by "patch holds a landslide": ``labels``
    are those 0/1 flags (see :func:`patch_labels`) or the (N, H, W) masks themselves."""
    from sklearn.model_selection import train_test_split

    if not 0 < fraction < 1:
        raise DataError(f"data.val_fraction must be in (0, 1), got {fraction}")
    y = labels.flatten(1).amax(1).numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    y = y.astype(np.int64)
    idx = np.arange(len(y))
    n_val = int(np.ceil(fraction * len(y)))
    stratify = min(np.bincount(y, minlength=2)) >= 2 and min(n_val, len(y) - n_val) >= 2
    strat = y if stratify else None
    tr, va = train_test_split(idx, test_size=fraction, random_state=seed, stratify=strat)
    return np.sort(tr), np.sort(va)
