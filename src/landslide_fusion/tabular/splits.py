"""Cross-validation splitters (scikit-learn splitter API) that keep neighbours together.

``SpatialBlockKFold`` cuts the plane into square blocks of ``block_size`` map units (Roberts et
al., 2017; Valavi et al., 2019) and assigns whole blocks to folds, so units a few metres apart do
not sit on both sides of a split. It reads the coordinate columns from ``X`` (a DataFrame), so it
works inside ``sklearn.model_selection.cross_validate``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator, StratifiedGroupKFold, StratifiedKFold

from ..errors import ConfigError, SchemaError
from .names import SPLITTERS

__all__ = ["SpatialBlockKFold", "make_splitter", "SPLITTERS"]


class SpatialBlockKFold(BaseCrossValidator):
    """K-fold over square spatial blocks, stratified by label where possible."""

    def __init__(
        self,
        n_splits: int = 5,
        block_size: float = 1000.0,
        coords: tuple[str, str] = ("x", "y"),
        random_state: int | None = 0,
    ) -> None:
        self.n_splits = n_splits
        self.block_size = block_size
        self.coords = coords
        self.random_state = random_state

    def blocks(self, X: pd.DataFrame) -> np.ndarray:
        """Block id of each row."""
        if not isinstance(X, pd.DataFrame) or any(c not in X.columns for c in self.coords):
            have = list(X.columns) if isinstance(X, pd.DataFrame) else "no column names"
            raise SchemaError(f"spatial CV needs coordinate columns {self.coords} in X; have {have}")
        xy = X[list(self.coords)].to_numpy(float)
        cells = np.floor(xy / self.block_size).astype(np.int64)
        return np.unique(cells, axis=0, return_inverse=True)[1].ravel()

    def split(self, X, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        blocks = self.blocks(X)
        if len(np.unique(blocks)) < self.n_splits:
            raise ConfigError(
                f"only {len(np.unique(blocks))} spatial blocks for {self.n_splits} folds; use a smaller block size"
            )
        y = np.zeros(len(blocks), int) if y is None else np.asarray(y)
        inner = StratifiedGroupKFold(self.n_splits, shuffle=True, random_state=self.random_state)
        yield from inner.split(np.zeros(len(blocks)), y, blocks)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits

    def _iter_test_indices(self, X=None, y=None, groups=None):  # pragma: no cover - split() is overridden
        raise NotImplementedError


def make_splitter(
    kind: str,
    n_splits: int = 5,
    *,
    block_size: float = 1000.0,
    coords: tuple[str, str] = ("x", "y"),
    random_state: int = 0,
) -> BaseCrossValidator:
    """``stratified`` (StratifiedKFold), ``group`` (StratifiedGroupKFold on the groups passed to
    ``split``) or ``spatial`` (:class:`SpatialBlockKFold`)."""
    if kind == "stratified":
        return StratifiedKFold(n_splits, shuffle=True, random_state=random_state)
    if kind == "group":
        return StratifiedGroupKFold(n_splits, shuffle=True, random_state=random_state)
    if kind == "spatial":
        return SpatialBlockKFold(n_splits, block_size, coords, random_state)
    raise ConfigError(f"unknown splitter {kind!r}; valid: {', '.join(SPLITTERS)}")
