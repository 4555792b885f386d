"""Scene prediction: any-size rasters in, georeferenced probability and mask GeoTIFFs out.

The scene is cut into panels of :data:`PANEL_WIDTH` columns (aligned with the output's 256 px
tiles) and each panel is swept top to bottom: read in blocks of one window height and at most 16
windows width, written in strips one window high (rasterio windows). A panel predicts every
window that overlaps its columns and writes only its own columns, so windows on a panel border
are predicted by both neighbours (3.5 % more windows at 8192 px) and the result equals one
full-width sweep. Memory holds one panel's window-high buffers and one block, whatever the scene's width
and height.
Windows, blending and padding are those of every other prediction
(:mod:`~landslide_fusion.segmentation.inference.tiling`), so a scene predicts an image as ``segment predict``
on a folder does. Pixels that are nodata in every input band (or NaN in any) are predicted from
zeros and written as nodata (NaN probability, mask 255).

The mask is made in a second pass over the written probabilities, in blocks of
:data:`MASK_BLOCK` px with a halo of :func:`~landslide_fusion.regions.masks.morphology_halo`
pixels, by :func:`~landslide_fusion.regions.masks.landslide_mask` (the run's threshold, then its
``post.opening``/``post.closing``): the same mask a patch or an image gets, whatever the block
borders.

GDAL's block cache is capped at :data:`GDAL_CACHE_MB` for the same reason.

The scene's value scale is checked before the sweep (:meth:`.SegmentationRun.input_factors`, on
the pixels of 3 x 3 windows of :data:`PROBE` px spread over the scene): the scale its
``DOMAIN_SCALE`` tag declares (``landslide fetch`` writes it), ``uint8`` for 8-bit pixels, else the
run's, assumed and checked against the run's training values. Every block is read on the run's
scale (converted where the tag names another), or the scene is refused in one line.

Outputs in ``OUT/``: ``probability.tif`` (float32), ``mask.tif`` (uint8, 1 = landslide, at the
run's tuned threshold), both tiled, deflate-compressed, with the input's CRS and transform;
``landslides.geojson`` (one polygon per connected landslide area of the mask, 8-connectivity, with its area
in m^2 and ha and mean probability; WGS 84 GeoJSON); ``scene.json`` (summary).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...domains import declared_scale
from ...errors import BandError, ConfigError, DataError
from ...io.atomic import output_dir, write_json
from ...io.geojson import write_features
from ...io.raster import geotiff_profile
from ...progress import track
from ...regions import landslide_mask, morphology_halo, valid_pixels
from .infer import SegmentationRun
from .predict import run_window
from .tiling import Tiling, add_windows, predict_windows, window_starts

__all__ = [
    "predict_scene",
    "resolve_band_map",
    "panels",
    "SCENE_SUFFIXES",
    "polygonize",
    "equal_area",
    "PANEL_WIDTH",
    "MASK_BLOCK",
]

SCENE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".vrt")
#: GDAL's block cache while predicting a scene (MB). GDAL's default, 5 % of RAM, lets the cache,
#: and so the process, grow with the scene up to that size.
GDAL_CACHE_MB = 64
#: Windows read and predicted together along a strip: bounds memory for wide scenes.
_WINDOWS_PER_READ = 16
#: Columns per panel (a multiple of the 256 px output tiles, so every tile is written by one panel).
PANEL_WIDTH = 2048
#: Block size of the mask pass (a multiple of the 256 px output tiles).
MASK_BLOCK = 1024
#: Side (px) of each of the 3 x 3 windows whose pixels the scale check judges.
PROBE = 128


def panels(width: int, starts: list[int], window: int, panel: int = PANEL_WIDTH) -> list[tuple[int, int, list[int]]]:
    """``(first, end, windows)`` per panel: the columns ``[first, end)`` it writes (cut every
    ``panel`` columns) and the starts of the windows that overlap them."""
    edges = list(range(0, width, panel)) + [width]
    return [(a, b, [s for s in starts if s < b and s + window > a]) for a, b in zip(edges, edges[1:])]


def resolve_band_map(
    model_bands: tuple[str, ...],
    count: int,
    descriptions: tuple[str | None, ...],
    band_map: tuple[str, ...] | dict[str, int | str],
    source: str,
) -> list[int]:
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
        example = ",".join(f"{b}={i}" for i, b in enumerate(model_bands[:3], start=1))
        raise BandError(
            f"{source}: {count} bands, the model needs {len(model_bands)} ({', '.join(model_bands)}); "
            f"describe the file's bands with these names, or pass --band-map MODEL=INPUT for every "
            f"model band (INPUT: a 1-based band number or description), e.g. {example},..."
        )
    unknown = [k for k in band_map if k not in model_bands]
    if unknown:
        raise BandError(
            f"band map names {', '.join(unknown)}, which the model does not use; model bands: {', '.join(model_bands)}"
        )
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
            raise BandError(
                f"{source}: band map {b}={v}: no band numbered or described {v!r} "
                f"(descriptions: {', '.join(d or '-' for d in descriptions)})"
            )
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
        return cls(
            0,
            np.zeros((height, width), np.float32),
            np.zeros((height, width), np.float32),
            np.ones((height, width), bool),
        )

    def advance(self, n: int) -> None:
        """Drop the first ``n`` rows (written out) and start ``n`` fresh rows below, in place."""
        for a, fresh in ((self.prob, 0.0), (self.weight, 0.0), (self.valid, True)):
            a[:-n] = a[n:]
            a[-n:] = fresh
        self.top += n


def _profile(src, dtype: str, nodata: float) -> dict:
    return geotiff_profile(src.width, src.height, 1, dtype, nodata=nodata, crs=src.crs, transform=src.transform)


@dataclass(frozen=True)
class _Reader:
    """Blocks of the model's bands from the scene ``src``: input band ``index`` (0-based) per
    model band, the input's ``nodata``, and the ``factors`` taking values to the run's scale."""

    src: Any
    index: list[int]
    nodata: float | None
    factors: np.ndarray

    def block(self, row: int, col: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Bands (C, h, w) of a block on the run's scale, nodata/NaN pixels zeroed, and its valid-pixel map."""
        from rasterio.errors import RasterioIOError
        from rasterio.windows import Window

        src = self.src
        win = Window(col, row, min(width, src.width - col), min(height, src.height - row))
        try:
            x = src.read([b + 1 for b in self.index], window=win).astype(np.float32)
        except RasterioIOError as e:
            raise DataError(
                f"{src.name}: cannot read rows {row}-{row + win.height} ({e}); the file is damaged or truncated"
            ) from None
        ok = valid_pixels(x, self.nodata)  # nodata is a value of the file's scale
        x *= self.factors[:, None, None]
        return np.where(ok, x, np.float32(0.0)), ok

    def probe(self) -> np.ndarray:
        """The pixels (C, n) of 3 x 3 windows of :data:`PROBE` px spread over the scene (invalid ones zero)."""
        h, w = min(PROBE, self.src.height), min(PROBE, self.src.width)
        rows = sorted({min(max(round(self.src.height * k / 6 - h / 2), 0), self.src.height - h) for k in (1, 3, 5)})
        cols = sorted({min(max(round(self.src.width * k / 6 - w / 2), 0), self.src.width - w) for k in (1, 3, 5)})
        return np.concatenate([self.block(r, c, h, w)[0].reshape(len(self.index), -1) for r in rows for c in cols], 1)


