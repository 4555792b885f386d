"""Training data as a ``torch.utils.data.Dataset`` over the readers' lazy ``Sample`` sequences.

Nothing is stacked in memory: each item is one file read (``samples[i]``), then either resized
to ``data.size`` (bilinear antialiased image, nearest mask: :func:`~..patches.resize_patch`) or, with
``data.crop``, a random window of the image at its own resolution (:func:`~..patches.crop_patch`).
A crop's randomness comes from ``(seed, epoch, sample index)`` alone, so it is the same with 0 or
8 DataLoader workers and after a resume. Augmentation stays per batch, on the device
(:func:`~.augment.augment_batch`).

:class:`EpochSampler` orders an epoch like ``DistributedSampler``: one permutation per epoch
seeded by ``seed * 1000 + epoch``, padded by repetition so every rank takes the same number of
steps, rank ``r`` taking every ``world``-th index from ``r``. With ``negative_fraction`` in
[0, 1] an epoch draws that share of landslide-free patches (each class cycled without
replacement); negative keeps them in proportion to how they occur.

Band statistics for normalisation stream over the training set one batch at a time
(:func:`streamed_stats`), with exactly the arithmetic of the former stacked path.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ...errors import DataError
from ...io.sample import Sample
from ...stats import BandStats
from ..config import SegmentConfig
from ..patches import crop_patch, resize_patch
from ..inference.pipeline import engineered_stats

__all__ = ["PatchDataset", "EpochSampler", "make_loader", "streamed_stats"]


class PatchDataset(Dataset):
    """Items ``(image (C, S, S) float32, mask (S, S) uint8)`` of ``samples[indices]``.

    Args:
        samples: a lazy sequence of labelled samples (``open_dataset``).
        indices: which samples (default: all), in item order.
        size: resize every item to ``size`` x ``size`` (0: keep the native size).
        crop: random ``crop`` x ``crop`` windows at native resolution (0: off; wins over size).
        seed: seeds the crops together with the epoch (:meth:`set_epoch`) and the sample index.
        cache: keep each resized item in memory after its first read (resize mode only: the set
            at ``size`` px, e.g. 170 MB for 869 RGB images at 128 px), so later epochs do not
            decode and resize the files again; crops and native sizes always stream.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        indices: Sequence[int] | None = None,
        *,
        size: int = 0,
        crop: int = 0,
        seed: int = 0,
        cache: bool = False,
    ) -> None:
        self.samples = samples
        self.indices = list(range(len(samples))) if indices is None else [int(i) for i in indices]
        self.size, self.crop, self.seed, self.epoch = size, crop, seed, 0
        self.cache: dict[int, tuple[torch.Tensor, torch.Tensor]] | None = {} if cache and size and not crop else None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def sample(self, i: int) -> Sample:
        """The ``i``-th sample as read (native size), checked to carry a mask."""
        s = self.samples[self.indices[i]]
        if s.mask is None:
            raise DataError(f"sample {s.id} has no mask; training and evaluation need labelled data")
        return s

    def view(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The deterministic view of item ``i``: resized to ``size``, or at native size."""
        if self.cache is not None and i in self.cache:
            return self.cache[i]
        s = self.sample(i)
        if self.size and not self.crop:
            x, m = resize_patch(s.image, s.mask, self.size)
        else:
            x, m = torch.from_numpy(np.ascontiguousarray(s.image, dtype=np.float32)), torch.from_numpy(s.mask)
        item = x.float(), m.to(torch.uint8)  # type: ignore[union-attr]
        if self.cache is not None:
            self.cache[i] = item
        return item

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.crop:
            return self.view(i)
        s = self.sample(i)
        rng = np.random.default_rng([self.seed, self.epoch, self.indices[i]])
        x, m = crop_patch(s.image, s.mask, self.crop, rng)
        return x, m.to(torch.uint8)  # type: ignore[union-attr]


def _cycle(pool: torch.Tensor, n: int, g: torch.Generator) -> torch.Tensor:
    """``n`` draws from ``pool``: whole shuffled passes, then part of one more."""
    if n <= 0 or pool.numel() == 0:
        return pool[:0]
    passes = [pool[torch.randperm(pool.numel(), generator=g)] for _ in range(math.ceil(n / pool.numel()))]
    return torch.cat(passes)[:n]


class EpochSampler(Sampler[int]):
    """Indices of one rank for one epoch (see the module docstring); call :meth:`set_epoch`."""

    def __init__(
        self, labels: np.ndarray, *, rank: int = 0, world: int = 1, seed: int = 0, negative_fraction: float = -1.0
    ) -> None:
        self.labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
        self.rank, self.world, self.seed, self.negative_fraction = rank, world, seed, negative_fraction
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def order(self) -> torch.Tensor:
        """The epoch's permutation over all ranks (before padding and the per-rank slice)."""
        n = len(self.labels)
        g = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        if self.negative_fraction < 0:
            return torch.randperm(n, generator=g)
        neg, pos = (self.labels == 0).nonzero().flatten(), (self.labels > 0).nonzero().flatten()
        n_neg = n if pos.numel() == 0 else 0 if neg.numel() == 0 else round(self.negative_fraction * n)
        draws = torch.cat([_cycle(neg, n_neg, g), _cycle(pos, n - n_neg, g)])
        return draws[torch.randperm(n, generator=g)]

    def __iter__(self) -> Iterator[int]:
        perm = self.order()
        per_rank = len(self)
        perm = torch.cat([perm, perm.repeat(self.world)])[: per_rank * self.world]  # equal steps on every rank
        return iter(perm[self.rank :: self.world].tolist())

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.world)


def make_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    workers: int = 0,
    sampler: Sampler[int] | None = None,
    pin: bool = False,
    drop_single: bool = False,
) -> DataLoader:
    """A DataLoader in ``sampler`` order (default: item order) with ``workers`` processes.

    ``drop_single`` (training): a trailing batch of one sample is left out. BatchNorm cannot
    normalise one sample whose deepest map is 1x1 (a 32 px patch in a stride-32 encoder), and a
    one-sample step is noise; the sampler reshuffles every epoch, so no patch is left out for good.
    """
    n = len(sampler if sampler is not None else dataset)
    drop = drop_single and batch_size > 1 and n % batch_size == 1
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        shuffle=False,
        num_workers=workers,
        pin_memory=pin,
        drop_last=drop,
    )


class _LazyImages:
    """Stands in for a stacked (N, C, H, W) tensor: a slice reads and stacks those items only."""

    def __init__(self, dataset: PatchDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: slice) -> torch.Tensor:
        return torch.stack([self.dataset.view(i)[0] for i in range(*index.indices(len(self.dataset)))])


def streamed_stats(cfg: SegmentConfig, dataset: PatchDataset) -> BandStats:
    """Per-band statistics of the engineered bands over ``dataset`` (its deterministic views:
    resized items, or whole native images in crop mode), read one batch at a time."""
    batch = 1 if dataset.crop else 64
    return engineered_stats(cfg, _LazyImages(dataset), batch_size=batch)  # type: ignore[arg-type]
