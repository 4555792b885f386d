"""The one scoring path from a run's probabilities to a region's risk and the masks it confirms.

``fuse predict`` (statistics already computed), ``fuse score`` (images or a scene with region
polygons) and ``assess`` (a fetched scene) all end here:

    region statistics + tabular probabilities (joined on the id)
      -> both models' votes at the declared prior                     :mod:`.votes`
      -> fused probability -> risk score, class, decision             :mod:`.decision`
      -> status (landslide / review / none) -> fused masks, polygons  :mod:`.confirm`
         (the areas a component filter keeps, :mod:`.component_filter`)
      -> risk.csv, risk.geojson, disagreements.csv

Without a fusion (``assess`` with a segmentation run alone) the image side decides by itself:
its region probability is the region's peak probability calibrated (Platt) on the run's own
sweep of labelled images, and the same :class:`~.decision.DecisionRule` turns it into risk,
class, decision and fused masks, so image-only maps keep the same guarantees.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..io.atomic import write_json
from ..io.tables import write_table
from ..prior import check_share, declared_share
from .component_filter import ComponentFilter
from .confirm import confirm_image, confirm_scene, region_status
from .decision import Decision, DecisionRule
from .risk import risk_table, write_risk

__all__ = [
    "Scorer",
    "image_only_scorer",
    "score_frame",
    "write_scores",
    "confirm_images",
    "confirm_map",
    "pack_mask",
    "unpack_mask",
    "pixel_counts",
]


@dataclass
class Scorer:
    """What turns a joined region frame into risk: a fitted fusion (``estimator``) or, for
    image-only maps, a calibration of the peak probability (``calibrate``); the decision rule; the
    share declared when it was fitted; whether disagreements are kept for review; and the
    fusion's component filter (``area_filter``), if it learned one."""

    rule: DecisionRule
    default_share: float | None
    estimator: object | None = None
    calibrate: object | None = None
    review_disagreements: bool = False
    area_filter: ComponentFilter | None = None
    _chosen: dict = field(default_factory=dict, repr=False)

    def share(self, landslide_free_share: float | None) -> float | None:
        """The share decisions are made for: the one given, else the one declared at fitting."""
        share = check_share(landslide_free_share)
        return self.default_share if share is None else share

    def decision(self, share: float | None) -> Decision:
        """The rule's choice for ``share``, with the component filter's keep cut."""
        if share not in self._chosen:
            cut = self.area_filter.cut if self.area_filter is not None else 0.0
            self._chosen[share] = replace(self.rule.choose(share), component_cut=cut)
        return self._chosen[share]

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        """The region probability the decision is made on (calibrated at the fitting mix)."""
        if self.estimator is not None:
            return self.estimator.predict_proba(frame)[:, 1]
        return self.calibrate(frame["max_probability"].to_numpy(float))


def image_only_scorer(run, edges: tuple[float, ...]) -> Scorer:
    """A :class:`Scorer` for a segmentation run alone (module docstring), from its sweep."""
    from ..segmentation.evaluation.tuning import run_sweep
    from ..tabular.calibration import Calibrator

    sweep = run_sweep(run)
    y = np.array(sweep.positive, int)
    if y.min() == y.max():
        raise DataError(
            f"{run.path}: its sweep holds one class only, so an image-only risk cannot be calibrated; "
            "tune the run on images with and without landslides"
        )
    calibrator = Calibrator("sigmoid").fit(_logit(np.array(sweep.peaks)), y)

    def calibrate(peak: np.ndarray) -> np.ndarray:
        return calibrator(_logit(peak))

    rule = DecisionRule.fit(
        y, calibrate(np.array(sweep.peaks)), sweep.ids, edges=edges, mask_threshold=run.threshold, sweep=sweep
    )
    return Scorer(rule, declared_share(run.config.post.landslide_free_share), calibrate=calibrate)