@dataclass(frozen=True)
class _Sweep:
    tiling: Tiling
    rows: list[int]  # window start rows


def _predict_panel(
    run: SegmentationRun,
    reader: _Reader,
    sweep: _Sweep,
    first: int,
    end: int,
    starts: list[int],
    prob_dst,
    tta: str | None,
    batch_size: int,
) -> int:
    """Sweep one panel top to bottom: predict the windows at ``starts`` and write columns
    ``[first, end)`` of the probability raster (NaN where the input has no data). Returns the
    number of valid pixels written."""
    from rasterio.windows import Window

    src = reader.src
    window, stride = sweep.tiling.window, sweep.tiling.stride
    left = starts[0]
    acc = _Accumulator.empty(window + stride, min(src.width, starts[-1] + window) - left)
    own = slice(first - left, end - left)
    valid = 0

    def predict(tiles: torch.Tensor) -> torch.Tensor:
        return run.predict_proba(tiles, tta, batch_size)

    def flush(upto: int) -> None:
        nonlocal valid
        n = upto - acc.top
        if n <= 0:
            return
        p = acc.prob[:n, own] / np.maximum(acc.weight[:n, own], 1e-12)
        ok = acc.valid[:n, own]
        prob_dst.write(np.where(ok, p, np.float32(np.nan)), 1, window=Window(first, acc.top, end - first, n))
        valid += int(ok.sum())
        acc.advance(n)

    for r in sweep.rows:
        flush(r)
        off = r - acc.top
        for group in (starts[i : i + _WINDOWS_PER_READ] for i in range(0, len(starts), _WINDOWS_PER_READ)):
            c0 = group[0]
            block, ok = reader.block(r, c0, window, group[-1] + window - c0)
            h, bw = ok.shape
            acc.valid[off : off + h, c0 - left : c0 - left + bw] = ok
            windows = predict_windows(predict, block, window, group)
            add_windows(acc.prob, acc.weight, sweep.tiling, windows, group, off, h, src.width, left)
    flush(src.height)
    return valid


