"""Evaluate a saved run on a labelled dataset, and write predictions for unlabelled ones."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from ..io.atomic import output_dir, write_json
from ..io.open import open_dataset
from ..io.sample import Sample
from ..io.raster import write_geotiff
from ..io.tables import write_table
from .data import load_patches
from .infer import SegmentationRun, morphology
from .metrics import ConfusionMatrix

__all__ = ["evaluate_run", "predict_dataset", "predict_regions", "sample_stats"]


def evaluate_run(
    run: str | os.PathLike[str] | SegmentationRun, data: str | os.PathLike[str], split: str | None = None,
    tta: str | None = None, nan_policy: str = "raise", overlays: str | os.PathLike[str] | None = None,
    max_overlays: int = 16,
) -> dict:
    """Metrics of ``run`` on labelled ``data`` at the run's tuned threshold (set-level confusion
    matrix); with ``overlays``, PNG overlays of the first ``max_overlays`` patches go there."""
    from .plots import write_overlays

    run = run if isinstance(run, SegmentationRun) else SegmentationRun.load(run)
    ds = open_dataset(data, split=split, band_set=run.config.features.source, require_masks=True, nan_policy=nan_policy)
    x, y, ids = load_patches(ds, run.config.data.size)
    run.check_bands(ds[0].bands, str(data))
    prob = run.predict_proba(x, tta)
    mask = morphology((prob >= run.threshold).long(), run.config.post.opening, run.config.post.closing)
    metrics = ConfusionMatrix().update(mask, y).as_dict()
    result = {"run": str(run.path), "data": str(data), "split": split, "n_patches": len(x),
              "threshold": run.threshold, "tta": tta or run.config.post.tta, **metrics}
    if overlays is not None:
        n = min(max_overlays, len(x))
        with output_dir(overlays, overwrite=False) as tmp:
            write_overlays(x[:n].numpy(), y[:n].numpy(), prob[:n].numpy(), run.threshold, ids[:n],
                           run.config.features.source, tmp)
        result["overlays"] = str(overlays)
    return result


def sample_stats(sample: Sample, prob: torch.Tensor, threshold: float) -> pd.DataFrame:
    """One region row for a predicted sample: :func:`~landslide_fusion.fusion.region_stats`, plus
    ``label`` (1 if the mask has landslide pixels) when labelled and the footprint
    ``minx, miny, maxx, maxy, crs`` when georeferenced."""
    from ..fusion.regions import region_stats

    geo = sample.geo
    row = region_stats([prob.numpy()], threshold, [sample.id], pixel_area=geo.pixel_area if geo else None)
    if sample.mask is not None:
        row["label"] = int(np.any(sample.mask))
    if geo is not None:
        row[["minx", "miny", "maxx", "maxy"]] = geo.bounds(*prob.shape)
        row["crs"] = geo.crs
    return row


def predict_regions(run: SegmentationRun, samples: Iterable[Sample], source: str, tta: str | None = None,
                    each: Callable[[Sample, torch.Tensor], None] | None = None) -> pd.DataFrame:
    """Region statistics of every sample (indexed by id); ``each(sample, prob)`` sees every prediction."""
    frames = []
    for sample in samples:
        run.check_bands(sample.bands, source)
        prob = run.predict_image(sample.image, tta)
        if each is not None:
            each(sample, prob)
        frames.append(sample_stats(sample, prob, run.threshold))
    return pd.concat(frames)


def predict_dataset(
    run: str | os.PathLike[str] | SegmentationRun, data: str | os.PathLike[str], out: str | os.PathLike[str], *,
    split: str | None = None, tta: str | None = None, overwrite: bool = False, nan_policy: str = "raise",
) -> dict:
    """Predict every patch of ``data`` at its own size: ``masks/ID.png`` (0/255),
    ``probabilities/ID.tif`` (float32, georeferenced when the input is) and ``predictions.csv``
    (the region statistics of each patch: the image side of fusion)."""
    run = run if isinstance(run, SegmentationRun) else SegmentationRun.load(run)
    ds = open_dataset(data, split=split, band_set=run.config.features.source, nan_policy=nan_policy)
    post = run.config.post
    with output_dir(out, overwrite) as tmp:
        (tmp / "probabilities").mkdir()
        (tmp / "masks").mkdir()

        def save(sample: Sample, prob: torch.Tensor) -> None:
            mask = morphology((prob >= run.threshold).long()[None], post.opening, post.closing)[0]
            write_geotiff(tmp / "probabilities" / f"{sample.id}.tif", prob.numpy().astype(np.float32), sample.geo)
            Image.fromarray(mask.numpy().astype(np.uint8) * 255).save(tmp / "masks" / f"{sample.id}.png")

        stats = predict_regions(run, ds, str(data), tta, save)
        write_table(stats.reset_index(), tmp / "predictions.csv")
        write_json(tmp / "prediction.json", {"run": str(Path(run.path)), "data": str(data), "split": split,
                                             "threshold": run.threshold, "n_patches": len(stats)})
    return {"out": str(out), "n_patches": len(stats), "threshold": run.threshold,
            "landslide_patches": int((stats["n_components"] > 0).sum())}
