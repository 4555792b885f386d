"""The component filter: which landslide areas of a confirmed image the fused mask keeps.

The fused decision says whether a region holds a landslide; inside a region it confirms, the fused
mask was every pixel above the mask threshold. Where landslides are rare, most false-positive
pixels sit in a few areas of confirmed images that hold no landslide, or beside a true scar
(a faint patch, a road cut), and a region statistic cannot single them out. The filter judges
each connected area by its own descriptors (:mod:`.components`) and both sides' scores of its
region, and drops the areas it judges unlikely.

**Learning it** (``fuse train``, when the image side is a segmentation k-fold whose images can be
read; :func:`fit_area_filter`):

1. every labelled image's probability map from the fold model that never saw it
   (:func:`~landslide_fusion.segmentation.training.out_of_fold.out_of_fold_predictions`), checked
   against the k-fold's own ``oof_stats.csv`` (other imagery under the same ids is refused);
2. at every threshold of the image side's sweep, its mask's areas are described; an area is a
   landslide when most of its pixels are (``tp >= fp``), and it weighs its pixel count, so the
   filter's errors are counted in pixels, as the masks' F1 is;
3. a LightGBM classifier (:class:`ComponentFilter`) gives each area a probability from models
   that never saw its image (stratified k-fold grouped by image), then is refitted on every area;
4. the keep cut ``q`` (an area is kept when its probability reaches ``q``; ``q = 0`` keeps every
   area, the fused mask without the filter) is chosen with the decision: for each candidate in
   :data:`CUTS`, the sweep's counts with the areas below ``q`` emptied (:func:`filtered_sweep`)
   feed the fusion's joint choice of mask threshold and decision cut at the declared share, and
   the ``q`` whose cross-fitted pixel F1 there is highest is kept (ties: the smaller ``q``). The
   decision is then fitted on that filtered sweep, so the estimate ``fuse train`` prints is that of
   the masks as written, filter included; when no ``q`` above 0 helps, no filter is kept and the
   decision is fitted on the k-fold's own sweep, as without the filter.

Two approximations are worth knowing. The cut is the best of six on the same cross-fitted figure
that is printed as the estimate, which can make it optimistic (every candidate's figure is
printed and kept in ``fusion.json``; on Bijie, choosing the cut inside each cross-fitting fold
gave the same figure, ``docs/results.md``). And the filter learns from each fold model's maps but
is applied to the maps of the run at the k-fold's root (the fold models averaged, or a refit),
whose probabilities may be a little more or less confident; the run's threshold carries the same
assumption.

**Using it**: the fused masks of image regions (``fuse score --data``: ``masks/ID.png``) keep only
the areas of a kept image whose probability reaches ``q``. Region polygons over a scene keep
every area: a slope unit or a district holds many landslides and has another size than the images
the filter learned on, so its descriptors fall outside what it saw. Decisions made for another
share than the declared one keep ``q`` and re-choose the threshold and cut on the filtered sweep.

Saved as ``components.txt`` (LightGBM's text model: loading executes no code) and
``components.json`` (parameters, features, the evidence of the cut).
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
from ..regions import has_landslide, landslide_mask, region_peak
from ..segmentation.evaluation.tuning import PostSweep
from ..tabular.model import lgb_threads
from ..tabular.schema import binary_labels
from .components import COMPONENT_FEATURES, REGION_SCORES, component_features

if TYPE_CHECKING:
    from ..io.sample import Sample
    from ..segmentation.inference.predict import RegionPrediction
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

#: How far a re-predicted peak probability may lie from the k-fold's record of it.
SAME_PEAK = 1e-4


class ComponentFilter(ClassifierMixin, BaseEstimator):
    """Probability that a mask area is a landslide (module docstring), LightGBM on
    :data:`AREA_FEATURES`; ``cut`` is the keep cut (``predict``: 1 where an area is kept), set by
    the choice in ``fuse train``.

    ``fit(X, y, sample_weight, groups)`` also leaves ``oof_probability_``: each row's probability
    from a model fitted without its group (stratified ``GroupKFold`` over at most ``folds`` folds;
    groups are images), NaN where no such model could be fitted (fewer than two groups, or a
    fold's training rows of one class)."""

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

    def _booster(self, X: pd.DataFrame, y: np.ndarray, w: np.ndarray) -> lgb.Booster:
        params = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": 0.8,
            "seed": self.random_state,
            "verbosity": -1,
            "num_threads": lgb_threads(len(y), None),
            "deterministic": True,
            "force_col_wise": True,
        }
        data = lgb.Dataset(X.to_numpy(np.float64), y, weight=w, feature_name=list(AREA_FEATURES))
        return lgb.train(params, data, num_boost_round=self.n_estimators)

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray | pd.Series,
        sample_weight: np.ndarray | pd.Series | None = None,
        groups: np.ndarray | pd.Series | None = None,
    ) -> "ComponentFilter":
        """Fit on area rows ``X`` (:data:`AREA_FEATURES`), 0/1 labels ``y``, weights (pixels) and
        groups (images, for ``oof_probability_``)."""
        from sklearn.model_selection import StratifiedGroupKFold

        X = _areas(X)
        y = binary_labels(np.asarray(y), "area labels")
        if len(y) != len(X):
            raise DataError(f"the filter needs one label per area ({len(X)} areas, {len(y)} labels)")
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        w = w / w.mean()
        self.oof_probability_ = np.full(len(y), np.nan)
        k = min(self.folds, len(np.unique(groups))) if groups is not None else 0
        if k >= 2 and np.bincount(y, minlength=2).min() >= k:
            splits = StratifiedGroupKFold(k, shuffle=True, random_state=self.random_state).split(X, y, groups)
            for train, held in splits:
                if len(np.unique(y[train])) == 2:
                    self.oof_probability_[held] = self._booster(X.iloc[train], y[train], w[train]).predict(X.iloc[held])
        self.booster_ = self._booster(X, y, w)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = len(AREA_FEATURES)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """``(n, 2)``: each area's probability of not being and of being a landslide."""
        self._check()
        p = self.booster_.predict(_areas(X).to_numpy(np.float64)) if len(X) else np.zeros(0)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where an area is kept (its probability reaches ``cut``), else 0."""
        return (self.predict_proba(X)[:, 1] >= self.cut).astype(int)

    def _check(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("this ComponentFilter is not fitted yet; call fit first")

    def save(self, folder: str | os.PathLike[str], evidence: dict | None = None) -> None:
        """``components.txt`` and ``components.json`` (with ``evidence``, the cut's choice) into ``folder``."""
        self._check()
        folder = Path(folder)
        write_text(folder / FILTER_MODEL, self.booster_.model_to_string())
        meta = {"params": self.get_params(), "features": list(AREA_FEATURES), "evidence": evidence}
        write_json(folder / FILTER_META, meta)

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> "ComponentFilter | None":
        """The filter saved in ``folder``, or None when it holds none."""
        folder = Path(folder)
        if not (folder / FILTER_MODEL).is_file():
            return None
        if not (folder / FILTER_META).is_file():
            raise DataError(f"{folder}: {FILTER_MODEL} without {FILTER_META}; run 'fuse train' again")
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
    keep = area_filter.predict(areas.assign(**{c: float(region[c]) for c in REGION_SCORES})) == 1
    return (np.r_[False, keep][labels] & (mask == 1)).astype(mask.dtype)


def describe_areas(
    thresholds: np.ndarray, opening: int, closing: int, scores: Callable[[str], Mapping[str, float]]
) -> tuple[PostSweep, list[pd.DataFrame], Callable[["Sample", "RegionPrediction"], None]]:
    """A collector for labelled predictions: ``(sweep, areas, each)``. ``each(sample, prediction)``
    adds the image to ``sweep`` (its mask counts at every threshold, as
    :meth:`~landslide_fusion.segmentation.evaluation.tuning.PostSweep.update` counts them) and a
    frame of its areas at every threshold to ``areas``: descriptors, its region's ``scores(id)``,
    and ``image`` (its index in the sweep), ``step`` (the threshold's index), ``pixels``, ``tp`` and
    ``fp``. Each mask is made once and its areas' counts sum to the sweep's."""
    sweep = PostSweep(thresholds, opening, closing)
    areas: list[pd.DataFrame] = []

    def each(sample: "Sample", pred: "RegionPrediction") -> None:
        truth = (np.asarray(sample.mask) == 1) & pred.valid
        n_true, n_valid = int(truth.sum()), int(pred.valid.sum())
        image, region = len(sweep.ids), scores(str(sample.id))
        rows = np.zeros((len(sweep.thresholds), 4), np.int64)
        for step, t in enumerate(sweep.thresholds):
            m = landslide_mask(pred.probability, float(t), opening, closing, pred.valid)
            if m.any():
                labels, frame = component_features(pred.probability, m, pred.valid, float(t))
                tp = np.bincount(labels[truth], minlength=len(frame) + 1)[1:]
                pixels = np.bincount(labels.ravel(), minlength=len(frame) + 1)[1:]
                areas.append(frame.assign(**region, image=image, step=step, pixels=pixels, tp=tp, fp=pixels - tp))
                rows[step, :2] = tp.sum(), (pixels - tp).sum()
            rows[step, 2:] = n_true - rows[step, 0], n_valid - n_true - rows[step, 1]
        sweep.add(sample.id, rows, region_peak(pred.probability, pred.valid), has_landslide(sample.mask))

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
    out = sweep.subset(np.arange(len(sweep.ids)))
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
    then fitted on (filtered at the cut; the k-fold's own without a filter) and the evidence."""
    from ..config import load_config
    from ..progress import stage
    from ..segmentation.config import SegmentConfig
    from ..segmentation.training.out_of_fold import out_of_fold_predictions
    from ..segmentation.evaluation.tuning import SWEEP_FILE

    root = Path(root)
    ids = scores.index.astype(str)
    if ids.has_duplicates:
        raise DataError(f"region ids repeat ({', '.join(ids[ids.duplicated()][:5])}); each image is one region")
    post = load_config(SegmentConfig, root / "config.toml").post
    recorded = PostSweep.load(root / SWEEP_FILE)
    by_id = scores[list(REGION_SCORES)].astype(float).set_axis(ids).to_dict("index")
    base, parts, each = describe_areas(recorded.thresholds, post.opening, post.closing, lambda i: by_id[i])
    stage(f"component filter: out-of-fold maps of {len(by_id)} images", progress)
    out_of_fold_predictions(root, each, data=data, ids=list(by_id), progress=progress)
    _check_same_maps(root, base, data)
    areas = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*AREA_FEATURES, "image", "step"])
    y = (2 * areas["tp"].to_numpy(int) >= areas["pixels"].to_numpy(int)).astype(int) if len(areas) else np.zeros(0)
    evidence = {"cut": 0.0, "areas": len(areas), "landslide_areas": int(y.sum()), "images": len(base.ids)}
    if len(np.unique(y)) < 2:  # nothing to tell apart: every area is kept
        return None, recorded, {**evidence, "candidates": [], "note": "the areas are all of one kind"}
    stage(f"component filter: {len(areas)} areas, cut chosen for the declared share", progress)
    area_filter = ComponentFilter(random_state=seed).fit(areas, y, areas["pixels"], groups=areas["image"])
    held_out = area_filter.oof_probability_
    if np.isnan(held_out).any():
        evidence["note"] = f"{int(np.isnan(held_out).sum())} areas had no held-out probability and were kept"
    held_out = np.nan_to_num(held_out, nan=1.0)
    candidates, best = [], None
    for cut in CUTS:
        sweep = filtered_sweep(base, areas, held_out, cut)
        expected = fit_rule(sweep).choose(share).expected.get("pixels") or {}
        row = {"cut": cut, **{k: expected.get(k) for k in ("f1", "precision", "recall")}}
        candidates.append(row)
        if row["f1"] is not None and (best is None or row["f1"] > best[0]["f1"] + 1e-9):
            best = (row, sweep)
    evidence["candidates"] = candidates
    if best is None or best[0]["cut"] <= 0:  # the filter does not help: the masks stay whole
        return None, recorded, evidence
    area_filter.set_params(cut=best[0]["cut"])
    return area_filter, best[1], {**evidence, "cut": best[0]["cut"]}


def _check_same_maps(root: Path, sweep: PostSweep, data: str | os.PathLike[str] | None) -> None:
    """Refuse maps whose peak probabilities are not those the k-fold recorded (``oof_stats.csv``):
    other imagery under the same ids."""
    recorded = pd.read_csv(root / "oof_stats.csv", dtype={"id": str}).set_index("id")["max_probability"]
    peak = pd.Series(sweep.peaks, index=sweep.ids)
    off = (peak - recorded.reindex(peak.index)).abs() > SAME_PEAK
    if off.any():
        where = f"--data {data}" if data is not None else "the k-fold's data.root"
        raise DataError(
            f"{where}: {int(off.sum())} of {len(off)} images (ids {', '.join(peak.index[off][:5])}) are "
            f"predicted unlike {root / 'oof_stats.csv'} records them; pass the images the k-fold was trained on"
        )
