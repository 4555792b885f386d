"""``landslide data check``: validate a dataset folder and summarise it."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from .io.open import open_dataset
from .io.validate import NanPolicy
from .regions import has_landslide

__all__ = ["DatasetReport", "check_dataset"]


@dataclass
class DatasetReport:
    """What ``data check`` found: counts, shapes, per-band ranges and label balance."""

    root: str
    layout: str
    band_set: str
    n_images: int
    n_masks: int
    shapes: dict[str, int]
    band_min: dict[str, float]
    band_max: dict[str, float]
    band_mean: dict[str, float]
    landslide_pixel_fraction: float | None
    positive_image_fraction: float | None
    georeferenced: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def _shape_text(self) -> str:
        if len(self.shapes) <= 3:
            return ", ".join(f"{s} ({n})" for s, n in self.shapes.items())
        dims = np.array([[int(v) for v in s.split("x")] for s in self.shapes])
        return (
            f"{len(self.shapes)} distinct; {dims[0, 0]} band(s), height {dims[:, 1].min()}-{dims[:, 1].max()}, "
            f"width {dims[:, 2].min()}-{dims[:, 2].max()}"
        )

    def to_text(self) -> str:
        lines = [
            f"{self.root}: {self.layout} layout, band set {self.band_set}",
            f"  images: {self.n_images}   masks: {self.n_masks}   georeferenced: {self.georeferenced}",
            f"  shapes (C x H x W): {self._shape_text()}",
            "  band        min        mean        max",
        ]
        for b in self.band_min:
            lines.append(f"  {b:<8}{self.band_min[b]:>10.4g}{self.band_mean[b]:>12.4g}{self.band_max[b]:>11.4g}")
        if self.landslide_pixel_fraction is not None:
            lines.append(f"  landslide pixels: {100 * self.landslide_pixel_fraction:.2f} %")
            lines.append(f"  images with a landslide: {100 * self.positive_image_fraction:.1f} %")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def check_dataset(
    root: str | os.PathLike[str], split: str | None = None, nan_policy: NanPolicy | str = NanPolicy.RAISE
) -> DatasetReport:
    """Read every sample of ``root`` (validating it) and summarise the set.

    Raises the reader's :class:`~landslide_fusion.errors.DataError` on the first bad file.
    """
    ds = open_dataset(root, split=split, nan_policy=nan_policy)
    shapes: Counter[str] = Counter()
    lo = hi = total = None
    count = 0
    pos_pixels = all_pixels = pos_images = n_masks = georef = 0
    bands: tuple[str, ...] = ()
    for s in ds:
        bands = s.bands
        shapes["x".join(map(str, s.image.shape))] += 1
        flat = s.image.reshape(s.image.shape[0], -1).astype(np.float64)
        if lo is None:
            lo, hi, total = flat.min(1), flat.max(1), flat.sum(1)
        else:
            lo, hi, total = np.minimum(lo, flat.min(1)), np.maximum(hi, flat.max(1)), total + flat.sum(1)
        count += flat.shape[1]
        georef += s.geo is not None
        if s.mask is not None:
            n_masks += 1
            pos_pixels += int(s.mask.sum())
            all_pixels += s.mask.size
            pos_images += has_landslide(s.mask)
    mean = total / count
    notes = []
    if not ds.has_masks:
        notes.append("no masks: usable for prediction only")
    return DatasetReport(
        root=str(root),
        layout="landslide4sense" if type(ds).__name__ == "L4SDataset" else "image-folder",
        band_set=ds.band_set.name,
        n_images=len(ds),
        n_masks=n_masks,
        shapes=dict(shapes),
        band_min=dict(zip(bands, lo.tolist())),
        band_max=dict(zip(bands, hi.tolist())),
        band_mean=dict(zip(bands, mean.tolist())),
        landslide_pixel_fraction=pos_pixels / all_pixels if n_masks else None,
        positive_image_fraction=pos_images / n_masks if n_masks else None,
        georeferenced=georef,
        notes=notes,
    )
