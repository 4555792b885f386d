"""The probability maps of a k-fold's images, each from the fold model that never saw it.

``segment train --folds K`` keeps, for every labelled image, its statistics from the fold that
held it out (``oof_stats.csv``, with the ``fold``) and the fold runs (``fold_k/``), not the maps
themselves (a float map per image would make the run folder as large as the data). Whatever
learns from how the image side's masks look on images it did not train on (the fusion's
component filter, :mod:`landslide_fusion.fusion.component_filter`) predicts them again here: the
same images (``data.root`` of the run's config, or ``data`` where the images have moved), the
same fold runs, the same path as ``segment predict`` (:func:`~..inference.predict.predict_regions`,
the run's TTA), one fold model loaded at a time.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ...config import load_config
from ...errors import DataError
from ...io.readers import Sample
from ..config import SegmentConfig
from ..inference.infer import SegmentationRun
from ..inference.predict import RegionPrediction, predict_regions

__all__ = ["is_kfold", "out_of_fold_predictions"]


def is_kfold(root: str | os.PathLike[str]) -> bool:
    """Whether ``root`` is a k-fold run folder (``cv.json``, ``oof_stats.csv`` and the fold runs)."""
    root = Path(root)
    return (root / "cv.json").is_file() and (root / "oof_stats.csv").is_file() and (root / "fold_1").is_dir()


def out_of_fold_predictions(
    root: str | os.PathLike[str],
    each: Callable[[Sample, RegionPrediction], None],
    *,
    data: str | os.PathLike[str] | None = None,
    ids: list[str] | None = None,
    progress: bool = False,
) -> int:
    """Predict every image of the k-fold at ``root`` (only ``ids``, when given) with the fold run
    that held it out and pass it to ``each(sample, prediction)``; returns the images predicted."""
    from .train import labelled_images

    root = Path(root)
    if not is_kfold(root):
        raise DataError(f"{root}: not a k-fold run (no cv.json, oof_stats.csv or fold_1/); train it with --folds")
    folds = pd.read_csv(root / "oof_stats.csv", dtype={"id": str}, usecols=["id", "fold"])
    if ids is not None:
        folds = folds[folds["id"].isin(set(ids))]
    cfg = load_config(SegmentConfig, root / "config.toml")
    if data is not None:
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, root=str(data)))
    if not Path(cfg.data.root).is_dir():
        raise DataError(
            f"{root}: the images it was trained on, data.root = {cfg.data.root!r}, are not found from "
            f"{Path.cwd()}; pass their folder (--data)"
        )
    ds = labelled_images(cfg)
    where = {i: k for k, i in enumerate(ds.ids)}
    lost = sorted(set(folds["id"]) - set(where))
    if lost:
        raise DataError(
            f"{cfg.data.root}: {len(lost)} images of {root / 'oof_stats.csv'} are not there "
            f"(ids {', '.join(lost[:5])}); pass the folder the k-fold was trained on (--data)"
        )
    for k, rows in folds.groupby("fold", sort=True):
        run = SegmentationRun.load(root / f"fold_{k}")
        samples = (ds[where[i]] for i in rows["id"])
        predict_regions(run, samples, str(cfg.data.root), each=each, progress=progress)
    return len(folds)