def _write_mask(run: SegmentationRun, prob_src, mask_dst) -> int:
    """Second pass: the landslide mask of the written probabilities, block by block with a halo
    (see the module docstring); 255 where the probability is NaN. Returns the landslide pixel count."""
    from rasterio.windows import Window

    post = run.config.post
    halo = morphology_halo(post.opening, post.closing)
    width, height = prob_src.width, prob_src.height
    landslide = 0
    for r in range(0, height, MASK_BLOCK):
        for c in range(0, width, MASK_BLOCK):
            r0, c0 = max(r - halo, 0), max(c - halo, 0)
            r1, c1 = min(r + MASK_BLOCK + halo, height), min(c + MASK_BLOCK + halo, width)
            p = prob_src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
            ok = np.isfinite(p)
            m = landslide_mask(p, run.threshold, post.opening, post.closing, ok)
            inner = (slice(r - r0, min(r + MASK_BLOCK, height) - r0), slice(c - c0, min(c + MASK_BLOCK, width) - c0))
            out = np.where(ok[inner], m[inner], np.uint8(255))
            mask_dst.write(out, 1, window=Window(c, r, out.shape[1], out.shape[0]))
            landslide += int((out == 1).sum())
    return landslide


def predict_scene(
    run: str | os.PathLike[str] | SegmentationRun,
    scene: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    band_map: tuple[str, ...] | dict[str, int | str] | None = None,
    window: int | None = None,
    overlap: float | None = None,
    batch_size: int | None = None,
    tta: str | None = None,
    nodata: float | None = None,
    polygons: bool = True,
    engine: str = "torch",
    overwrite: bool = False,
    progress: bool = False,
) -> dict:
    """Predict a whole scene with a sliding window (see the module docstring)."""
    import rasterio
    import rasterio.errors

    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)  # PNG scenes have no CRS
        return _predict_scene(
            run,
            scene,
            out,
            band_map=band_map,
            window=window,
            overlap=overlap,
            batch_size=batch_size,
            tta=tta,
            nodata=nodata,
            polygons=polygons,
            engine=engine,
            overwrite=overwrite,
            progress=progress,
        )


def _predict_scene(
    run, scene, out, *, band_map, window, overlap, batch_size, tta, nodata, polygons, engine, overwrite, progress
) -> dict:
    import rasterio
    from rasterio.errors import RasterioIOError

    run = run if isinstance(run, SegmentationRun) else SegmentationRun.load(run, engine=engine)
    sc = run.config.scene
    scene = Path(scene)
    if not scene.is_file():
        raise DataError(f"{scene}: file not found; pass a GeoTIFF or PNG scene")
    batch_size = batch_size or sc.batch_size
    try:
        src = rasterio.open(scene)
    except RasterioIOError as e:
        raise DataError(f"{scene}: not a readable raster ({e})") from None
    with src:
        tiling = Tiling.create(
            run_window(run, (src.height, src.width), window), sc.overlap if overlap is None else overlap
        )
        with output_dir(out, overwrite) as tmp:
            bands = resolve_band_map(run.bands, src.count, tuple(src.descriptions), band_map or sc.band_map, str(scene))
            nodata = nodata if nodata is not None else (sc.nodata if sc.nodata is not None else src.nodata)
            reader = _Reader(src, bands, nodata, np.ones(len(bands), np.float32))
            scale = declared_scale(src.tags(), src.dtypes[0], str(scene))
            reader = replace(reader, factors=run.input_factors(reader.probe(), scale, str(scene)))
            sweep = _Sweep(tiling, window_starts(src.height, tiling.window, tiling.stride))
            cols = window_starts(src.width, tiling.window, tiling.stride)
            valid_px = 0
            with rasterio.open(tmp / "probability.tif", "w", **_profile(src, "float32", float("nan"))) as prob_dst:
                for first, end, starts in track(
                    panels(src.width, cols, tiling.window, PANEL_WIDTH), f"predict {scene.name}", enabled=progress
                ):
                    valid_px += _predict_panel(run, reader, sweep, first, end, starts, prob_dst, tta, batch_size)
            with (
                rasterio.open(tmp / "probability.tif") as prob_src,
                rasterio.open(tmp / "mask.tif", "w", **_profile(src, "uint8", 255)) as mask_dst,
            ):
                landslide_px = _write_mask(run, prob_src, mask_dst)
            counted = [0]

            def features():
                for f in polygonize(tmp / "mask.tif", tmp / "probability.tif"):
                    counted[0] += 1
                    yield f["properties"], f["geometry"]

            if polygons:
                write_features(tmp / "landslides.geojson", features(), src.crs.to_string() if src.crs else None)
            summary = {
                "scene": str(scene),
                "out": str(out),
                "width": src.width,
                "height": src.height,
                "crs": src.crs.to_string() if src.crs else None,
                "window": tiling.window,
                "overlap": overlap if overlap is not None else sc.overlap,
                "windows": len(sweep.rows) * len(cols),
                "threshold": run.threshold,
                "opening": run.config.post.opening,
                "closing": run.config.post.closing,
                "landslide_pixels": landslide_px,
                "valid_pixels": valid_px,
                "landslide_fraction": landslide_px / max(valid_px, 1),
                "polygons": counted[0],
                "bands": {b: int(i) + 1 for b, i in zip(run.bands, bands)},
                "engine": engine,
                "input_scale": scale,
                "run_domain": run.domain.to_dict(),
            }
            write_json(tmp / "scene.json", summary)
    return summary


