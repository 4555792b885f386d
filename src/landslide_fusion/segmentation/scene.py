"""Scene prediction: any-size rasters in, georeferenced probability and mask GeoTIFFs out.

The scene is cut into panels of :data:`PANEL_WIDTH` columns (aligned with the output's 256 px
tiles) and each panel is swept top to bottom: read in blocks of one window height and at most 16
windows width, written in strips one window high (rasterio windows). A panel predicts every
window that overlaps its columns and writes only its own columns, so windows on a panel border
are predicted by both neighbours (3.5 % more windows at 8192 px) and the result equals one
full-width sweep. Memory holds one panel's window-high buffers and one block, whatever the scene's width
and height.
Windows overlap by ``overlap`` of their size; each window's probabilities are weighted by a
cosine taper ``w(u) = max(sin(pi (u + 0.5) / (2 o)), eps)`` over the ``o`` overlap pixels at each
side (1 inside) and the weighted sum is divided by the summed weights, so neighbouring windows
blend without seams. Scenes smaller than one window are padded by reflection. Pixels that are
nodata in every input band (or NaN in any) are predicted from zeros and written as nodata
(NaN probability, mask 255).

GDAL's block cache is capped at :data:`GDAL_CACHE_MB` for the same reason.

Outputs in ``OUT/``: ``probability.tif`` (float32), ``mask.tif`` (uint8, 1 = landslide, at the
run's tuned threshold), both tiled, deflate-compressed, with the input's CRS and transform;
``landslides.geojson`` (one polygon per connected landslide area, 8-connectivity, with its area
in map units and mean probability); ``scene.json`` (summary).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import BandError, ConfigError, DataError
from ..io.atomic import output_dir, write_json
from ..io.geojson import write_features
from .infer import SegmentationRun

__all__ = [
    "predict_scene", "resolve_band_map", "window_starts", "blend_weights", "panels", "SCENE_SUFFIXES", "polygonize",
    "PANEL_WIDTH",
]

SCENE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".vrt")
#: GDAL's block cache while predicting a scene (MB). GDAL's default, 5 % of RAM, lets the cache,
#: and so the process, grow with the scene up to that size.
GDAL_CACHE_MB = 64
#: Windows read and predicted together along a strip: bounds memory for wide scenes.
_WINDOWS_PER_READ = 16
#: Columns per panel (a multiple of the 256 px output tiles, so every tile is written by one panel).
PANEL_WIDTH = 2048


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Start offsets of windows covering ``[0, length)``; the last window ends at ``length``."""
    if length <= window:
        return [0]
    starts = list(range(0, length - window, stride))
    return starts + [length - window]


def blend_weights(window: int, overlap: int, eps: float = 1e-3) -> np.ndarray:
    """(window, window) separable cosine taper over ``overlap`` pixels at each side (see module doc)."""
    ramp = np.ones(window, np.float32)
    if overlap > 0:
        u = np.arange(overlap, dtype=np.float32)
        taper = np.maximum(np.sin(np.pi * (u + 0.5) / (2 * overlap)), eps)
        ramp[:overlap] = taper
        ramp[window - overlap:] = np.minimum(ramp[window - overlap:], taper[::-1])
    return np.outer(ramp, ramp)


def panels(width: int, starts: list[int], window: int, panel: int = PANEL_WIDTH) -> list[tuple[int, int, list[int]]]:
    """``(first, end, windows)`` per panel: the columns ``[first, end)`` it writes (cut every
    ``panel`` columns) and the starts of the windows that overlap them."""
    edges = list(range(0, width, panel)) + [width]
    return [(a, b, [s for s in starts if s < b and s + window > a]) for a, b in zip(edges, edges[1:])]


