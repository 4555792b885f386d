"""Several datasets read as one: the training and validation splits pooled for a k-fold."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataError
from .readers import Dataset
from .sample import Sample

__all__ = ["ConcatDataset"]


class ConcatDataset:
    """The samples of ``parts`` in order (lazy, like each part); ids must not repeat across parts,
    and the parts must hold one band set."""

    def __init__(self, parts: Sequence[Dataset], names: Sequence[str] | None = None) -> None:
        self.parts = list(parts)
        names = list(names) if names is not None else [f"part {i + 1}" for i in range(len(self.parts))]
        seen: dict[str, str] = {}
        for part, name in zip(self.parts, names):
            for i in part.ids:
                if i in seen:
                    raise DataError(
                        f"image {i} is in both {seen[i]} and {name}; a labelled image may be in one split only"
                    )
                seen[i] = name
        sets = {getattr(p, "band_set", None) and p.band_set.name for p in self.parts} - {None}
        if len(sets) > 1:
            raise DataError(f"{', '.join(names)} hold different band sets ({', '.join(sorted(sets))})")
        self.band_set = next((p.band_set for p in self.parts if getattr(p, "band_set", None) is not None), None)
        self._ends = np.cumsum([len(p) for p in self.parts])

    @property
    def ids(self) -> list[str]:
        return [i for p in self.parts for i in p.ids]

    @property
    def has_masks(self) -> bool:
        return all(p.has_masks for p in self.parts)

    def __len__(self) -> int:
        return int(self._ends[-1]) if len(self._ends) else 0

    def __getitem__(self, index: int) -> Sample:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        k = int(np.searchsorted(self._ends, index, side="right"))
        return self.parts[k][index - (int(self._ends[k - 1]) if k else 0)]
