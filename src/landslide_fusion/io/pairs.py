"""Image and mask files of a dataset folder, paired by key, with the checks every layout shares."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..errors import DataError

__all__ = ["FolderLayout", "find_pairs"]

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class FolderLayout:
    """Where a layout keeps its files and how its error messages name them.

    Attributes:
        images, masks: subfolder names (``"images"``, ``"masks"``).
        image_files: what an image file looks like, for "no ... files" (``"image_N.h5"``).
        mask_file: a mask's path pattern relative to the root (``"masks/STEM.png"``).
    """

    images: str
    masks: str
    image_files: str
    mask_file: str


def find_pairs(
    root: Path,
    layout: FolderLayout,
    scan: Callable[[Path, bool], dict[K, Path]],
    mask_name: Callable[[K], str],
    require_masks: bool,
) -> tuple[dict[K, Path], dict[K, Path]]:
    """``(images, masks)`` by key; ``masks`` is empty when the mask folder is absent.

    ``scan(folder, is_mask)`` maps the files of a folder to their keys; ``mask_name(key)`` names
    the mask an image lacks. Raises :class:`DataError` naming the folder and the fix for: a missing
    root or image folder, no image files, images without masks, and (``require_masks``) no mask
    folder.
    """
    holds = f"{layout.images}/ and {layout.masks}/"
    if not root.is_dir():
        raise DataError(f"{root}: folder not found; pass a folder that holds {holds}")
    img_dir, mask_dir = root / layout.images, root / layout.masks
    if not img_dir.is_dir():
        raise DataError(f"{root}: no {layout.images}/ subfolder; a dataset folder holds {holds}")
    images = scan(img_dir, False)
    if not images:
        raise DataError(f"{img_dir}: no {layout.image_files} files; the folder is empty or misnamed")
    if not mask_dir.is_dir():
        if require_masks:
            raise DataError(f"{root}: no {layout.masks}/ subfolder; labelled data needs {layout.mask_file}")
        return images, {}
    masks = scan(mask_dir, True)
    missing = [k for k in sorted(images) if k not in masks]
    if missing:
        raise DataError(
            f"{mask_dir}: {len(missing)} image(s) have no mask ({', '.join(mask_name(k) for k in missing[:3])}); "
            f"add {layout.mask_file} for each image, or remove {layout.masks}/ to read images only"
        )
    return images, masks
