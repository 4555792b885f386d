"""Landslide4Sense HDF5 patches: reading (lazy) and writing, in the official layout.

Layout (Ghorbanzadeh et al., 2022, https://github.com/iarai/Landslide4Sense-2022)::

    ROOT/img/image_N.h5    key "img",  (128, 128, 14) float, bands B1..B12, SLOPE, DEM
    ROOT/mask/mask_N.h5    key "mask", (128, 128) 0/1

Images and masks pair by N. Files are opened one at a time on access, so a folder of any size
costs only its file list in memory. Arrays come out channel-first float32 whatever the stored
dtype (the released files are float64). Their values are on the ``l4s`` scale
(:mod:`landslide_fusion.domains`), which every sample declares.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from ..bands import L4S14
from ..errors import DataError
from .atomic import atomic_path
from .pairs import FolderLayout, find_pairs
from .sample import Sample
from .validate import NanPolicy, binary_mask, check_finite

__all__ = ["L4SDataset", "write_l4s_patch", "open_l4s"]

IMAGE_KEY = "img"
MASK_KEY = "mask"
_IMAGE_RE = re.compile(r"^image_(\d+)\.h5$")
_MASK_RE = re.compile(r"^mask_(\d+)\.h5$")
_LAYOUT = FolderLayout(images="img", masks="mask", image_files="image_N.h5", mask_file="mask/mask_N.h5")


def _numbered(folder: Path, pattern: re.Pattern[str]) -> dict[int, Path]:
    return {int(m.group(1)): p for p in folder.iterdir() if (m := pattern.match(p.name))}


def _read_key(path: Path, key: str) -> np.ndarray:
    try:
        with h5py.File(path, "r") as f:
            if key not in f:
                raise DataError(
                    f"{path}: no HDF5 key {key!r} (keys: {', '.join(f.keys()) or 'none'}); "
                    f"Landslide4Sense files store the array under {key!r}"
                )
            return f[key][()]
    except OSError as e:
        raise DataError(f"{path}: not a readable HDF5 file ({e}); re-export or remove it") from None


class L4SDataset(Sequence[Sample]):
    """A Landslide4Sense folder as a lazy sequence of :class:`Sample`.

    Args:
        root: folder holding ``img/`` and, for labelled data, ``mask/``.
        require_masks: raise when ``mask/`` is absent.
        nan_policy: ``"raise"`` (default) or ``"zero"`` for NaN/inf pixels.

    Raises:
        DataError: missing folder, no images, images without masks.
    """

    band_set = L4S14

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        require_masks: bool = False,
        nan_policy: NanPolicy | str = NanPolicy.RAISE,
    ) -> None:
        self.root = Path(root)
        self.nan_policy = NanPolicy(nan_policy)
        images, masks = find_pairs(
            self.root,
            _LAYOUT,
            lambda folder, is_mask: _numbered(folder, _MASK_RE if is_mask else _IMAGE_RE),
            lambda n: f"image_{n}.h5",
            require_masks,
        )
        self._numbers = sorted(images)
        self._images = images
        self._masks = masks

    @property
    def has_masks(self) -> bool:
        return bool(self._masks)

    @property
    def ids(self) -> list[str]:
        return [f"image_{n}" for n in self._numbers]

    def __len__(self) -> int:
        return len(self._numbers)

    def __getitem__(self, index: int) -> Sample:  # type: ignore[override]
        n = self._numbers[index]
        path = self._images[n]
        img = _read_key(path, IMAGE_KEY)
        if img.ndim != 3 or img.shape[-1] != len(L4S14):
            raise DataError(
                f"{path}: image shape {img.shape}; expected (H, W, {len(L4S14)}) with bands {', '.join(L4S14.bands)}"
            )
        image = np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32)
        image = check_finite(image, path, L4S14.bands, self.nan_policy)
        mask = None
        if n in self._masks:
            mpath = self._masks[n]
            m = _read_key(mpath, MASK_KEY)
            if m.shape != img.shape[:2]:
                raise DataError(f"{mpath}: mask shape {m.shape} differs from image shape {img.shape[:2]}")
            mask = binary_mask(m, mpath)
        return Sample(id=f"image_{n}", image=image, bands=L4S14.bands, mask=mask, scale="l4s")


def open_l4s(
    root: Path,
    *,
    split: str | None = None,
    band_set: str | None = None,
    require_masks: bool = False,
    nan_policy: NanPolicy | str = NanPolicy.RAISE,
) -> L4SDataset:
    """The registered ``l4s`` reader: an :class:`L4SDataset`, refusing options it cannot honour."""
    if split is not None:
        raise DataError(f"{root}: Landslide4Sense folders have no split lists; drop --split")
    if band_set not in (None, L4S14.name):
        raise DataError(f"{root}: Landslide4Sense folders hold band set {L4S14.name}, not {band_set!r}")
    return L4SDataset(root, require_masks=require_masks, nan_policy=nan_policy)


def write_l4s_patch(
    root: str | os.PathLike[str], number: int, image: np.ndarray, mask: np.ndarray | None = None
) -> None:
    """Write one patch in the official layout; ``image`` is (C, H, W), stored as (H, W, C)."""
    root = Path(root)
    if image.ndim != 3 or image.shape[0] != len(L4S14):
        raise DataError(f"image shape {image.shape}; expected ({len(L4S14)}, H, W)")
    (root / "img").mkdir(parents=True, exist_ok=True)
    with atomic_path(root / "img" / f"image_{number}.h5") as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset(IMAGE_KEY, data=image.transpose(1, 2, 0).astype(np.float32))
    if mask is not None:
        (root / "mask").mkdir(parents=True, exist_ok=True)
        with atomic_path(root / "mask" / f"mask_{number}.h5") as tmp:
            with h5py.File(tmp, "w") as f:
                f.create_dataset(MASK_KEY, data=mask.astype(np.uint8))
