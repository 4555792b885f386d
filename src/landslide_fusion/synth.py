"""Generated Landslide4Sense-like data with a planted, learnable signal.

Used by the tests and the demo (the real Landslide4Sense masks are not redistributable here).
Each patch is a smooth random terrain (DEM, and slope from its gradient) under a vegetation
cover; landslides are irregular blobs placed on steep terrain where vegetation is stripped
(bare, bright in the visible and SWIR bands, dark in NIR: low NDVI). Bare fields on *flat*
terrain are added as look-alikes, so a model has to combine spectra and slope, as on real data.

Value ranges follow the released, pre-scaled Landslide4Sense files (Sentinel-2 bands ~0.3-6.8
with means near 1.0-1.5, slope 0-2.7, DEM 0.6-2.2). About 60 % of patches hold a landslide and
about 2 % of all pixels are landslide pixels. The matching region table carries conditioning
factors whose distribution shifts with the label independently of the image, so fusion of both
views has something to gain.

Everything is a pure function of ``seed``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter

from .bands import L4S14, Role
from .io.atomic import output_dir
from .io.folder import write_image_folder_sample
from .io.l4s import write_l4s_patch
from .io.tables import write_table
from .regions import has_landslide

__all__ = [
    "synth_patch",
    "synth_region_table",
    "synth_fusion_regions",
    "write_synth_l4s",
    "write_synth_folder",
    "SynthSummary",
    "POSITIVE_PATCH_RATE",
]

POSITIVE_PATCH_RATE = 0.6
#: Mean of B1..B12 over the released Landslide4Sense sample patches.
S2_MEAN = np.array([1.03, 1.06, 1.12, 1.24, 1.29, 1.07, 0.99, 1.00, 1.48, 1.42, 1.19, 1.28])
#: Change of B1..B12 from vegetated to bare ground: brighter visible and SWIR, darker NIR.
S2_BARE_SHIFT = np.array([0.05, 0.30, 0.40, 0.55, 0.25, -0.25, -0.35, -0.40, -0.10, 0.0, 0.55, 0.65])
PIXEL_SIZE_M = 10.0


def _field(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    f = gaussian_filter(rng.standard_normal((size, size)), sigma, mode="reflect")
    return (f - f.min()) / max(f.max() - f.min(), 1e-9)


def _blob(rng: np.random.Generator, size: int, centre: tuple[int, int], area: float) -> np.ndarray:
    """An irregular ellipse of about ``area`` pixels at ``centre``."""
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    aspect = rng.uniform(1.2, 2.5)
    ry = np.sqrt(area * aspect / np.pi)
    rx = ry / aspect
    theta = rng.uniform(0, np.pi)
    dy, dx = yy - centre[0], xx - centre[1]
    u = dy * np.cos(theta) + dx * np.sin(theta)
    v = -dy * np.sin(theta) + dx * np.cos(theta)
    r = (u / ry) ** 2 + (v / rx) ** 2
    wobble = 0.6 * (_field(rng, size, 3.0) - 0.5)
    return r + wobble < 1.0


def _pick(rng: np.random.Generator, where: np.ndarray) -> tuple[int, int]:
    idx = np.flatnonzero(where)
    k = int(idx[rng.integers(len(idx))])
    return divmod(k, where.shape[1])


def synth_patch(
    rng: np.random.Generator, size: int = 128, positive: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One (14, size, size) float32 patch and its (size, size) uint8 mask."""
    if positive is None:
        positive = bool(rng.random() < POSITIVE_PATCH_RATE)
    dem01 = _field(rng, size, size / 6)
    gy, gx = np.gradient(dem01 * size / 8)
    grad = np.hypot(gx, gy)
    slope = np.clip(grad / max(np.percentile(grad, 99), 1e-6), 0, 1) * 2.4
    bare = 0.35 * _field(rng, size, 4.0) ** 2
    mask = np.zeros((size, size), dtype=bool)
    if positive:
        steep = slope > np.percentile(slope, 70)
        for _ in range(int(rng.integers(1, 4))):
            area = rng.uniform(0.01, 0.028) * size * size
            mask |= _blob(rng, size, _pick(rng, steep), area)
        if not mask.any():
            mask[_pick(rng, steep)] = True
    if rng.random() < 0.5:
        flat = slope < np.percentile(slope, 30)
        field = _blob(rng, size, _pick(rng, flat), rng.uniform(0.01, 0.03) * size * size) & ~mask
        bare = np.maximum(bare, 0.85 * field)
    bare = np.maximum(bare, 0.95 * mask)
    slope = np.clip(slope + 0.35 * mask, 0, 2.7)
    noise = rng.standard_normal((12, size, size)) * 0.04
    s2 = S2_MEAN[:, None, None] * (1 + noise) + S2_BARE_SHIFT[:, None, None] * bare[None]
    dem = 0.6 + 1.6 * dem01
    image = np.concatenate([np.clip(s2, 0.05, None), slope[None], dem[None]]).astype(np.float32)
    return image, mask.astype(np.uint8)


