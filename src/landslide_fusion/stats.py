"""Per-band normalisation statistics, computed on the training split and saved with a run.

Two normalisations are offered:

* ``standard``: ``(x - mean) / std`` per band;
* ``mean``: ``x / mean`` per band, the scaling used by the Landslide4Sense baseline code
  (Ghorbanzadeh et al., 2022), kept so published numbers can be reproduced.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import DataError
from .io.atomic import write_json

if TYPE_CHECKING:
    from .io.sample import Sample

__all__ = ["BandStats", "Normalization", "compute_band_stats"]


class Normalization(str, Enum):
    STANDARD = "standard"
    MEAN = "mean"
    NONE = "none"


@dataclass(frozen=True)
class BandStats:
    """Mean, standard deviation, min and max of each band, in band order."""

    bands: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    min: tuple[float, ...]
    max: tuple[float, ...]

    def scale_shift(self, mode: Normalization | str) -> tuple[np.ndarray, np.ndarray]:
        """``(scale, shift)`` such that the normalised value is ``x * scale + shift``."""
        mode = Normalization(mode)
        mean = np.asarray(self.mean, dtype=np.float32)
        if mode is Normalization.STANDARD:
            scale = 1.0 / np.maximum(np.asarray(self.std, dtype=np.float32), 1e-6)
            return scale, -mean * scale
        if mode is Normalization.MEAN:
            safe = np.where(np.abs(mean) > 1e-6, mean, 1.0).astype(np.float32)
            return 1.0 / safe, np.zeros_like(mean)
        return np.ones_like(mean), np.zeros_like(mean)

    def save(self, path: str | os.PathLike[str]) -> Path:
        return write_json(path, self.__dict__)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "BandStats":
        d = json.loads(Path(path).read_text())
        return cls(**{k: tuple(v) for k, v in d.items()})


def compute_band_stats(samples: Iterable[Sample]) -> BandStats:
    """Exact per-band moments over all pixels of ``samples`` (streamed, float64 sums)."""
    total = sq = lo = hi = None
    count = 0
    bands: tuple[str, ...] | None = None
    for s in samples:
        x = s.image.reshape(s.image.shape[0], -1).astype(np.float64)
        if bands is None:
            bands = s.bands
            total, sq = np.zeros(len(bands)), np.zeros(len(bands))
            lo, hi = np.full(len(bands), np.inf), np.full(len(bands), -np.inf)
        elif s.bands != bands:
            raise DataError(f"sample {s.id}: bands {s.bands} differ from the first sample's {bands}")
        total += x.sum(1)
        sq += (x * x).sum(1)
        lo = np.minimum(lo, x.min(1))
        hi = np.maximum(hi, x.max(1))
        count += x.shape[1]
    if bands is None:
        raise DataError("cannot compute band statistics of an empty set of samples")
    mean = total / count
    std = np.sqrt(np.maximum(sq / count - mean**2, 0.0))
    return BandStats(bands, tuple(mean.tolist()), tuple(std.tolist()), tuple(lo.tolist()), tuple(hi.tolist()))
