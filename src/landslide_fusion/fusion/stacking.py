"""``StackingFusion``: a meta-learner over the out-of-fold outputs of both base models.

Stacked generalisation (Wolpert, 1992): the inputs are per-region outputs of the base models
that were produced *without* seeing the region (out-of-fold or held-out predictions: the
tabular model's ``oof.csv``, a segmentation k-fold's ``oof_stats.csv``, or predictions on a
split neither model trained on). Fitting on in-sample predictions would teach the
meta-learner to trust over-fitted scores.

Inputs are mapped before the meta-learner: probabilities ``p`` (the columns in
:data:`LOGIT_COLUMNS`) to ``logit(clip(p, 1e-4, 1 - 1e-4))``, counts and areas to ``log1p``.
Each mapped input is then clipped to the range it spanned in ``fit`` (``input_min_``,
``input_max_``): a linear meta-learner extrapolates without bound, so a region whose statistics lie
outside anything seen in training (another run, another sensor) would otherwise get a margin of
hundreds and a risk score like 1e-33; clipped, it scores as the most extreme training region
on that input. The meta-learner is a standardised logistic regression (default) or a small LightGBM. ``fit``
computes the meta-learner's own out-of-fold margins (stratified k-fold), fits the calibration on
them (``sigmoid`` = Platt, ``isotonic``, or ``none``) and picks the decision threshold on the
calibrated out-of-fold probabilities; the final meta-learner is then fitted on all rows.
Everything learned is plain numbers or LightGBM text (``to_dict``): loading executes no code.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold

from ..errors import ConfigError, DataError, NotFittedError, SchemaError
from ..io.atomic import write_json
from ..io.geojson import GEOMETRY_COLUMNS
from ..tabular.calibration import Calibrator
from ..tabular.schema import binary_labels
from ..tabular.threshold import choose_threshold
from ..regions import PROBABILITY_COLUMNS

if TYPE_CHECKING:
    from .config import FusionConfig

__all__ = [
    "StackingFusion",
    "TABULAR_COLUMN",
    "IMAGE_FEATURES",
    "LOGIT_COLUMNS",
    "NOT_FEATURES",
    "stacking_inputs",
    "META_LEARNERS",
]

#: The tabular model's (held-out) probability, as a column of the region frame.
TABULAR_COLUMN = "tabular_probability"
#: Image-side statistics the stacker may take (``image_columns``); the first is the image side's
#: score, which :func:`~landslide_fusion.fusion.inputs.choose_image_columns` keeps alone unless the
#: others earn their place in cross-validation.
IMAGE_FEATURES = (
    "max_probability",
    "p95_probability",
    "mean_probability",
    "landslide_fraction",
    "mean_probability_in_mask",
    "n_components",
)
LOGIT_COLUMNS = (*PROBABILITY_COLUMNS, TABULAR_COLUMN)
_LOG_COLUMNS = ("n_components", "largest_component_px", "largest_component_area", "n_pixels")
#: Columns never taken as inputs by default: labels, folds, decisions and votes, ids and geometry.
NOT_FEATURES = (
    "label",
    "landslide",
    "decision",
    "fold",
    "target",
    "y",
    "id",
    "tabular_vote",
    "image_vote",
    "agree",
    *GEOMETRY_COLUMNS,
)
META_LEARNERS = ("logistic", "lightgbm")
_EPS = 1e-4


def stacking_inputs(X: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The meta-learner's input matrix: logit of probabilities, log1p of counts, others as-is."""
    out = np.empty((len(X), len(columns)))
    for j, c in enumerate(columns):
        v = pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=float)
        if np.isnan(v).any():
            raise DataError(
                f"column {c!r} has {int(np.isnan(v).sum())} missing or non-numeric values; "
                "fusion inputs must be complete numbers"
            )
        if c in LOGIT_COLUMNS:
            p = np.clip(v, _EPS, 1 - _EPS)
            v = np.log(p / (1 - p))
        elif c in _LOG_COLUMNS:
            v = np.log1p(np.maximum(v, 0))
        out[:, j] = v
    return out


