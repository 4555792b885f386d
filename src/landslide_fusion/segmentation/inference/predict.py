"""The one prediction path: a region's probabilities, its mask and its statistics.

Every command that predicts (``segment predict`` on a folder, ``segment evaluate``, the k-fold's
out-of-fold statistics, ``fuse score``, overlays) calls :func:`predict_region` per image, and
scenes use the same windows (:mod:`~landslide_fusion.segmentation.inference.tiling`)::

    image (C, H, W), native size
      -> valid pixels (finite, not nodata)          regions.valid_pixels
      -> probabilities (H, W)                        predict_array: sliding windows blended with a
                                                     cosine taper (or, for runs trained on images
                                                     resized to data.size, resize -> predict -> resize back)
      -> mask (H, W), made once                      regions.landslide_mask: threshold + opening/closing
                                                     (+ the run's image gate on the region's peak; for
                                                     a fold ensemble, its members' peaks averaged)
      -> statistics                                  regions.mask_statistics

So the statistics a stacker is fitted on (out-of-fold) and those it scores (``segment predict``,
``fuse score``) are the same features at the same scale, and the masks written, scored and
counted are the same masks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ...io.sample import Sample
from ...progress import track
from ...regions import has_landslide, landslide_mask, mask_statistics, region_peak, stats_frame, valid_pixels
from .infer import SegmentationRun
from .tiling import NETWORK_MULTIPLE, Tiling, add_windows, predict_windows, window_starts

__all__ = ["RegionPrediction", "predict_array", "predict_region", "predict_regions", "run_window", "resizes_images"]


def resizes_images(run: SegmentationRun) -> bool:
    """True when the run was trained on whole images resized to ``data.size`` (not on crops at
    native resolution): it then sees every image resized the same way."""
    d = run.config.data
    return d.size > 0 and not d.crop


def run_window(run: SegmentationRun, shape: tuple[int, int], window: int | None = None) -> int:
    """Sliding-window size for an image of ``shape`` (H, W): ``window``, else ``scene.window``,
    else the training crop or patch size, else 128; but no larger than the image's shorter side
    rounded up to a multiple of 16, so a small image is predicted whole (padded by at most 15 px)
    rather than padded to a large window."""
    d = run.config.data
    size = window or run.config.scene.window or d.crop or d.size or 128
    return min(size, NETWORK_MULTIPLE * math.ceil(min(shape) / NETWORK_MULTIPLE))


def _resized(run: SegmentationRun, image: np.ndarray, tta: str | None) -> np.ndarray:
    from ..patches import resize_patch

    h, w = image.shape[-2:]
    size = run.config.data.size
    p = run.predict_proba(resize_patch(image, None, size)[0][None], tta)[None]
    return F.interpolate(p, size=(h, w), mode="bilinear", align_corners=False)[0, 0].clamp(0, 1).numpy()


def predict_array(
    run: SegmentationRun,
    image: np.ndarray,
    *,
    tta: str | None = None,
    window: int | None = None,
    overlap: float | None = None,
    batch_size: int | None = None,
) -> np.ndarray:
    """Probabilities (H, W) float32 of one (C, H, W) image at its own size (module docstring).

    Invalid pixels (non-finite in any band) are predicted from zeros and come out NaN."""
    image = np.asarray(image, dtype=np.float32)
    ok = valid_pixels(image)
    image = np.where(ok, image, np.float32(0.0))
    if resizes_images(run):
        prob = _resized(run, image, tta)
    else:
        sc = run.config.scene
        tiling = Tiling.create(run_window(run, image.shape[-2:], window), sc.overlap if overlap is None else overlap)
        prob = blend(run, image, tiling, tta, batch_size or sc.batch_size)
    return np.where(ok, prob, np.float32(np.nan)).astype(np.float32)


def blend(run: SegmentationRun, image: np.ndarray, tiling: Tiling, tta: str | None, batch_size: int) -> np.ndarray:
    """Sliding-window probabilities of a whole (C, H, W) image held in memory."""
    _, h, w = image.shape
    win = tiling.window
    cols = window_starts(w, win, tiling.stride)
    prob, weight = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)

    def predict(tiles: torch.Tensor) -> torch.Tensor:
        return run.predict_proba(tiles, tta, batch_size)

    for r in window_starts(h, win, tiling.stride):
        windows = predict_windows(predict, image[:, r : r + win], win, cols)
        add_windows(prob, weight, tiling, windows, cols, r, min(win, h - r), w)
    return prob / np.maximum(weight, 1e-12)


@dataclass(frozen=True)
class RegionPrediction:
    """One region predicted: probabilities (NaN outside ``valid``), the 0/1 mask, its statistics,
    and ``peak``, what the image gate compares (:func:`predict_region`)."""

    id: str
    probability: np.ndarray
    mask: np.ndarray
    valid: np.ndarray
    stats: dict[str, float]
    peak: float = 0.0


def predict_region(run: SegmentationRun, sample: Sample, *, tta: str | None = None) -> RegionPrediction:
    """Predict one sample at its own size, make its mask once (the run's threshold, morphology
    and image gate) and compute its region statistics (see :mod:`~landslide_fusion.regions.stats`).

    The gate compares the region's peak probability, the statistic it was chosen on; for a fold
    ensemble (:mod:`~.ensemble`), whose gate was chosen on its members' out-of-fold peaks, it
    compares the members' peaks averaged, each member's map predicted here (the ensemble's map is
    their mean, so nothing is predicted twice). Averaged maps peak lower where members disagree by
    a little: three members each peaking at 0.999, but on neighbouring pixels where the other two
    say 0.97, average to 0.98 at best, under a 0.99 gate that each of them passes."""
    members = run.members
    if members:
        maps = [predict_array(m, sample.image, tta=tta) for m in members]
        prob = np.mean(maps, axis=0, dtype=np.float32)
    else:
        maps = None
        prob = predict_array(run, sample.image, tta=tta)
    valid = np.isfinite(prob)
    post = run.config.post
    peak = float(np.mean([region_peak(p, valid) for p in (maps or [prob])]))
    mask = landslide_mask(prob, run.threshold, post.opening, post.closing, valid, gate=run.gate, peak=peak)
    area = sample.geo.pixel_area if sample.geo is not None else np.nan
    return RegionPrediction(sample.id, prob, mask, valid, mask_statistics(prob, mask, valid, area), peak)


def _row(sample: Sample, pred: RegionPrediction) -> dict:
    row = dict(pred.stats)
    if sample.mask is not None:
        row["label"] = int(has_landslide(sample.mask))
    if sample.geo is not None:
        row.update(zip(("minx", "miny", "maxx", "maxy"), sample.geo.bounds(*pred.probability.shape)))
        row["crs"] = sample.geo.crs
    return row


def predict_regions(
    run: SegmentationRun,
    samples: Iterable[Sample],
    source: str,
    *,
    tta: str | None = None,
    each: Callable[[Sample, RegionPrediction], None] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Region statistics of every sample (a frame indexed by id), plus ``label`` (1 if the
    sample's mask holds landslide pixels) when labelled and the footprint ``minx, miny, maxx,
    maxy, crs`` when georeferenced. Each sample must hold the run's bands on the run's scale, or
    one its file declares and a conversion exists for (:meth:`.SegmentationRun.input_factors`:
    converted, else refused). ``each(sample, prediction)`` sees every prediction (to write masks,
    score them, draw them or describe the image) with the sample as read, without a second read."""
    rows, ids = [], []
    for sample in track(samples, "predict images", enabled=progress):
        run.check_bands(sample.bands, source)
        factors = run.input_factors(sample.image, sample.scale, f"{source}: image {sample.id}")
        image = sample.image if (factors == 1).all() else sample.image * factors[:, None, None]
        pred = predict_region(run, replace(sample, image=image), tta=tta)
        if each is not None:
            each(sample, pred)
        rows.append(_row(sample, pred))
        ids.append(sample.id)
    frame = stats_frame(rows, ids)
    extra = pd.DataFrame([{k: v for k, v in r.items() if k not in frame.columns} for r in rows], index=frame.index)
    return frame.join(extra) if len(extra.columns) else frame