def synth_region_table(ids: list[str], labels: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Per-region conditioning factors whose distribution shifts with ``labels``.

    Columns: ``region_id``, ``x``/``y`` (map units, patches laid on a grid), ``rainfall_mm``,
    ``fault_distance_m``, ``river_distance_m``, ``road_distance_m``, ``aspect_deg``,
    ``lithology`` (categorical) and the label ``landslide``. Signal lives in rainfall, fault
    distance and lithology; road distance and aspect are noise.
    """
    rng = np.random.default_rng(seed + 7919)
    y = np.asarray(labels, dtype=int)
    n = len(ids)
    cols = int(np.ceil(np.sqrt(n)))
    step = 128 * PIXEL_SIZE_M
    rock = np.where(
        rng.random(n) < np.where(y == 1, 0.55, 0.25),
        "shale",
        rng.choice(np.array(["granite", "limestone", "sandstone"]), n),
    )
    return pd.DataFrame(
        {
            "region_id": ids,
            "x": (np.arange(n) % cols) * step + step / 2,
            "y": (np.arange(n) // cols) * step + step / 2,
            "rainfall_mm": rng.normal(1100 + 160 * y, 170),
            "fault_distance_m": np.exp(rng.normal(np.log(1500) - 0.45 * y, 0.7)),
            "river_distance_m": np.exp(rng.normal(np.log(400) - 0.2 * y, 0.8)),
            "road_distance_m": rng.exponential(800, n),
            "aspect_deg": rng.uniform(0, 360, n),
            "lithology": pd.Categorical(rock),
            "landslide": y,
        }
    )


def synth_fusion_regions(n: int = 400, seed: int = 0, tabular_signal: float = 1.2, image_signal: float = 1.2,
                         positive_rate: float = 0.4) -> pd.DataFrame:
    """Paired base-model outputs per region, for fusion tests: ``id``, ``label``,
    ``tabular_probability`` and the image-side columns of
    :func:`~landslide_fusion.fusion.region_stats`.

    Each side draws its own latent score ``s = signal * label + N(0, 1)`` with independent noise,
    so with both signals > 0 the views carry independent evidence; ``signal = 0`` makes a side
    pure noise. Image statistics are monotone functions of the image latent plus small noise.
    """
    rng = np.random.default_rng(seed + 104729)
    y = (rng.random(n) < positive_rate).astype(int)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    st = tabular_signal * y + rng.standard_normal(n)
    si = image_signal * y + rng.standard_normal(n)
    jitter = lambda: 0.3 * rng.standard_normal(n)  # noqa: E731
    n_px = 128 * 128
    frac = sig(si - 4 + jitter()) * 0.2
    comps = rng.poisson(np.exp(0.5 * si))
    return pd.DataFrame({
        "id": [f"region_{i}" for i in range(n)],
        "label": y,
        "tabular_probability": sig(st - 0.5),
        "landslide_fraction": frac,
        "max_probability": sig(si + 1 + jitter()),
        "mean_probability": sig(si - 3 + jitter()),
        "p95_probability": sig(si - 1 + jitter()),
        "n_components": comps,
        "largest_component_px": np.round(frac * n_px * 0.6).astype(int),
        "largest_component_area": np.round(frac * n_px * 0.6) * PIXEL_SIZE_M**2,
        "mean_probability_in_mask": np.where(comps > 0, sig(si + 0.5 + jitter()), 0.0),
        "n_pixels": n_px,
    })


@dataclass(frozen=True)
class SynthSummary:
    root: Path
    n_patches: int
    positive_patches: int
    landslide_pixel_fraction: float
    table: Path


def _generate(n: int, size: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    pairs = [synth_patch(rng, size) for _ in range(n)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def write_synth_l4s(
    root: str | os.PathLike[str], n: int = 64, size: int = 128, seed: int = 0, overwrite: bool = False
) -> SynthSummary:
    """Write ``n`` generated patches in the Landslide4Sense layout plus ``regions.csv``.

    Region ids are the sample ids (``image_N``), so the table joins with the images.
    """
    images, masks = _generate(n, size, seed)
    labels = np.array([int(has_landslide(m)) for m in masks])
    ids = [f"image_{i}" for i in range(1, n + 1)]
    with output_dir(root, overwrite) as tmp:
        for i, (img, m) in enumerate(zip(images, masks), start=1):
            write_l4s_patch(tmp, i, img, m)
        write_table(synth_region_table(ids, labels, seed), tmp / "regions.csv")
    root = Path(root)
    return SynthSummary(root, n, int(labels.sum()), float(np.mean([m.mean() for m in masks])), root / "regions.csv")


def write_synth_folder(
    root: str | os.PathLike[str], n: int = 32, size: int = 96, seed: int = 0, overwrite: bool = False
) -> SynthSummary:
    """Write generated patches as an RGB image folder (PNG, ``images/`` + ``masks/`` + splits).

    RGB is B4/B3/B2 scaled to 0-255; ``splits/train.txt`` and ``splits/val.txt`` hold an 80/20 split.
    """
    images, masks = _generate(n, size, seed)
    rgb_idx = [L4S14.index(L4S14.band_for(r)) for r in (Role.RED, Role.GREEN, Role.BLUE)]
    labels = np.array([int(has_landslide(m)) for m in masks])
    ids = [f"ls_{i:04d}" if labels[i] else f"nls_{i:04d}" for i in range(n)]
    with output_dir(root, overwrite) as tmp:
        for stem, img, m in zip(ids, images, masks):
            rgb = np.clip(img[rgb_idx] / 2.2 * 255, 0, 255).astype(np.uint8)
            write_image_folder_sample(tmp, stem, rgb, m)
        (tmp / "splits").mkdir()
        cut = int(round(0.8 * n))
        (tmp / "splits" / "train.txt").write_text("\n".join(ids[:cut]) + "\n")
        (tmp / "splits" / "val.txt").write_text("\n".join(ids[cut:]) + "\n")
        write_table(synth_region_table(ids, labels, seed), tmp / "regions.csv")
    root = Path(root)
    return SynthSummary(root, n, int(labels.sum()), float(np.mean([m.mean() for m in masks])), root / "regions.csv")
