"""``LandslideGBM``: a scikit-learn classifier around LightGBM for per-region landslide features.

``fit`` (1) infers the feature schema (categoricals from config or pandas dtypes; LightGBM handles
missing values natively), (2) computes out-of-fold margins with an inner stratified k-fold,
(3) fits the calibrator on those out-of-fold margins and picks the decision threshold on the
calibrated out-of-fold probabilities, and (4) trains the final booster on all rows, with early
stopping on an inner stratified validation split. Class imbalance is handled with
``class_weight="balanced"`` (each class weighted by ``n / (2 n_class)``).

Small tables: LightGBM's leaf-size and leaf-count settings are meant for thousands of rows; on a
few hundred, ``min_child_samples = 50`` leaves no legal split and the booster predicts a
constant (ROC-AUC 0.5). Each booster therefore uses (:func:`tree_params`)
``min_child_samples' = min(min_child_samples, max(5, n // 20))`` and
``num_leaves' = min(num_leaves, max(2, n // (2 min_child_samples')))`` for the ``n`` rows it is
trained on: a leaf holds at least 5 % of them (at least 5 rows), and a tree has room for its
leaves; from 1000 rows on the defaults apply unchanged.

Threads: LightGBM's trees are parallelised over features and rows, which pays on large tables
and costs on small ones (thread start-up and synchronisation per split, and every thread
competing with whatever else the cores run): on 2,000 rows with another process busy, 5 folds
took 4.6 s with 2 threads and 0.7 s with 1 (issue #24). ``n_jobs=None`` therefore chooses by
table size (:func:`lgb_threads`): 1 thread below :data:`THREADED_ROWS` rows, else every core;
``n_jobs=k`` uses ``k``, ``-1`` every core (``gbm.threads``, ``tabular train --threads``).

Saved as LightGBM's own text model (``model.txt``) plus ``meta.json`` (schema, calibration,
threshold, parameters, a SHA-256 of the training data): loading never executes code.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold, train_test_split

from ..errors import DataError, NotFittedError
from ..io.atomic import output_dir, write_json, write_text
from ..prior import OperatingCurve, check_share
from .calibration import Calibrator
from .schema import FeatureSchema, binary_labels

__all__ = ["LandslideGBM", "tree_params", "data_sha256", "lgb_threads", "THREADED_ROWS"]

#: Rows from which a booster is trained on every core when ``n_jobs`` is None.
THREADED_ROWS = 20_000


def lgb_threads(n_rows: int, n_jobs: int | None) -> int:
    """LightGBM threads for a booster on ``n_rows`` rows (see the module docstring)."""
    if n_jobs is None:
        return 1 if n_rows < THREADED_ROWS else (os.cpu_count() or 1)
    return (os.cpu_count() or 1) if n_jobs < 0 else max(1, n_jobs)


def tree_params(n_rows: int, min_child_samples: int, num_leaves: int) -> dict[str, int]:
    """Leaf size and leaf count scaled to the rows a booster trains on (see the module docstring)."""
    mcs = max(1, min(min_child_samples, max(5, n_rows // 20)))
    return {"min_child_samples": mcs, "num_leaves": max(2, min(num_leaves, max(2, n_rows // (2 * mcs))))}


def _frame(X, expected: int | None = None) -> pd.DataFrame:
    """``X`` as a DataFrame; arrays get columns ``x0, x1, ...`` and must have ``expected`` columns."""
    if isinstance(X, pd.DataFrame):
        return X
    from sklearn.utils.validation import check_array

    # scikit-learn's messages for sparse, complex, empty and 1-D input; NaN stays (LightGBM's missing)
    arr = check_array(X, dtype=None, ensure_all_finite="allow-nan")
    if expected is not None and arr.shape[1] != expected:
        raise DataError(f"X has {arr.shape[1]} features, but LandslideGBM is expecting {expected} features as input")
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


def data_sha256(X: pd.DataFrame, y: np.ndarray) -> str:
    """SHA-256 of a feature frame and its labels (row order matters, the index does not)."""
    return hashlib.sha256(pd.util.hash_pandas_object(X.assign(_y=y), index=False).values.tobytes()).hexdigest()


class LandslideGBM(ClassifierMixin, BaseEstimator):
    """Gradient-boosted landslide classifier with calibration and a tuned threshold.

    Parameters are LightGBM's (``n_estimators``, ``learning_rate``, ``num_leaves``,
    ``min_child_samples``, ``subsample``, ``colsample_bytree``, ``reg_lambda``) plus:
    ``class_weight`` (``"balanced"`` or None), ``early_stopping_rounds``,
    ``validation_fraction`` (inner split for early stopping), ``categorical`` (column names),
    ``calibration`` (``auto``: isotonic from 1000 rows on, else sigmoid; ``isotonic``, ``sigmoid``,
    ``none``), ``calibration_folds``,
    ``threshold_rule`` (``f1`` or ``recall``), ``target_recall``, ``unseen_categories``
    (``error``: predicting a category absent from training raises; ``missing``: it is treated
    as a missing value) and ``n_jobs`` (LightGBM threads; None: by table size, see the module
    docstring; -1: every core).
    """

    def __init__(
        self,
        n_estimators: int = 1500,
        learning_rate: float = 0.02,
        num_leaves: int = 7,
        min_child_samples: int = 50,
        subsample: float = 0.8,
        colsample_bytree: float = 0.6,
        reg_lambda: float = 1.0,
        class_weight: str | None = "balanced",
        early_stopping_rounds: int = 150,
        validation_fraction: float = 0.15,
        categorical: tuple[str, ...] = (),
        calibration: str = "auto",
        calibration_folds: int = 3,
        threshold_rule: str = "f1",
        target_recall: float = 0.9,
        unseen_categories: str = "error",
        random_state: int = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.class_weight = class_weight
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.categorical = categorical
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.threshold_rule = threshold_rule
        self.target_recall = target_recall
        self.unseen_categories = unseen_categories
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # landslide / no landslide
        tags.input_tags.allow_nan = True  # LightGBM treats NaN as missing
        return tags

    def _lgb_params(self, n_rows: int) -> dict:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            **tree_params(n_rows, self.min_child_samples, self.num_leaves),
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "seed": self.random_state,
            "verbosity": -1,
            "num_threads": lgb_threads(n_rows, self.n_jobs),
            "deterministic": True,
            "force_col_wise": True,
        }

    def _weights(self, y: np.ndarray) -> np.ndarray | None:
        if self.class_weight != "balanced":
            return None
        counts = np.bincount(y, minlength=2)
        return (len(y) / (2.0 * counts))[y]

    def _train_booster(self, X: pd.DataFrame, y: np.ndarray) -> lgb.Booster:
        strat = y if np.bincount(y).min() >= 2 else None
        tr, va = train_test_split(
            np.arange(len(y)), test_size=self.validation_fraction, random_state=self.random_state, stratify=strat
        )
        w = self._weights(y)
        dtr = lgb.Dataset(
            X.iloc[tr],
            y[tr],
            weight=None if w is None else w[tr],
            categorical_feature=list(self.schema_.categories) or "auto",
            free_raw_data=False,
        )
        dva = lgb.Dataset(X.iloc[va], y[va], weight=None if w is None else w[va], reference=dtr)
        return lgb.train(
            self._lgb_params(len(tr)),
            dtr,
            num_boost_round=self.n_estimators,
            valid_sets=[dva],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )

    def fit(self, X, y) -> "LandslideGBM":
        X = _frame(X)
        y = binary_labels(y)
        if len(X) != len(y):
            raise DataError(f"X has {len(X)} rows but y has {len(y)}")
        self.schema_ = FeatureSchema.infer(X, tuple(self.categorical))
        Xt = self.schema_.transform(X)
        self.feature_names_in_ = np.array(self.schema_.names, dtype=object)
        self.n_features_in_ = len(self.schema_.names)
        self.classes_ = np.array([0, 1])
        oof = np.zeros(len(y))
        folds = StratifiedKFold(self.calibration_folds, shuffle=True, random_state=self.random_state)
        for tr, va in folds.split(Xt, y):
            oof[va] = self._train_booster(Xt.iloc[tr], y[tr]).predict(Xt.iloc[va], raw_score=True)
        self.calibrator_ = Calibrator(self.calibration).fit(oof, y)
        self.oof_probability_ = self.calibrator_(oof)
        self.curve_ = OperatingCurve.from_scores(y, self.oof_probability_)
        self.threshold_ = self.curve_.threshold(None, self.threshold_rule, self.target_recall)
        self.booster_ = self._train_booster(Xt, y)
        self.best_iteration_ = int(self.booster_.best_iteration or self.booster_.current_iteration())
        self.data_hash_ = data_sha256(X, y)
        self.tree_params_ = tree_params(len(y), self.min_child_samples, self.num_leaves)
        return self

    def _check(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("this LandslideGBM is not fitted; call fit(X, y) or LandslideGBM.load(path) first")

    def decision_function(self, X, source: str = "input") -> np.ndarray:
        """Raw LightGBM margin (log-odds before calibration); ``source`` names X in errors."""
        self._check()
        return self.booster_.predict(self.transform_features(X, source), raw_score=True)

    def predict_proba(self, X, source: str = "input") -> np.ndarray:
        self._check()
        p = self.calibrator_(self.decision_function(X, source))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)

    def threshold_at(self, landslide_free_share: float | None) -> float:
        """The decision threshold for a share of landslide-free regions (None: as trained), chosen
        on the model's held-out probabilities (:class:`~landslide_fusion.prior.OperatingCurve`)."""
        self._check()
        share = check_share(landslide_free_share)
        if share is None:
            return self.threshold_
        if getattr(self, "curve_", None) is None:
            raise DataError(
                "this tabular model was saved before decisions for a declared prior; train it again to "
                "use --landslide-free-share"
            )
        return self.curve_.threshold(share, self.threshold_rule, self.target_recall)

    def transform_features(self, X, source: str = "input") -> pd.DataFrame:
        """The frame LightGBM sees (ordered features, encoded categoricals)."""
        self._check()
        return self.schema_.transform(_frame(X, self.n_features_in_), source, unseen=self.unseen_categories)

    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
        """Write ``model.txt`` and ``meta.json`` into folder ``path`` atomically."""
        self._check()
        with output_dir(path, overwrite) as tmp:
            write_text(tmp / "model.txt", self.booster_.model_to_string())
            write_json(
                tmp / "meta.json",
                {
                    "params": self.get_params(),
                    "schema": self.schema_.to_dict(),
                    "calibration": {"method": self.calibrator_.method, "params": self.calibrator_.params},
                    "threshold": self.threshold_,
                    "operating_curve": self.curve_.to_dict() if getattr(self, "curve_", None) is not None else None,
                    "best_iteration": self.best_iteration_,
                    "data_sha256": self.data_hash_,
                    "tree_params": getattr(self, "tree_params_", None),
                },
            )
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "LandslideGBM":
        path = Path(path)
        if not (path / "model.txt").is_file() or not (path / "meta.json").is_file():
            raise DataError(
                f"{path}: not a tabular model (needs model.txt and meta.json); pass a folder written by 'tabular train'"
            )
        meta = json.loads((path / "meta.json").read_text())
        params = meta["params"]
        params["categorical"] = tuple(params.get("categorical", ()))
        self = cls(**params)
        self.booster_ = lgb.Booster(model_str=(path / "model.txt").read_text())
        self.schema_ = FeatureSchema.from_dict(meta["schema"])
        self.feature_names_in_ = np.array(self.schema_.names, dtype=object)
        self.n_features_in_ = len(self.schema_.names)
        self.classes_ = np.array([0, 1])
        self.calibrator_ = Calibrator(meta["calibration"]["method"], meta["calibration"]["params"])
        self.threshold_ = float(meta["threshold"])
        curve = meta.get("operating_curve")  # absent in models saved before declared priors
        self.curve_ = OperatingCurve.from_dict(curve) if curve else None
        self.best_iteration_ = int(meta["best_iteration"])
        self.data_hash_ = meta["data_sha256"]
        return self