def resolve_band_map(model_bands: tuple[str, ...], count: int, descriptions: tuple[str | None, ...],
                     band_map: tuple[str, ...] | dict[str, int | str], source: str) -> list[int]:
    """0-based input band index feeding each model band.

    ``band_map`` maps model band -> input band (1-based number or description). Without one,
    bands are matched by description when every model band is described, else taken in order
    when the counts agree.
    """
    names = {d.upper(): i for i, d in enumerate(descriptions) if d}
    if isinstance(band_map, (tuple, list)):
        pairs = {}
        for item in band_map:
            if "=" not in item:
                raise ConfigError(f"band map entry {item!r} must look like MODEL=INPUT, e.g. RED=3")
            k, v = item.split("=", 1)
            pairs[k.strip()] = v.strip()
        band_map = pairs
    if not band_map:
        if all(b.upper() in names for b in model_bands):
            return [names[b.upper()] for b in model_bands]
        if count == len(model_bands):
            return list(range(count))
        raise BandError(f"{source}: {count} bands, the model needs {len(model_bands)} ({', '.join(model_bands)}); "
                        "pass --band-map MODEL=INPUT,... (e.g. RED=3,GREEN=2,BLUE=1)")
    unknown = [k for k in band_map if k not in model_bands]
    if unknown:
        raise BandError(f"band map names {', '.join(unknown)}, which the model does not use; model bands: {', '.join(model_bands)}")
    missing = [b for b in model_bands if b not in band_map]
    if missing:
        raise BandError(f"{source}: no input band for model band(s) {', '.join(missing)}; add them to --band-map")
    out = []
    for b in model_bands:
        v = str(band_map[b])
        if v.isdigit():
            if not 1 <= int(v) <= count:
                raise BandError(f"{source}: band map {b}={v} but the file has bands 1..{count}")
            out.append(int(v) - 1)
        elif v.upper() in names:
            out.append(names[v.upper()])
        else:
            raise BandError(f"{source}: band map {b}={v}: no band numbered or described {v!r} "
                            f"(descriptions: {', '.join(d or '-' for d in descriptions)})")
    return out


@dataclass
class _Accumulator:
    """Weighted probability sums, weights and valid-pixel flags for the scene rows
    ``[top, top + height)``, full width."""

    top: int
    prob: np.ndarray
    weight: np.ndarray
    valid: np.ndarray

    @classmethod
    def empty(cls, height: int, width: int) -> "_Accumulator":
        return cls(0, np.zeros((height, width), np.float32), np.zeros((height, width), np.float32),
                   np.ones((height, width), bool))

    def advance(self, n: int) -> None:
        """Drop the first ``n`` rows (written out) and start ``n`` fresh rows below, in place."""
        for a, fresh in ((self.prob, 0.0), (self.weight, 0.0), (self.valid, True)):
            a[:-n] = a[n:]
            a[-n:] = fresh
        self.top += n


def _profile(src, dtype: str, nodata: float) -> dict:
    p = {"driver": "GTiff", "width": src.width, "height": src.height, "count": 1, "dtype": dtype, "nodata": nodata,
         "compress": "deflate", "crs": src.crs, "transform": src.transform}
    if src.width >= 256 and src.height >= 256:
        p.update(tiled=True, blockxsize=256, blockysize=256)
    return p


