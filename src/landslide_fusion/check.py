"""``landslide data check``: validate a dataset folder and summarise it."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from .io.open import open_dataset
from .io.validate import NanPolicy
from .regions import has_landslide

__all__ = ["DatasetReport", "check_dataset", "shape_summary"]


def shape_summary(shapes: Counter[tuple[int, ...]]) -> dict:
    """How many images and distinct (C, H, W) shapes, the band counts, and min/median/max of the
    images' height and width (medians over images, not over distinct shapes)."""
    dims = np.array([s for s, n in shapes.items() for _ in range(n)]).reshape(-1, 3)

    def spread(v: np.ndarray) -> dict[str, float]:
        return {"min": int(v.min()), "median": float(np.median(v)), "max": int(v.max())}

    return {
        "images": int(len(dims)),
        "distinct": len(shapes),
        "bands": sorted({int(c) for c in dims[:, 0]}),
        "height": spread(dims[:, 1]),
        "width": spread(dims[:, 2]),
    }


@dataclass
class DatasetReport:
    """What ``data check`` found: counts, a summary of image shapes (``shape_counts``, every
    distinct ``CxHxW`` with its count, only when asked for), per-band ranges and label balance."""

    root: str
    layout: str
    band_set: str
    n_images: int
    n_masks: int
    shapes: dict
    band_min: dict[str, float]
    band_max: dict[str, float]
    band_mean: dict[str, float]
    landslide_pixel_fraction: float | None
    positive_image_fraction: float | None
    georeferenced: int = 0
    notes: list[str] = field(default_factory=list)
    shape_counts: dict[str, int] | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.shape_counts is None:
            del d["shape_counts"]
        return d

    def _shape_text(self) -> str:
        s = self.shapes
        h, w = s["height"], s["width"]
        if s["distinct"] == 1:
            return f"{s['bands'][0]}x{h['min']}x{w['min']} (all {s['images']} images)"
        text = (
            f"{s['distinct']} distinct over {s['images']} image(s); {'/'.join(map(str, s['bands']))} band(s), "
            f"height {h['min']}-{h['max']} (median {h['median']:g}), "
            f"width {w['min']}-{w['max']} (median {w['median']:g})"
        )
        if self.shape_counts is not None:
            text += "".join(f"\n    {shape}: {n}" for shape, n in self.shape_counts.items())
        elif s["distinct"] > 1:
            text += "; every shape with --shapes"
        return text

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
    root: str | os.PathLike[str],
    split: str | None = None,
    nan_policy: NanPolicy | str = NanPolicy.RAISE,
    list_shapes: bool = False,
) -> DatasetReport:
    """Read every sample of ``root`` (validating it) and summarise the set; ``list_shapes`` adds
    every distinct image shape with its count (most frequent first).

    Raises the reader's :class:`~landslide_fusion.errors.DataError` on the first bad file.
    """
    ds = open_dataset(root, split=split, nan_policy=nan_policy)
    shapes: Counter[tuple[int, ...]] = Counter()
    lo = hi = total = None
    count = 0
    pos_pixels = all_pixels = pos_images = n_masks = georef = 0
    bands: tuple[str, ...] = ()
    for s in ds:
        bands = s.bands
        shapes[tuple(s.image.shape)] += 1
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
        shapes=shape_summary(shapes),
        band_min=dict(zip(bands, lo.tolist())),
        band_max=dict(zip(bands, hi.tolist())),
        band_mean=dict(zip(bands, mean.tolist())),
        landslide_pixel_fraction=pos_pixels / all_pixels if n_masks else None,
        positive_image_fraction=pos_images / n_masks if n_masks else None,
        georeferenced=georef,
        notes=notes,
        shape_counts={"x".join(map(str, k)): n for k, n in shapes.most_common()} if list_shapes else None,
    )
