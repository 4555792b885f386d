"""OpenCV kernels for CPU batches: one image per task in a thread pool (OpenCV releases the GIL).

The pool has as many threads as torch uses (``torch.get_num_threads()``), so a CPU batch keeps
the cores torch would have used busy, one whole image each. It is made on first use and again
in a forked child (a fork copies no threads). OpenCV is imported when a kernel first runs, so
importing this module costs nothing.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import torch

__all__ = ["median_blur_u8"]


@lru_cache(maxsize=None)
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="opencv")


os.register_at_fork(after_in_child=_pool.cache_clear)


def median_blur_u8(levels: torch.Tensor, size: int) -> torch.Tensor:
    """``cv2.medianBlur(image, size)`` of every (H, W) image of a (N, H, W) uint8 CPU tensor.

    ``size`` must be odd (OpenCV's rule); the window is centred and OpenCV repeats the edge pixel
    outside the image (``BORDER_REPLICATE``), also when the window is larger than the image.
    """
    import cv2

    if levels.dtype != torch.uint8 or levels.ndim != 3 or levels.device.type != "cpu" or size % 2 == 0:
        raise ValueError(
            f"median_blur_u8 needs a (N, H, W) uint8 CPU tensor and an odd size; "
            f"got {levels.dtype} {tuple(levels.shape)} on {levels.device}, size {size}"
        )
    images = np.ascontiguousarray(levels.numpy())
    out = np.empty_like(images)

    def one(i: int) -> None:
        out[i] = cv2.medianBlur(images[i], size)

    list(_pool(torch.get_num_threads()).map(one, range(len(images))))
    return torch.from_numpy(out)
