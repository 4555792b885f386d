"""Each model's own vote on a region, at the declared prior: one model, one threshold, everywhere.

* ``tabular_vote``: the tabular model's decision, ``p >= `` its threshold for the share
  (:meth:`~landslide_fusion.tabular.LandslideGBM.threshold_at`), the same decision ``tabular
  predict`` writes;
* ``image_vote``: the segmentation run's decision, "the run marks landslide pixels in the region":
  its peak probability reaches both the run's pixel threshold and its image gate for the share
  (:func:`~landslide_fusion.segmentation.evaluation.tuning.post_for_share`). Without an opening this is
  exactly "the run's mask of the region is not empty".

Where a model's folder is not known (inputs without provenance), the tabular side's own
``decision`` column (else the threshold the fusion recorded for it when it was trained) and the
image side's ``landslide_fraction > 0`` are used, and a note says so.
Without a tabular side at all (image-only maps) there is no tabular vote and no agreement column.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .stacking import TABULAR_COLUMN

__all__ = ["region_votes", "model_folders"]


def model_folders(sources: dict) -> tuple[Path | None, Path | None]:
    """``(segmentation run folder, tabular model folder)`` behind provenance source records
    (a k-fold's run is its root, when it holds the run used for prediction); None where unknown."""
    image, tabular = sources.get("image") or {}, sources.get("tabular") or {}
    run = Path(image["path"]) if image.get("path") else None
    if run is not None and not (run / "run.json").is_file():
        run = None
    model = Path(tabular["path"]) if tabular.get("path") else None
    return run, model if model is not None and (model / "meta.json").is_file() else None


def region_votes(
    frame: pd.DataFrame,
    run: str | os.PathLike[str] | None,
    tabular_model: str | os.PathLike[str] | None,
    share: float | None,
    tabular_threshold: float | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """``tabular_vote``, ``image_vote`` and ``agree`` per region of a joined frame, and notes."""
    from ..segmentation.evaluation.tuning import post_for_share
    from ..tabular.model import LandslideGBM

    notes = []
    tab = None
    if tabular_model is not None:
        p = frame[TABULAR_COLUMN].to_numpy(float)
        tab = (p >= LandslideGBM.load(tabular_model).threshold_at(share)).astype(int)
    elif "decision" in frame.columns:
        tab = frame["decision"].to_numpy(int)
        notes.append(
            "tabular votes are the decisions in the tabular input (its model is unknown, so they follow "
            "the prior it was scored for)"
        )
    elif TABULAR_COLUMN in frame.columns and tabular_threshold is not None:
        tab = (frame[TABULAR_COLUMN].to_numpy(float) >= tabular_threshold).astype(int)
        notes.append(
            f"tabular votes at {tabular_threshold:.3f}, the threshold recorded when the fusion was trained "
            "(the tabular model is unknown)"
        )
    if run is not None:
        threshold, gate = post_for_share(run, share)
        img = (frame["max_probability"].to_numpy(float) >= max(threshold, gate)).astype(int)
    else:
        img = (frame["landslide_fraction"].to_numpy(float) > 0).astype(int)
        notes.append(
            "image votes are the input's masks (its segmentation run is unknown, so they follow the run's own prior)"
        )
    if tab is None:
        return pd.DataFrame({"image_vote": img}, index=frame.index), notes
    votes = pd.DataFrame({"tabular_vote": tab, "image_vote": img, "agree": (tab == img).astype(int)}, index=frame.index)
    return votes, notes
