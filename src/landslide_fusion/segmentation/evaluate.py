"""Evaluate a saved run on a labelled dataset, and write predictions for unlabelled ones."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from ..io.atomic import output_dir, write_json
from ..io.open import open_dataset
from ..io.raster import write_geotiff
from ..io.tables import write_table
from .data import load_patches
from .infer import SegmentationRun, morphology
from .metrics import ConfusionMatrix

__all__ = ["evaluate_run", "predict_dataset"]


def evaluate_run(
    run: str | os.PathLike[str] | SegmentationRun, data: str | os.PathLike[str], split: str | None = None,
    tta: str | None = None, nan_policy: str = "raise",
) -> dict:
    """Metrics of ``run`` on labelled ``data`` at the run's tuned threshold (set-level confusion matrix)."""
    run = run if isinstance(run, SegmentationRun) else SegmentationRun.load(run)
    ds = open_dataset(data, split=split, band_set=run.config.features.source, require_masks=True, nan_policy=nan_policy)
    x, y, _ = load_patches(ds, run.config.data.size)
    run.check_bands(ds[0].bands, str(data))
    prob = run.predict_proba(x, tta)
    mask = morphology((prob >= run.threshold).long(), run.config.post.opening, run.config.post.closing)
    metrics = ConfusionMatrix().update(mask, y).as_dict()
    return {"run": str(run.path), "data": str(data), "split": split, "n_patches": len(x),
            "threshold": run.threshold, "tta": tta or run.config.post.tta, **metrics}


def predict_dataset(
    run: str | os.PathLike[str] | SegmentationRun, data: str | os.PathLike[str], out: str | os.PathLike[str], *,
    split: str | None = None, tta: str | None = None, overwrite: bool = False, nan_policy: str = "raise",
) -> dict:
    """Predict every patch of ``data``: ``masks/ID.png`` (0/255), ``probabilities/ID.tif`` (float32,
    georeferenced when the input is) and ``predictions.csv`` (per-patch summary)."""
    run = run if isinstance(run, SegmentationRun) else SegmentationRun.load(run)
    ds = open_dataset(data, split=split, band_set=run.config.features.source, nan_policy=nan_policy)
    rows = []
    with output_dir(out, overwrite) as tmp:
        (tmp / "probabilities").mkdir()
        (tmp / "masks").mkdir()
        for sample in ds:
            run.check_bands(sample.bands, str(data))
            prob = run.predict_proba(torch.from_numpy(sample.image)[None], tta)[0]
            mask = morphology((prob >= run.threshold).long()[None], run.config.post.opening, run.config.post.closing)[0]
            write_geotiff(tmp / "probabilities" / f"{sample.id}.tif", prob.numpy().astype(np.float32), sample.geo)
            Image.fromarray(mask.numpy().astype(np.uint8) * 255).save(tmp / "masks" / f"{sample.id}.png")
            rows.append({"id": sample.id, "landslide_fraction": float(mask.float().mean()),
                         "max_probability": float(prob.max()), "mean_probability": float(prob.mean())})
        write_table(pd.DataFrame(rows), tmp / "predictions.csv")
        write_json(tmp / "prediction.json", {"run": str(Path(run.path)), "data": str(data), "threshold": run.threshold,
                                             "n_patches": len(rows)})
    return {"out": str(out), "n_patches": len(rows), "threshold": run.threshold}