def _feature_columns(X: pd.DataFrame) -> list[str]:
    """The default inputs: numeric columns that are not labels, folds, decisions or geometry;
    an all-missing column is left out with a warning."""
    cols = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) and str(c).lower() not in NOT_FEATURES]
    empty = [c for c in cols if X[c].isna().all()]
    if empty:
        warnings.warn(
            f"column(s) {', '.join(map(str, empty))} hold no value and are left out of the stacker",
            UserWarning,
            stacklevel=3,
        )
    return [c for c in cols if c not in empty]


def _fit_meta(kind: str, Z: np.ndarray, y: np.ndarray, C: float, seed: int) -> dict:
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        mean, scale = Z.mean(0), Z.std(0)
        scale = np.where(scale > 0, scale, 1.0)
        lr = LogisticRegression(C=C, max_iter=1000).fit((Z - mean) / scale, y)
        return {
            "kind": kind,
            "mean": mean.tolist(),
            "scale": scale.tolist(),
            "coef": lr.coef_[0].tolist(),
            "intercept": float(lr.intercept_[0]),
        }
    if kind == "lightgbm":
        import lightgbm as lgb

        params = {
            "objective": "binary",
            "learning_rate": 0.05,
            "num_leaves": 4,
            "min_child_samples": 10,
            "verbosity": -1,
            "seed": seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": 0,
        }
        booster = lgb.train(params, lgb.Dataset(Z, y), num_boost_round=200)
        return {"kind": kind, "model": booster.model_to_string()}
    raise ConfigError(f"unknown meta-learner {kind!r}; valid: {', '.join(META_LEARNERS)}")


def _margin(meta: dict, Z: np.ndarray, cache: dict) -> np.ndarray:
    if meta["kind"] == "logistic":
        return ((Z - np.asarray(meta["mean"])) / np.asarray(meta["scale"])) @ np.asarray(meta["coef"]) + meta[
            "intercept"
        ]
    if "booster" not in cache:
        import lightgbm as lgb

        cache["booster"] = lgb.Booster(model_str=meta["model"])
    return cache["booster"].predict(Z, raw_score=True)


