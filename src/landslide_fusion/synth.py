"""Generated Landslide4Sense-like data whose two views each explain part of the risk.

Used by the tests and the demo (the real Landslide4Sense masks are not redistributable here).

**Imagery.** Each patch is a smooth random terrain (DEM, and slope from its gradient) under a
vegetation cover; landslides are irregular blobs placed on steep terrain where vegetation is
stripped (bare, bright in the visible and SWIR bands, dark in NIR: low NDVI) and the scarp steepens
the slope. Imagery does not see everything, as on real scenes:

* a share :data:`FAINT_RATE` of landslide patches hold *faint* landslides (old scars under
  regrowth, shadow): their spectral and slope contrast is 10-35 % of a fresh one's, inside the
  variation of the vegetated ground, so a model cannot find them from the pixels;
* a share :data:`LOOKALIKE_RATE` of landslide-free patches hold a *look-alike* on steep ground (a
  fresh road cut, a quarry, bare rock): spectrally and topographically a landslide, unlabelled;
* bare fields on *flat* terrain (half of all patches) are look-alikes a model can rule out with
  the slope band.

**Conditioning factors.** The region table (:func:`synth_region_table`) carries rainfall, fault
and road distance, aspect and lithology, related to the label through the non-linear
:func:`susceptibility` (a rainfall threshold, a decay with fault distance, a preference for
one aspect, weak rock, road cuts) and drawn independently of the imagery given the label. So each
view is informative and imperfect, their errors are independent, and fusing them beats either;
LightGBM can follow the non-linear shapes a logistic regression on the raw columns cannot.

Value ranges follow the released, pre-scaled Landslide4Sense files (Sentinel-2 bands ~0.3-6.8
with means near 1.0-1.5, slope 0-2.7, DEM 0.6-2.2). About 60 % of patches hold a landslide and
about 2 % of all pixels are landslide pixels. :func:`write_synth_scene` lays generated patches
side by side into one georeferenced GeoTIFF with region polygons, for the scene commands.

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
from .domains import BAND_SET_TAG, SCALE_TAG
from .io.atomic import output_dir
from .io.folder import write_image_folder_sample
from .io.geojson import box_geometry, write_geojson
from .io.l4s import write_l4s_patch
from .io.raster import write_geotiff
from .io.sample import GeoInfo
from .io.tables import write_table
from .regions import has_landslide

__all__ = [
    "synth_patch",
    "synth_region_table",
    "synth_fusion_regions",
    "write_synth_l4s",
    "write_synth_folder",
    "susceptibility",
    "write_synth_scene",
    "SynthSummary",
    "POSITIVE_PATCH_RATE",
    "FAINT_RATE",
    "LOOKALIKE_RATE",
]

POSITIVE_PATCH_RATE = 0.6
#: Share of landslide patches whose landslides imagery barely shows (contrast x 0.10-0.35).
FAINT_RATE = 0.2
#: Share of landslide-free patches holding a landslide look-alike on steep ground.
LOOKALIKE_RATE = 0.2
#: Mean of B1..B12 over the released Landslide4Sense sample patches.
S2_MEAN = np.array([1.03, 1.06, 1.12, 1.24, 1.29, 1.07, 0.99, 1.00, 1.48, 1.42, 1.19, 1.28])
#: Change of B1..B12 from vegetated to bare ground: brighter visible and SWIR, darker NIR.
S2_BARE_SHIFT = np.array([0.05, 0.30, 0.40, 0.55, 0.25, -0.25, -0.35, -0.40, -0.10, 0.0, 0.55, 0.65])
PIXEL_SIZE_M = 10.0
#: Where :func:`write_synth_scene` lays its scene: UTM zone 46N, near Rangamati (Bangladesh).
SCENE_CRS = "EPSG:32646"
#: The scene's top-left corner (west, north) in metres of :data:`SCENE_CRS`.
SCENE_ORIGIN = (371000.0, 2478000.0)


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
    """One (14, size, size) float32 patch and its (size, size) uint8 mask (see the module docstring).

    A landslide's contrast is ``visibility`` times a fresh scar's: bareness ``0.95 v`` and a scarp
    adding ``0.35 v`` to the slope, with ``v ~ U(0.75, 1)`` or, for a faint patch (probability
    :data:`FAINT_RATE`), ``v ~ U(0.10, 0.35)``. A look-alike (probability :data:`LOOKALIKE_RATE`
    on landslide-free patches) is a fresh scar on steep ground without a label.
    """
    if positive is None:
        positive = bool(rng.random() < POSITIVE_PATCH_RATE)
    dem01 = _field(rng, size, size / 6)
    gy, gx = np.gradient(dem01 * size / 8)
    grad = np.hypot(gx, gy)
    slope = np.clip(grad / max(np.percentile(grad, 99), 1e-6), 0, 1) * 2.4
    bare = 0.35 * _field(rng, size, 4.0) ** 2
    steep = slope > np.percentile(slope, 70)
    mask = np.zeros((size, size), dtype=bool)
    scar = np.zeros((size, size))  # fresh-scar contrast 0..1: labelled landslides and look-alikes
    if positive:
        visibility = rng.uniform(0.10, 0.35) if rng.random() < FAINT_RATE else rng.uniform(0.75, 1.0)
        for _ in range(int(rng.integers(1, 4))):
            area = rng.uniform(0.01, 0.028) * size * size
            mask |= _blob(rng, size, _pick(rng, steep), area)
        if not mask.any():
            mask[_pick(rng, steep)] = True
        scar = visibility * mask
    elif rng.random() < LOOKALIKE_RATE:
        scar = 1.0 * _blob(rng, size, _pick(rng, steep), rng.uniform(0.01, 0.028) * size * size)
    if rng.random() < 0.5:
        flat = slope < np.percentile(slope, 30)
        field = _blob(rng, size, _pick(rng, flat), rng.uniform(0.01, 0.03) * size * size) & ~mask
        bare = np.maximum(bare, 0.85 * field)
    bare = np.maximum(bare, 0.95 * scar)
    slope = np.clip(slope + 0.35 * scar, 0, 2.7)
    noise = rng.standard_normal((12, size, size)) * 0.04
    s2 = S2_MEAN[:, None, None] * (1 + noise) + S2_BARE_SHIFT[:, None, None] * bare[None]
    dem = 0.6 + 1.6 * dem01
    image = np.concatenate([np.clip(s2, 0.05, None), slope[None], dem[None]]).astype(np.float32)
    return image, mask.astype(np.uint8)


def _conditions(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """``n`` draws of the conditioning factors, whatever the label (the prior)."""
    rock = rng.choice(np.array(["shale", "granite", "limestone", "sandstone"]), n, p=[0.3, 0.25, 0.25, 0.2])
    return pd.DataFrame(
        {
            "rainfall_mm": rng.normal(1150, 200, n),
            "fault_distance_m": np.exp(rng.normal(np.log(1200), 0.9, n)),
            "river_distance_m": np.exp(rng.normal(np.log(400), 0.8, n)),
            "road_distance_m": rng.exponential(800, n),
            "aspect_deg": rng.uniform(0, 360, n),
            "lithology": pd.Categorical(rock),
        }
    )


def susceptibility(factors: pd.DataFrame) -> np.ndarray:
    """Log-odds of a landslide given a region's conditioning factors, as generated here:

    ``3.5 s((R - 1200) / 60) + 2.5 exp(-F / 600) + 2 cos(A - 180) + 1.2 [shale] + 0.8 [D < 200] - 3``

    with ``s`` the logistic function, ``R`` rainfall (mm; a threshold above which soils saturate),
    ``F`` fault distance (m; fractured rock near faults), ``A`` aspect (degrees; south-facing
    slopes, here the wet windward side) and ``D`` road distance (m; road cuts). The shapes follow
    the usual conditioning factors of susceptibility studies; the numbers are illustrative, not
    fitted to any region. River distance is noise.
    """
    f = factors
    rain = 1 / (1 + np.exp(-(f["rainfall_mm"].to_numpy(float) - 1200) / 60))
    return (
        3.5 * rain
        + 2.5 * np.exp(-f["fault_distance_m"].to_numpy(float) / 600)
        + 2.0 * np.cos(np.radians(f["aspect_deg"].to_numpy(float) - 180))
        + 1.2 * (f["lithology"].astype(str).to_numpy() == "shale")
        + 0.8 * (f["road_distance_m"].to_numpy(float) < 200)
        - 3.0
    )


def synth_region_table(ids: list[str], labels: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Per-region conditioning factors drawn given ``labels``.

    Columns: ``region_id``, ``x``/``y`` (map units, patches of 128 px laid on a grid),
    ``rainfall_mm``, ``fault_distance_m``, ``river_distance_m``, ``road_distance_m``,
    ``aspect_deg``, ``lithology`` (categorical) and the label ``landslide``.

    The factors of each region are drawn from a pool of ``10 n`` draws of the prior without
    replacement, with weight ``p`` for a landslide region and ``1 - p`` for the others
    (``p = sigmoid(susceptibility)``), so ``P(landslide | factors)`` follows
    :func:`susceptibility` up to a constant shift of the log-odds (the label rate is the images').
    """
    rng = np.random.default_rng(seed + 7919)
    y = np.asarray(labels, dtype=int)
    n = len(ids)
    pool = _conditions(rng, 10 * max(n, 1))
    p = 1 / (1 + np.exp(-susceptibility(pool)))
    pos = rng.choice(len(pool), int(y.sum()), replace=False, p=p / p.sum())
    rest = np.setdiff1d(np.arange(len(pool)), pos)
    neg = rng.choice(rest, n - len(pos), replace=False, p=(1 - p[rest]) / (1 - p[rest]).sum())
    pick = np.empty(n, dtype=int)
    pick[y == 1], pick[y == 0] = pos, neg
    cols = int(np.ceil(np.sqrt(n)))
    step = 128 * PIXEL_SIZE_M
    factors = pool.iloc[pick].reset_index(drop=True)
    return pd.DataFrame(
        {
            "region_id": ids,
            "x": (np.arange(n) % cols) * step + step / 2,
            "y": (np.arange(n) // cols) * step + step / 2,
            **{c: factors[c] for c in factors.columns},
            "landslide": y,
        }
    )


def synth_fusion_regions(
    n: int = 400, seed: int = 0, tabular_signal: float = 1.2, image_signal: float = 1.2, positive_rate: float = 0.4
) -> pd.DataFrame:
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
    return pd.DataFrame(
        {
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
        }
    )


@dataclass(frozen=True)
class SynthSummary:
    """What a ``write_synth_*`` wrote: the folder, patch counts, the landslide pixel share and the
    region table; ``scene`` for :func:`write_synth_scene`."""

    root: Path
    n_patches: int
    positive_patches: int
    landslide_pixel_fraction: float
    table: Path
    scene: Path | None = None


def _generate(n: int, size: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """``n`` patches, their masks, and the patches' labels (1: holds a landslide)."""
    rng = np.random.default_rng(seed)
    pairs = [synth_patch(rng, size) for _ in range(n)]
    masks = [p[1] for p in pairs]
    return [p[0] for p in pairs], masks, np.array([int(has_landslide(m)) for m in masks])


def _summary(root: str | os.PathLike[str], masks: list[np.ndarray], labels: np.ndarray, **extra: Path) -> SynthSummary:
    root = Path(root)
    return SynthSummary(
        root, len(masks), int(labels.sum()), float(np.mean([m.mean() for m in masks])), root / "regions.csv", **extra
    )


def write_synth_l4s(
    root: str | os.PathLike[str], n: int = 64, size: int = 128, seed: int = 0, overwrite: bool = False
) -> SynthSummary:
    """Write ``n`` generated patches in the Landslide4Sense layout plus ``regions.csv``.

    Region ids are the sample ids (``image_N``), so the table joins with the images.
    """
    images, masks, labels = _generate(n, size, seed)
    ids = [f"image_{i}" for i in range(1, n + 1)]
    with output_dir(root, overwrite) as tmp:
        for i, (img, m) in enumerate(zip(images, masks), start=1):
            write_l4s_patch(tmp, i, img, m)
        write_table(synth_region_table(ids, labels, seed), tmp / "regions.csv")
    return _summary(root, masks, labels)


def write_synth_folder(
    root: str | os.PathLike[str], n: int = 32, size: int = 96, seed: int = 0, overwrite: bool = False
) -> SynthSummary:
    """Write generated patches as an RGB image folder (PNG, ``images/`` + ``masks/`` + splits).

    RGB is B4/B3/B2 scaled to 0-255; ``splits/train.txt`` and ``splits/val.txt`` hold an 80/20 split.
    """
    images, masks, labels = _generate(n, size, seed)
    rgb_idx = [L4S14.index(L4S14.band_for(r)) for r in (Role.RED, Role.GREEN, Role.BLUE)]
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
    return _summary(root, masks, labels)


def write_synth_scene(
    root: str | os.PathLike[str], n: int = 16, size: int = 64, seed: int = 0, overwrite: bool = False
) -> SynthSummary:
    """Write one georeferenced scene of generated patches laid side by side, for the scene commands.

    ``n`` patches of ``size`` px (``n`` rounded up to fill a grid of ``ceil(sqrt(n))`` columns),
    10 m pixels in :data:`SCENE_CRS` from :data:`SCENE_ORIGIN`. Files in ``root``:

    * ``scene.tif``: float32, 14 bands described ``B1 ... B12, SLOPE, DEM`` (the ``l4s14`` names,
      so a run trained on Landslide4Sense-like data reads it without a band map) and tagged
      ``DOMAIN_SCALE=l4s``, ``DOMAIN_BAND_SET=l4s14``;
    * ``mask.tif``: the truth (uint8 0/1);
    * ``regions.csv``: the region table of :func:`synth_region_table`, one row per patch, ``x, y``
      its centre in the scene's CRS;
    * ``regions.geojson``: each patch's footprint with the table's columns (WGS 84, RFC 7946).
    """
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    images, masks, labels = _generate(rows * cols, size, seed)
    scene = np.zeros((len(L4S14), rows * size, cols * size), np.float32)
    truth = np.zeros((rows * size, cols * size), np.uint8)
    for k, (img, m) in enumerate(zip(images, masks)):
        r, c = divmod(k, cols)
        scene[:, r * size : (r + 1) * size, c * size : (c + 1) * size] = img
        truth[r * size : (r + 1) * size, c * size : (c + 1) * size] = m
    west, north = SCENE_ORIGIN
    step = size * PIXEL_SIZE_M
    cells = [divmod(k, cols) for k in range(rows * cols)]
    table = synth_region_table([f"cell_{k + 1}" for k in range(rows * cols)], labels, seed).assign(
        x=[west + (c + 0.5) * step for _, c in cells], y=[north - (r + 0.5) * step for r, _ in cells]
    )
    footprints = [
        box_geometry(west + c * step, north - (r + 1) * step, west + (c + 1) * step, north - r * step) for r, c in cells
    ]
    geo = GeoInfo(SCENE_CRS, (PIXEL_SIZE_M, 0.0, west, 0.0, -PIXEL_SIZE_M, north))
    with output_dir(root, overwrite) as tmp:
        write_geotiff(
            tmp / "scene.tif", scene, geo, descriptions=L4S14.bands, tags={SCALE_TAG: "l4s", BAND_SET_TAG: L4S14.name}
        )
        write_geotiff(tmp / "mask.tif", truth, geo)
        write_table(table, tmp / "regions.csv")
        write_geojson(tmp / "regions.geojson", table, footprints, SCENE_CRS)
    return _summary(root, masks, labels, scene=Path(root) / "scene.tif")
