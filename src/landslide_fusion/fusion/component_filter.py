"""The component filter: which landslide areas of a confirmed region the fused mask keeps.

The fused decision says whether a region holds a landslide; inside a region it confirms, the fused
mask was every pixel above the mask threshold. Where landslides are rare, most false-positive
pixels sit in a few areas of confirmed regions that hold no landslide, or beside a true scar
(a faint patch, a road cut), and a region statistic cannot single them out. The filter judges
each connected area by its own descriptors (:mod:`.components`) and both sides' scores of its
region, and drops the areas it judges unlikely.

**Learning it** (``fuse train``, when the image side is a segmentation k-fold whose images can be
read; :func:`fit_area_filter`):

1. every labelled image's probability map from the fold model that never saw it
   (:func:`~landslide_fusion.segmentation.evaluation.out_of_fold.out_of_fold_predictions`);
2. at every threshold of the image side's sweep, its mask's areas are described; an area is a
   landslide when most of its pixels are (``tp >= fp``), and it weighs its pixel count, so the
   filter's errors are counted in pixels, as the masks' F1 is;
3. a LightGBM classifier (:class:`ComponentFilter`) gives each area a probability from models
   that never saw its image (grouped k-fold by image), then is refitted on every area;
4. the keep cut ``q`` (an area is kept when its probability reaches ``q``; ``q = 0`` keeps every
   area, the fused mask without the filter) is chosen with the decision: for each candidate in
   :data:`CUTS`, the sweep's counts with the areas below ``q`` emptied (:func:`filtered_sweep`)
   feed the fusion's joint choice of mask threshold and decision cut at the declared share, and
   the ``q`` whose cross-fitted pixel F1 there is highest is kept (ties: the smaller ``q``). The
   decision is then fitted on that filtered sweep, so the estimate ``fuse train`` prints is that of
   the masks as written, filter included.

A cut chosen among a few candidates on the same cross-fitted figure it reports makes that figure
slightly optimistic; the candidates are few (six) for that reason.

**Using it**: every fused mask (:mod:`.confirm`: images, a scene's regions) keeps only the areas
of a kept region whose probability reaches ``q``. Decisions made for another share than the
declared one keep ``q`` and re-choose the threshold and cut on the filtered sweep.

Saved as ``components.txt`` (LightGBM's text model: loading executes no code) and
``components.json`` (parameters, cut, the evidence of the choice).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from ..errors import DataError, NotFittedError
from ..io.atomic import write_json, write_text
from ..regions import landslide_mask
from ..segmentation.evaluation.tuning import PostSweep
from .components import COMPONENT_FEATURES, REGION_SCORES, component_features

if TYPE_CHECKING:
    from .decision import DecisionRule

__all__ = [
    "AREA_FEATURES",
    "CUTS",
    "ComponentFilter",
    "describe_areas",
    "filtered_sweep",
    "fit_area_filter",
    "keep_areas",
]

#: Columns the filter reads: each area's descriptors and its region's two scores.
AREA_FEATURES = (*COMPONENT_FEATURES, *REGION_SCORES)

#: Candidate keep cuts (0: every area kept).
CUTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)

FILTER_MODEL = "components.txt"
FILTER_META = "components.json"


class ComponentFilter(ClassifierMixin, BaseEstimator):
    """Probability that a mask area is a landslide (module docstring), LightGBM on
    :data:`AREA_FEATURES`; ``cut`` is the keep cut, set by the choice in ``fuse train``.

    ``fit(X, y, sample_weight, groups)`` also leaves ``oof_probability_``: each row's probability
    from a model fitted without its group (``folds``-fold ``GroupKFold``; groups are images)."""

    def __init__(
        self,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 20,
        folds: int = 5,
        cut: float = 0.0,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.folds = folds
        self.cut = cut
        self.random_state = random_state

    def _params(self) -> dict:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": 0.8,
            "seed": self.random_state,
            "verbosity": -1,
            "num_threads": 1,
            "deterministic": True,
            "force_col_wise": True,
        }

    def _booster(self, X: pd.DataFrame, y: np.ndarray, w: np.ndarray) -> lgb.Booster:
        data = lgb.Dataset(X.to_numpy(np.float64), y, weight=w, feature_name=list(AREA_FEATURES))
        return lgb.train(self._params(), data, num_boost_round=self.n_estimators)

    def fit(self, X: pd.DataFrame, y, sample_weight=None, groups=None) -> "ComponentFilter":
        from sklearn.model_selection import GroupKFold

        X = _areas(X)
        y = np.asarray(y, int)
        if len(y) != len(X) or not np.isin(y, (0, 1)).all():
            raise DataError(f"the filter needs one 0/1 label per area ({len(X)} areas, {len(y)} labels)")
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        w = w / w.mean()
        self.oof_probability_ = np.full(len(y), np.nan)
        if groups is not None and len(np.unique(groups)) >= self.folds and len(np.unique(y)) == 2:
            splits = GroupKFold(self.folds, shuffle=True, random_state=self.random_state).split(X, y, groups)
            for fit, held in splits:
                if len(np.unique(y[fit])) < 2:
                    continue
                self.oof_probability_[held] = self._booster(X.iloc[fit], y[fit], w[fit]).predict(X.iloc[held])
        self.booster_ = self._booster(X, y, w)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = len(AREA_FEATURES)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "booster_"):
            raise NotFittedError("this ComponentFilter is not fitted yet; call fit first")
        p = self.booster_.predict(_areas(X).to_numpy(np.float64)) if len(X) else np.zeros(0)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= self.cut).astype(int)

    def save(self, folder: str | os.PathLike[str], evidence: dict | None = None) -> None:
        """``components.txt`` and ``components.json`` into ``folder``."""
        folder = Path(folder)
        write_text(folder / FILTER_MODEL, self.booster_.model_to_string())
        write_json(
            folder / FILTER_META, {"params": self.get_params(), "features": list(AREA_FEATURES), **(evidence or {})}
        )

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> "ComponentFilter | None":
        """The filter saved in ``folder``, or None when it holds none."""
        folder = Path(folder)
        if not (folder / FILTER_MODEL).is_file():
            return None
        meta = json.loads((folder / FILTER_META).read_text())
        if tuple(meta["features"]) != AREA_FEATURES:
            raise DataError(
                f"{folder / FILTER_META}: a component filter over other descriptors ({meta['features']}); "
                "run 'fuse train' again with this version"
            )
        out = cls(**meta["params"])
        out.booster_ = lgb.Booster(model_str=(folder / FILTER_MODEL).read_text())
        out.classes_ = np.array([0, 1])
        out.n_features_in_ = len(AREA_FEATURES)
        return out


def _areas(X: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in AREA_FEATURES if c not in X.columns]
    if missing:
        raise DataError(f"area table lacks {', '.join(missing)}; describe areas with fusion.components")
    return X[list(AREA_FEATURES)]


def keep_areas(
    area_filter: ComponentFilter | None,
    probability: np.ndarray,
    mask: np.ndarray,
    valid: np.ndarray,
    threshold: float,
    region: Mapping[str, float] | None,
) -> np.ndarray:
    """The 0/1 ``mask`` of one region with the areas whose filter probability is below its cut
    emptied; ``region`` holds the region's :data:`~.components.REGION_SCORES` (a risk table's
    row). Unchanged without a filter or with cut 0."""
    if area_filter is None or area_filter.cut <= 0 or not mask.any():
        return mask
    missing = [c for c in REGION_SCORES if region is None or c not in region]
    if missing:
        raise DataError(f"the component filter needs the region's {', '.join(missing)}; score it with a fusion")
    labels, areas = component_features(probability, mask, valid, threshold)
    keep = area_filter.predict_proba(areas.assign(**{c: float(region[c]) for c in REGION_SCORES}))[:, 1]
    keep = keep >= area_filter.cut
    return (np.r_[False, keep][labels] & (mask == 1)).astype(mask.dtype)


def describe_areas(
    thresholds: np.ndarray, opening: int, closing: int, scores: Callable[[str], dict]
) -> tuple[PostSweep, list[pd.DataFrame], Callable]:
    """A collector for labelled predictions: ``(sweep, areas, each)``. ``each(sample, prediction)``
    adds the image to ``sweep`` (its mask counts at every threshold) and a frame of its areas at
    every threshold to ``areas``: descriptors, its region's ``scores(id)``, and ``image`` (its
    index in the sweep), ``step`` (the threshold's index), ``pixels``, ``tp`` and ``fp``."""
    sweep = PostSweep(thresholds, opening, closing)
    areas: list[pd.DataFrame] = []

    def each(sample, pred) -> None:
        truth = (np.asarray(sample.mask) == 1) & pred.valid
        image = len(sweep.ids)
        sweep.update(pred.probability, sample.mask, pred.valid, sample.id)
        region = scores(str(sample.id))
        for step, t in enumerate(sweep.thresholds):
            m = landslide_mask(pred.probability, float(t), opening, closing, pred.valid)
            if not m.any():
                continue
            labels, frame = component_features(pred.probability, m, pred.valid, float(t))
            n = len(frame)
            tp = np.bincount(labels[truth], minlength=n + 1)[1:]
            pixels = np.bincount(labels.ravel(), minlength=n + 1)[1:]
            areas.append(frame.assign(**region, image=image, step=step, pixels=pixels, tp=tp, fp=pixels - tp))

    return sweep, areas, each


def filtered_sweep(sweep: PostSweep, areas: pd.DataFrame, probability: np.ndarray, cut: float) -> PostSweep:
    """``sweep`` with the areas whose ``probability`` is below ``cut`` emptied: their true
    positives become false negatives and their false positives true negatives."""
    counts = np.stack(sweep.counts).copy()
    drop = areas[np.asarray(probability) < cut]
    img, step = drop["image"].to_numpy(int), drop["step"].to_numpy(int)
    tp, fp = drop["tp"].to_numpy(np.int64), drop["fp"].to_numpy(np.int64)
    for column, change in ((0, -tp), (2, tp), (1, -fp), (3, fp)):
        np.add.at(counts, (img, step, column), change)
    out = PostSweep(sweep.thresholds, sweep.opening, sweep.closing)
    out.ids, out.peaks, out.positive = list(sweep.ids), list(sweep.peaks), list(sweep.positive)
    out.counts = list(counts)
    return out


def fit_area_filter(
    root: str | os.PathLike[str],
    scores: pd.DataFrame,
    fit_rule: Callable[[PostSweep], DecisionRule],
    share: float | None,
    *,
    data: str | os.PathLike[str] | None = None,
    seed: int = 0,
    progress: bool = False,
) -> tuple[ComponentFilter | None, PostSweep, dict]:
    """Learn the filter of the k-fold at ``root`` over the regions of ``scores`` (indexed by id,
    :data:`~.components.REGION_SCORES` columns) and choose its cut with the decision
    ``fit_rule(sweep)`` makes at ``share`` (module docstring). Returns the filter (its ``cut``
    set; None when no cut above 0 helps or the areas are of one kind), the sweep the decision is
    then fitted on (filtered at the cut) and the evidence of the choice."""
    from ..config import load_config
    from ..progress import stage
    from ..segmentation.config import SegmentConfig
    from ..segmentation.evaluation.out_of_fold import out_of_fold_predictions
    from ..segmentation.evaluation.tuning import SWEEP_FILE

    root = Path(root)
    post = load_config(SegmentConfig, root / "config.toml").post
    by_id = scores[list(REGION_SCORES)].astype(float).set_axis(scores.index.astype(str)).to_dict("index")
    base, parts, each = describe_areas(
        PostSweep.load(root / SWEEP_FILE).thresholds, post.opening, post.closing, lambda i: by_id[i]
    )
    stage(f"component filter: out-of-fold maps of {len(by_id)} images", progress)
    out_of_fold_predictions(root, each, data=data, ids=list(by_id), progress=progress)
    areas = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*AREA_FEATURES, "image", "step"])
    y = (2 * areas["tp"].to_numpy(int) >= areas["pixels"].to_numpy(int)).astype(int) if len(areas) else np.zeros(0)
    stage(f"component filter: {len(areas)} areas, cut chosen for the declared share", progress)
    evidence = {"cut": 0.0, "areas": len(areas), "landslide_areas": int(y.sum()), "images": len(base.ids)}
    if len(np.unique(y)) < 2:  # nothing to tell apart: every area is kept
        return None, base, {**evidence, "candidates": []}
    area_filter = ComponentFilter(random_state=seed).fit(areas, y, sample_weight=areas["pixels"], groups=areas["image"])
    held_out = np.nan_to_num(area_filter.oof_probability_, nan=1.0)  # not cross-fitted: kept
    candidates, best = [], (None, base)
    for cut in CUTS:
        sweep = filtered_sweep(base, areas, held_out, cut)
        expected = fit_rule(sweep).choose(share).expected.get("pixels") or {}
        row = {"cut": cut, **{k: expected.get(k) for k in ("f1", "precision", "recall")}}
        candidates.append(row)
        if row["f1"] is not None and (best[0] is None or row["f1"] > best[0]["f1"] + 1e-9):
            best = (row, sweep)
    evidence["candidates"] = candidates
    if best[0] is None or best[0]["cut"] <= 0:  # the filter does not help: the masks stay whole
        return None, best[1], evidence
    area_filter.set_params(cut=best[0]["cut"])
    return area_filter, best[1], {**evidence, "cut": best[0]["cut"]}