def _ring_area(ring: list) -> float:
    """Planar area of a closed ring (shoelace formula), in the squared units of its coordinates."""
    xy = np.asarray(ring, dtype=float)
    return 0.5 * abs(float(np.dot(xy[:-1, 0], xy[1:, 1]) - np.dot(xy[1:, 0], xy[:-1, 1])))


def equal_area(src) -> Callable[[dict], float | None]:
    """``geometry (in src's CRS) -> area in m^2``: the polygon is projected to a Lambert azimuthal
    equal-area projection on the WGS 84 ellipsoid centred on the raster (equal-area everywhere,
    so exact up to the ellipsoid model, whatever the raster's CRS: degrees, UTM metres, ...),
    then measured by the shoelace formula. Without a CRS there are no metres: None."""
    if src.crs is None:
        return lambda geom: None
    from rasterio.crs import CRS
    from rasterio.warp import transform_bounds, transform_geom

    w, s, e, n = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    laea = CRS.from_proj4(f"+proj=laea +lat_0={(s + n) / 2} +lon_0={(w + e) / 2} +datum=WGS84 +units=m +no_defs")

    def area(geom: dict) -> float:
        rings = transform_geom(src.crs, laea, geom)["coordinates"]
        return _ring_area(rings[0]) - sum(_ring_area(r) for r in rings[1:])

    return area


def polygonize(mask_path: str | os.PathLike[str], prob_path: str | os.PathLike[str], rows: int = 256) -> Iterator[dict]:
    """One GeoJSON feature per connected landslide area (8-connectivity, pixels equal to 1) of a
    mask GeoTIFF, with ``area_m2`` and ``area_ha`` (on the WGS 84 ellipsoid through a local equal-area projection,
    holes subtracted; None when the raster has no CRS), ``pixels`` and ``mean_probability``.
    Geometries stay in the raster's CRS (the GeoJSON writer reprojects them to WGS 84).

    The raster is cut into blocks of at least ``rows`` rows that each end on a row without
    landslide pixels, so no area crosses a block border and every block is polygonised on its own,
    cropped to the columns that hold landslides: memory holds one block, not the scene (unless a
    landslide area spans the whole scene)."""
    import rasterio
    from rasterio.features import shapes
    from rasterio.windows import Window
    from scipy import ndimage

    with rasterio.open(mask_path) as m, rasterio.open(prob_path) as p:
        area_m2 = equal_area(m)

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
                for geom, value in shapes(
                    labels.astype(np.int32), mask=block, connectivity=8, transform=m.window_transform(win)
                ):
                    k = int(value)
                    area = area_m2(geom)
                    yield {
                        "geometry": geom,
                        "properties": {
                            "id": next_id + k - 1,
                            "area_m2": area,
                            "area_ha": None if area is None else area / 1e4,
                            "pixels": int(counts[k]),
                            "mean_probability": float(sums[k] / counts[k]),
                        },
                    }
                next_id += n
            r0 = r1