class StackingFusion(ClassifierMixin, BaseEstimator):
    """Stacked fusion of base-model outputs into one calibrated landslide probability.

    Parameters:
        columns: input columns (default: every numeric column of X but labels, folds, decisions,
            ids and geometry (:data:`NOT_FEATURES`); all-missing columns are left out with a warning).
        meta: ``"logistic"`` or ``"lightgbm"``.
        C: inverse L2 strength of the logistic meta-learner.
        calibration: ``"sigmoid"``, ``"isotonic"`` or ``"none"``.
        folds: folds of the internal cross-validation (calibration and threshold).
        threshold_rule, target_recall: how the decision threshold is chosen (``f1`` or ``recall``).
        random_state: seed of the folds and of LightGBM.
    """

    def __init__(
        self,
        columns: tuple[str, ...] | None = None,
        meta: str = "logistic",
        C: float = 1.0,
        calibration: str = "sigmoid",
        folds: int = 5,
        threshold_rule: str = "f1",
        target_recall: float = 0.9,
        random_state: int = 0,
    ) -> None:
        self.columns = columns
        self.meta = meta
        self.C = C
        self.calibration = calibration
        self.folds = folds
        self.threshold_rule = threshold_rule
        self.target_recall = target_recall
        self.random_state = random_state

    #: Registered name (config ``method = "stacking"``); see :mod:`landslide_fusion.fusion.methods`.
    name = "stacking"

    @classmethod
    def from_config(cls, cfg: "FusionConfig") -> "StackingFusion":
        """Unfitted stacker over the tabular probability and ``cfg.image_columns``, options from ``[stacking]``."""
        s = cfg.stacking
        return cls(
            columns=(TABULAR_COLUMN, *cfg.image_columns),
            meta=s.meta,
            C=s.C,
            calibration=s.calibration,
            folds=s.folds,
            threshold_rule=s.threshold_rule,
            target_recall=s.target_recall,
            random_state=cfg.seed,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _inputs(self, X, fitting: bool = False) -> np.ndarray:
        if not isinstance(X, pd.DataFrame):
            from sklearn.utils.validation import check_array

            arr = check_array(X, dtype=float)  # scikit-learn's messages for sparse, complex, empty, NaN, 1-D input
            if not fitting and arr.shape[1] != self.n_features_in_:
                raise DataError(
                    f"X has {arr.shape[1]} features, but StackingFusion is expecting {self.n_features_in_} "
                    "features as input"
                )
            X = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
        if fitting:
            cols = list(self.columns) if self.columns else _feature_columns(X)
            if not cols:
                raise SchemaError("no numeric input columns for the stacker; pass columns=...")
            self.columns_ = cols
        missing = [c for c in self.columns_ if c not in X.columns]
        if missing:
            raise SchemaError(
                f"fusion input lacks column(s) {', '.join(missing)}; it was fitted on {', '.join(self.columns_)}"
            )
        Z = stacking_inputs(X, self.columns_)
        if fitting or getattr(self, "input_min_", None) is None:
            return Z
        return np.clip(Z, self.input_min_, self.input_max_)

    def fit(self, X, y) -> "StackingFusion":
        Z = self._inputs(X, fitting=True)
        y = binary_labels(y, "fusion labels")
        if len(y) != len(Z):
            raise DataError(f"X has {len(Z)} regions but y has {len(y)} labels")
        k = min(self.folds, int(np.bincount(y).min()))
        if k < 2:
            raise DataError(
                f"the stacker needs at least 2 regions of each class; got {np.bincount(y).tolist()} (no, yes)"
            )
        oof = np.zeros(len(y))
        for tr, te in StratifiedKFold(k, shuffle=True, random_state=self.random_state).split(Z, y):
            oof[te] = _margin(_fit_meta(self.meta, Z[tr], y[tr], self.C, self.random_state), Z[te], {})
        self.calibrator_ = Calibrator(self.calibration).fit(oof, y)
        self.oof_probability_ = self.calibrator_(oof)
        self.threshold_ = choose_threshold(y, self.oof_probability_, self.threshold_rule, self.target_recall)
        self.meta_ = _fit_meta(self.meta, Z, y, self.C, self.random_state)
        self.input_min_, self.input_max_ = Z.min(0), Z.max(0)
        self._cache: dict = {}
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = Z.shape[1]
        return self

    def _check(self) -> None:
        if not hasattr(self, "meta_"):
            raise NotFittedError("this StackingFusion is not fitted; call fit(X, y) or StackingFusion.load(path) first")

    def decision_function(self, X) -> np.ndarray:
        """The meta-learner's margin (log-odds before calibration)."""
        self._check()
        return _margin(self.meta_, self._inputs(X), self.__dict__.setdefault("_cache", {}))

    def predict_proba(self, X) -> np.ndarray:
        self._check()
        p = self.calibrator_(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)

    def coefficients(self) -> pd.Series | None:
        """Standardised logistic coefficients by input column (None for LightGBM)."""
        self._check()
        return (
            pd.Series(self.meta_["coef"], index=self.columns_, name="coefficient")
            if self.meta_["kind"] == "logistic"
            else None
        )

    def to_dict(self) -> dict:
        self._check()
        return {
            "method": self.name,
            "params": {**self.get_params(), "columns": list(self.columns_)},
            "meta": self.meta_,
            "calibration": {"method": self.calibrator_.method, "params": self.calibrator_.params},
            "threshold": self.threshold_,
            "input_range": [self.input_min_.tolist(), self.input_max_.tolist()],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "StackingFusion":
        params = dict(d["params"])
        params["columns"] = tuple(params["columns"])
        self = cls(**params)
        self.columns_ = list(params["columns"])
        self.meta_ = d["meta"]
        self.calibrator_ = Calibrator(d["calibration"]["method"], d["calibration"]["params"])
        self.threshold_ = float(d["threshold"])
        lo_hi = d.get("input_range")  # absent in fusion folders written before inputs were clipped
        self.input_min_, self.input_max_ = (np.asarray(lo_hi[0]), np.asarray(lo_hi[1])) if lo_hi else (None, None)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = len(self.columns_)
        return self

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted stacker as one JSON file (atomically)."""
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "StackingFusion":
        return cls.from_dict(json.loads(Path(path).read_text()))
