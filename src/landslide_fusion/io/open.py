"""Open any registered dataset folder by detecting its layout (see :mod:`.readers`)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataError
from .readers import Dataset, detect_reader
from .validate import NanPolicy

__all__ = ["open_dataset", "refuse_table", "Dataset"]


def refuse_table(path: str | os.PathLike[str]) -> None:
    """A region table (CSV/Parquet) passed where images go is an error naming the commands that take tables."""
    path = Path(path)
    if path.suffix.lower() in (".csv", ".parquet", ".pq") and path.is_file():
        raise DataError(
            f"{path}: a table, not images; region tables go to 'landslide tabular train|predict "
            "--data TABLE' (or 'fuse score --table TABLE' beside the images)"
        )


def open_dataset(
    root: str | os.PathLike[str],
    *,
    split: str | None = None,
    band_set: str | None = None,
    require_masks: bool = False,
    nan_policy: NanPolicy | str = NanPolicy.RAISE,
) -> Dataset:
    """Open ``root`` with the first registered reader that recognises it.

    Built in: ``l4s`` (``img/`` + ``mask/``, Landslide4Sense HDF5) and ``image-folder``
    (``images/`` + ``masks/``), registered as soon as :mod:`.readers` is imported (it imports
    ``l4s`` and ``folder``, which register themselves); add layouts with :func:`~.readers.register_reader`.

    Raises:
        DataError: ``root`` is not a folder, no reader recognises it (the message lists the
            registered layouts), or the reader cannot honour ``split`` / ``band_set``.
    """
    refuse_table(root)
    reader = detect_reader(root)
    return reader.open(Path(root), split=split, band_set=band_set, require_masks=require_masks, nan_policy=nan_policy)
