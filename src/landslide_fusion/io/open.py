"""Open any supported dataset folder by detecting its layout."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataError
from .folder import ImageFolderDataset, is_image_folder
from .l4s import L4SDataset, is_l4s_folder
from .validate import NanPolicy

__all__ = ["open_dataset", "Dataset"]

Dataset = L4SDataset | ImageFolderDataset


def open_dataset(
    root: str | os.PathLike[str],
    *,
    split: str | None = None,
    band_set: str | None = None,
    require_masks: bool = False,
    nan_policy: NanPolicy | str = NanPolicy.RAISE,
) -> Dataset:
    """Open ``root`` as a Landslide4Sense folder (``img/``) or an image folder (``images/``)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: folder not found")
    if (root / "img").is_dir() or is_l4s_folder(root):
        if split is not None:
            raise DataError(f"{root}: Landslide4Sense folders have no split lists; drop --split")
        if band_set not in (None, "l4s14"):
            raise DataError(f"{root}: Landslide4Sense folders hold band set l4s14, not {band_set!r}")
        return L4SDataset(root, require_masks=require_masks, nan_policy=nan_policy)
    if is_image_folder(root):
        return ImageFolderDataset(
            root, split=split, band_set=band_set, require_masks=require_masks, nan_policy=nan_policy
        )
    raise DataError(
        f"{root}: not a dataset folder; expected img/ + mask/ (Landslide4Sense) or images/ + masks/"
    )
