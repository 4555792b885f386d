"""Image folders: ``images/`` and ``masks/`` with matching stems, any size, RGB or multiband.

Layout::

    ROOT/images/STEM.(png|tif|tiff|jpg)
    ROOT/masks/STEM.(png|tif|tiff)        0/1 or 0/255 (optional for unlabelled data)
    ROOT/splits/NAME.txt                  optional: one stem per line (e.g. train.txt, val.txt)

The Bijie landslide set (Ji et al., 2020) ships in this layout. The band set is given, or
inferred from the first image's channel count (1 or 3: ``rgb`` needs 3; 4: ``rgbn``;
14: ``l4s14``). Each sample carries the value scale its file declares
(:func:`~landslide_fusion.io.raster.read_raster`: 8-bit images ``uint8``, a GeoTIFF's
``DOMAIN_SCALE`` tag, else none).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..bands import BAND_SETS, BandSet, get_band_set
from ..errors import BandError, DataError
from .atomic import atomic_path
from .pairs import FolderLayout, find_pairs
from .raster import IMAGE_SUFFIXES, read_raster
from .sample import Sample
from .validate import NanPolicy, binary_mask, check_finite

__all__ = ["ImageFolderDataset", "is_image_folder", "write_image_folder_sample", "infer_band_set"]


_LAYOUT = FolderLayout(images="images", masks="masks", image_files="image", mask_file="masks/STEM.png")


def is_image_folder(root: str | os.PathLike[str]) -> bool:
    """True when ``root`` has an ``images/`` subfolder."""
    return (Path(root) / "images").is_dir()


def infer_band_set(channels: int) -> BandSet:
    """The registered band set with ``channels`` bands."""
    for band_set in BAND_SETS.values():
        if len(band_set) == channels:
            return band_set
    sizes = ", ".join(f"{b.name} ({len(b)})" for b in BAND_SETS.values())
    raise BandError(f"no band set has {channels} bands (known: {sizes}); pass the band set explicitly")


def _by_stem(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."):
            if p.stem in found:
                raise DataError(
                    f"{folder}: two files share the stem {p.stem!r} ({found[p.stem].name}, {p.name}); keep one"
                )
            found[p.stem] = p
    return found


class ImageFolderDataset(Sequence[Sample]):
    """An ``images/`` + ``masks/`` folder as a lazy sequence of :class:`Sample`.

    Args:
        root: the folder.
        split: name of a split list under ``splits/`` (``"train"`` reads ``splits/train.txt``).
        band_set: band set name; ``None`` infers it from the first image.
        require_masks: raise when ``masks/`` is absent.
        nan_policy: ``"raise"`` (default) or ``"zero"``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        split: str | None = None,
        band_set: str | None = None,
        require_masks: bool = False,
        nan_policy: NanPolicy | str = NanPolicy.RAISE,
    ) -> None:
        self.root = Path(root)
        self.nan_policy = NanPolicy(nan_policy)
        images, masks = find_pairs(self.root, _LAYOUT, lambda folder, _: _by_stem(folder), str, require_masks)
        stems = sorted(images)
        if split is not None:
            stems = self._read_split(split, images)
        self.split = split
        self._stems = stems
        self._images = images
        self._masks = masks
        self.band_set = get_band_set(band_set) if band_set else None

    def _read_split(self, split: str, images: dict[str, Path]) -> list[str]:
        path = self.root / "splits" / f"{split}.txt"
        if not path.is_file():
            have = (
                sorted(p.stem for p in (self.root / "splits").glob("*.txt")) if (self.root / "splits").is_dir() else []
            )
            raise DataError(f"{path}: split list not found; available splits: {', '.join(have) or 'none'}")
        stems = [s.strip() for s in path.read_text().splitlines() if s.strip()]
        unknown = [s for s in stems if s not in images]
        if unknown:
            raise DataError(
                f"{path}: {len(unknown)} listed stem(s) have no image ({', '.join(unknown[:3])}); "
                "fix the list or add the images"
            )
        return stems

    @property
    def has_masks(self) -> bool:
        return bool(self._masks)

    @property
    def ids(self) -> list[str]:
        return list(self._stems)

    def __len__(self) -> int:
        return len(self._stems)

    def __getitem__(self, index: int) -> Sample:  # type: ignore[override]
        stem = self._stems[index]
        path = self._images[stem]
        raw, geo, scale = read_raster(path)
        if self.band_set is None:
            try:
                self.band_set = infer_band_set(raw.shape[0])
            except BandError as e:
                raise BandError(f"{path}: {e}") from None
        if raw.shape[0] != len(self.band_set):
            raise BandError(
                f"{path}: {raw.shape[0]} band(s) but band set {self.band_set.name!r} has "
                f"{len(self.band_set)} ({', '.join(self.band_set.bands)}); pass the matching band set"
            )
        image = check_finite(raw.astype(np.float32), path, self.band_set.bands, self.nan_policy)
        mask = None
        if stem in self._masks:
            mpath = self._masks[stem]
            m = read_raster(mpath)[0]
            if m.shape[1:] != raw.shape[1:]:
                raise DataError(f"{mpath}: mask size {m.shape[1:]} differs from image size {raw.shape[1:]}")
            mask = binary_mask(m[0], mpath)
        return Sample(id=stem, image=image, bands=self.band_set.bands, mask=mask, geo=geo, scale=scale)


def write_image_folder_sample(
    root: str | os.PathLike[str], stem: str, image: np.ndarray, mask: np.ndarray | None = None
) -> None:
    """Write a uint8 (3, H, W) image as PNG (and a 0/255 mask), atomically."""
    from PIL import Image

    root = Path(root)
    for sub in ("images", "masks"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    with atomic_path(root / "images" / f"{stem}.png") as tmp:
        Image.fromarray(np.ascontiguousarray(image.transpose(1, 2, 0)).astype(np.uint8)).save(tmp, format="PNG")
    if mask is not None:
        with atomic_path(root / "masks" / f"{stem}.png") as tmp:
            Image.fromarray((mask > 0).astype(np.uint8) * 255).save(tmp, format="PNG")