def _read_block(src, bands: list[int], row: int, col: int, height: int, width: int,
                nodata: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Bands (C, h, w) of a block, with nodata/NaN pixels zeroed, and its valid-pixel map."""
    from rasterio.windows import Window

    win = Window(col, row, min(width, src.width - col), min(height, src.height - row))
    x = src.read([b + 1 for b in bands], window=win).astype(np.float32)
    bad = ~np.isfinite(x).all(0)
    if nodata is not None:
        bad |= (x == nodata).all(0)
    x[:, bad] = 0.0
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0), ~bad


def _predict_windows(run: SegmentationRun, strip: np.ndarray, window: int, starts: list[int], tta: str | None,
                     batch_size: int) -> list[np.ndarray]:
    c, h, w = strip.shape
    t = torch.from_numpy(strip)[None]
    pad_h, pad_w = max(0, window - h), max(0, window - w)
    if pad_h or pad_w:
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        t = F.pad(t, (0, pad_w, 0, pad_h), mode=mode)
    tiles = torch.cat([t[..., :, s - starts[0]:s - starts[0] + window] for s in starts])
    return list(run.predict_proba(tiles, tta, batch_size).numpy())


@dataclass(frozen=True)
class _Tiling:
    window: int
    stride: int
    weights: np.ndarray  # (window, window) blend weights
    rows: list[int]  # window start rows


def _predict_panel(run: SegmentationRun, src, bands: list[int], nodata: float | None, tiling: _Tiling, first: int,
                   end: int, starts: list[int], outputs: tuple, tta: str | None, batch_size: int) -> np.ndarray:
    """Sweep one panel top to bottom: predict the windows at ``starts`` and write columns
    ``[first, end)`` of the probability, mask and 0/1 outputs. Returns (landslide, valid) pixel counts."""
    from rasterio.windows import Window

    window, weights = tiling.window, tiling.weights
    left = starts[0]
    acc = _Accumulator.empty(window + tiling.stride, min(src.width, starts[-1] + window) - left)
    own = slice(first - left, end - left)
    counts = np.zeros(2, np.int64)

    def flush(upto: int) -> None:
        n = upto - acc.top
        if n <= 0:
            return
        p = acc.prob[:n, own] / np.maximum(acc.weight[:n, own], 1e-12)
        ok = acc.valid[:n, own]
        m = np.where(ok, p >= run.threshold, 255).astype(np.uint8)
        hit = m == 1
        win = Window(first, acc.top, end - first, n)
        for dst, band in zip(outputs, (np.where(ok, p, np.float32(np.nan)), m, hit.astype(np.uint8))):
            dst.write(band, 1, window=win)
        counts[0] += int(hit.sum())
        counts[1] += int(ok.sum())
        acc.advance(n)

    for r in tiling.rows:
        flush(r)
        off = r - acc.top
        for group in (starts[i:i + _WINDOWS_PER_READ] for i in range(0, len(starts), _WINDOWS_PER_READ)):
            c0 = group[0]
            block, ok = _read_block(src, bands, r, c0, window, group[-1] + window - c0, nodata)
            h, bw = ok.shape
            acc.valid[off:off + h, c0 - left:c0 - left + bw] = ok
            for s, p in zip(group, _predict_windows(run, block, window, group, tta, batch_size)):
                w = min(window, src.width - s)
                acc.prob[off:off + h, s - left:s - left + w] += (p * weights)[:h, :w]
                acc.weight[off:off + h, s - left:s - left + w] += weights[:h, :w]
    flush(src.height)
    return counts


def predict_scene(
    run: str | os.PathLike[str] | SegmentationRun, scene: str | os.PathLike[str], out: str | os.PathLike[str], *,
    band_map: tuple[str, ...] | dict[str, int | str] | None = None, window: int | None = None, overlap: float | None = None,
    batch_size: int | None = None, tta: str | None = None, nodata: float | None = None, polygons: bool = True,
    engine: str = "torch", overwrite: bool = False,
) -> dict:
    """Predict a whole scene with a sliding window (see the module docstring)."""
    import rasterio
    import rasterio.errors

    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)  # PNG scenes have no CRS
        return _predict_scene(run, scene, out, band_map=band_map, window=window, overlap=overlap, batch_size=batch_size,
                              tta=tta, nodata=nodata, polygons=polygons, engine=engine, overwrite=overwrite)


def _predict_scene(run, scene, out, *, band_map, window, overlap, batch_size, tta, nodata, polygons, engine,
                   overwrite) -> dict:
    import rasterio
    from rasterio.errors import RasterioIOError

    run = run if isinstance(run, SegmentationRun) else SegmentationRun.load(run, engine=engine)
    sc = run.config.scene
    scene = Path(scene)
    if not scene.is_file():
        raise DataError(f"{scene}: file not found; pass a GeoTIFF or PNG scene")
    window = window or sc.window or run.config.data.size or 128
    overlap = sc.overlap if overlap is None else overlap
    if not 0 <= overlap < 1:
        raise ConfigError(f"overlap {overlap} must be in [0, 1): the fraction of a window shared with its neighbour")
    if window % 16:
        raise ConfigError(f"window {window} must be a multiple of 16 (the network downsamples 4 times); try {16 * math.ceil(window / 16)}")
    ov = int(round(overlap * window))
    stride = window - ov
    batch_size = batch_size or sc.batch_size
    try:
        src = rasterio.open(scene)
    except RasterioIOError as e:
        raise DataError(f"{scene}: not a readable raster ({e})") from None
    with src, output_dir(out, overwrite) as tmp:
        bands = resolve_band_map(run.bands, src.count, tuple(src.descriptions), band_map or sc.band_map, str(scene))
        nodata = nodata if nodata is not None else (sc.nodata if sc.nodata is not None else src.nodata)
        tiling = _Tiling(window, stride, blend_weights(window, ov), window_starts(src.height, window, stride))
        counts = np.zeros(2, np.int64)  # landslide, valid pixels
        cols = window_starts(src.width, window, stride)
        with rasterio.open(tmp / "probability.tif", "w", **_profile(src, "float32", float("nan"))) as prob_dst, \
                rasterio.open(tmp / "mask.tif", "w", **_profile(src, "uint8", 255)) as mask_dst, \
                rasterio.open(tmp / ".landslide.tif", "w", **_profile(src, "uint8", None)) as binary_dst:
            outputs = (prob_dst, mask_dst, binary_dst)
            for first, end, starts in panels(src.width, cols, window, PANEL_WIDTH):
                counts += _predict_panel(run, src, bands, nodata, tiling, first, end, starts, outputs, tta, batch_size)
        landslide_px, valid_px = (int(c) for c in counts)
        counted = [0]

        def features():
            for f in polygonize(tmp / ".landslide.tif", tmp / "probability.tif"):
                counted[0] += 1
                yield f["properties"], f["geometry"]

        if polygons:
            write_features(tmp / "landslides.geojson", features(), src.crs.to_string() if src.crs else None)
        n_polygons = counted[0]
        (tmp / ".landslide.tif").unlink()
        summary = {"scene": str(scene), "out": str(out), "width": src.width, "height": src.height, "window": window,
                   "overlap": overlap, "windows": len(tiling.rows) * len(cols), "threshold": run.threshold,
                   "landslide_pixels": landslide_px, "valid_pixels": valid_px,
                   "landslide_fraction": landslide_px / max(valid_px, 1), "polygons": n_polygons,
                   "bands": {b: int(i) + 1 for b, i in zip(run.bands, bands)}, "engine": engine}
        write_json(tmp / "scene.json", summary)
    return summary


def _ring_area(ring: list) -> float:
    xy = np.asarray(ring, dtype=float)
    return 0.5 * abs(float(np.dot(xy[:-1, 0], xy[1:, 1]) - np.dot(xy[1:, 0], xy[:-1, 1])))


def polygonize(mask_path: str | os.PathLike[str], prob_path: str | os.PathLike[str], rows: int = 256) -> Iterator[dict]:
    """One GeoJSON feature per connected landslide area (8-connectivity) of a 0/1 GeoTIFF, with
    ``area`` (squared map units: shoelace formula, holes subtracted), ``pixels`` and
    ``mean_probability``.

    The raster is cut into blocks of at least ``rows`` rows that each end on a row without
    landslide pixels, so no area crosses a block border and every block is polygonised on its own,
    cropped to the columns that hold landslides: memory holds one block, not the scene (unless a
    landslide area spans the whole scene)."""
    import rasterio
    from rasterio.features import shapes
    from rasterio.windows import Window
    from scipy import ndimage

    with rasterio.open(mask_path) as m, rasterio.open(prob_path) as p:
        def read(r0: int, r1: int) -> np.ndarray:
            return m.read(1, window=Window(0, r0, m.width, r1 - r0)) == 1

        next_id, r0 = 1, 0
        while r0 < m.height:
            r1 = min(r0 + rows, m.height)
            block = read(r0, r1)
            while r1 < m.height and block[-1].any():
                extra = read(r1, min(r1 + rows, m.height))
                empty = np.flatnonzero(~extra.any(1))
                cut = int(empty[0]) + 1 if len(empty) else len(extra)
                block, r1 = np.vstack([block, extra[:cut]]), r1 + cut
            used = np.flatnonzero(block.any(0))
            if len(used):
                c0, c1 = int(used[0]), int(used[-1]) + 1  # label only the columns that hold landslides
                block = block[:, c0:c1]
                labels, n = ndimage.label(block, structure=np.ones((3, 3), bool))
                win = Window(c0, r0, c1 - c0, r1 - r0)
                prob = np.nan_to_num(p.read(1, window=win))
                counts = np.bincount(labels.ravel(), minlength=n + 1)
                sums = np.bincount(labels.ravel(), weights=prob.ravel(), minlength=n + 1)
                for geom, value in shapes(labels.astype(np.int32), mask=block, connectivity=8,
                                          transform=m.window_transform(win)):
                    k = int(value)
                    rings = geom["coordinates"]
                    area = _ring_area(rings[0]) - sum(_ring_area(r) for r in rings[1:])
                    yield {"geometry": geom, "properties": {"id": next_id + k - 1, "area": area, "pixels": int(counts[k]),
                                                            "mean_probability": float(sums[k] / counts[k])}}
                next_id += n
            r0 = r1