def _logit(p: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    p = np.clip(np.nan_to_num(np.asarray(p, float)), eps, 1 - eps)
    return np.log(p / (1 - p))


def score_frame(
    frame: pd.DataFrame, scorer: Scorer, votes: pd.DataFrame, share: float | None, edges: tuple[float, ...]
) -> tuple[pd.DataFrame, Decision]:
    """Risk table (risk score, class, decision, status, both votes, agreement, inputs, and
    ``fused_probability``, the probability decided on, at the fitting mix) of a joined region
    frame, and the decision rule's choice for ``share``."""
    d = scorer.decision(share)
    p = scorer.probability(frame)
    inputs = votes.join(frame).assign(fused_probability=p)
    table = risk_table(inputs, scorer.rule.risk(p, share), (p >= d.cut).astype(int), edges)
    status = region_status(table, scorer.review_disagreements)
    return table.join(status), d


def write_scores(
    folder: Path,
    table: pd.DataFrame,
    d: Decision,
    unmatched: pd.DataFrame | None,
    notes: list[str],
    crs: str | None = None,
    provenance: dict | None = None,
    id_name: str | None = None,
) -> dict:
    """``risk.csv`` (+ ``risk.geojson`` with geometry), ``disagreements.csv``, ``unmatched.csv``,
    ``provenance.json``, the region id column named ``id_name`` (the user's id column);
    returns the summary every scoring command prints."""
    if id_name:
        table = table.rename_axis(id_name)
    paths, geo_notes = write_risk(table, folder, crs)
    disagree = table[table["agree"] == 0] if "agree" in table.columns else table.iloc[:0]
    write_table(disagree.reset_index().drop(columns=["geometry"], errors="ignore"), folder / "disagreements.csv")
    if unmatched is not None and len(unmatched):
        write_table(unmatched, folder / "unmatched.csv")
    decision = {
        "landslide_free_share": d.share,
        "risk_threshold": d.threshold,
        "probability_cut": d.cut,
        "mask_threshold": d.mask_threshold,
        "component_cut": d.component_cut,
        "expected": d.expected,
    }
    if provenance is not None:
        write_json(folder / "provenance.json", {**provenance, "decision": decision})
    counts = table["risk_class"].value_counts().reindex(table["risk_class"].cat.categories).astype(int).to_dict()
    return {
        "regions": len(table),
        "landslide": int(table["decision"].sum()),
        "review": int((table["status"] == "review").sum()),
        "disagreements": len(disagree),
        "unmatched": 0 if unmatched is None else len(unmatched),
        "risk_classes": counts,
        "decision": decision,
        "files": [p.name for p in paths] + ["disagreements.csv"],
        "warnings": notes + geo_notes + ([d.note] if d.note else []),
    }


def confirm_images(
    folder: Path,
    table: pd.DataFrame,
    d: Decision,
    opening: int,
    closing: int,
    area_filter: ComponentFilter | None = None,
    truth: dict[str, np.ndarray] | None = None,
) -> tuple[int, dict[str, np.ndarray]]:
    """Write ``masks/ID.png`` (0/255) for every image-region of ``table`` from its
    ``probabilities/ID.tif``: the fused masks, with the areas ``area_filter`` drops emptied.
    Returns the landslide pixel count and, for the ids of ``truth`` (packed 0/1 masks,
    :func:`pack_mask`), each written mask's pixel counts TP, FP, FN, TN over valid pixels."""
    from PIL import Image

    from ..io.raster import read_raster

    (folder / "masks").mkdir(exist_ok=True)
    pixels, counts = 0, {}
    for rid, row in table.iterrows():
        p = read_raster(folder / "probabilities" / f"{rid}.tif")[0][0].astype(np.float32)
        valid = np.isfinite(p)
        keep = row["status"] != "none"
        m = confirm_image(p, valid, keep, d.mask_threshold, opening, closing, area_filter=area_filter, region=row)
        Image.fromarray(m * np.uint8(255)).save(folder / "masks" / f"{rid}.png")
        pixels += int(m.sum())
        if truth is not None and str(rid) in truth:
            counts[str(rid)] = pixel_counts(m, unpack_mask(truth[str(rid)]), valid)
    return pixels, counts


def pack_mask(mask: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """A 0/1 mask as bits (an eighth of its bytes) and its shape, to keep many in memory."""
    return np.packbits(np.asarray(mask) == 1), np.shape(mask)


def unpack_mask(packed: tuple[np.ndarray, tuple[int, ...]]) -> np.ndarray:
    """The bool mask :func:`pack_mask` packed."""
    bits, shape = packed
    return np.unpackbits(bits, count=int(np.prod(shape))).reshape(shape).astype(bool)


def pixel_counts(mask: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """TP, FP, FN, TN (int64) of a 0/1 ``mask`` against ``truth`` over the ``valid`` pixels."""
    import torch

    from ..segmentation.evaluation.metrics import ConfusionMatrix

    cm = ConfusionMatrix().update(torch.from_numpy(np.asarray(mask)[valid] == 1), torch.from_numpy(truth[valid]))
    return np.array([cm.tp, cm.fp, cm.fn, cm.tn], np.int64)


def confirm_map(
    folder: Path, table: pd.DataFrame, d: Decision, opening: int, closing: int, probability: str | os.PathLike[str]
) -> dict:
    """The fused ``mask.tif`` and ``landslides.geojson`` of a scene's regions in ``folder``."""
    if "geometry" not in table.columns:
        raise DataError("the regions carry no geometry; a map needs region polygons")
    return confirm_scene(
        probability,
        table,
        d.mask_threshold,
        folder / "mask.tif",
        folder / "landslides.geojson",
        opening=opening,
        closing=closing,
    )
