"""Cross-validation of the tabular model: per-fold and mean +- std ROC-AUC, PR-AUC, F1 at the
tuned threshold and Brier score, plus out-of-fold predictions (the input of stacking fusion).

A leakage guard warns, naming the column, when one feature alone reaches ROC-AUC >= 0.98.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .model import LandslideGBM
from .schema import FeatureSchema
from .splits import make_splitter

__all__ = [
    "CVResult",
    "cross_validate_model",
    "detection_scores",
    "leakage_report",
    "logistic_baseline",
    "LeakageWarning",
]


class LeakageWarning(UserWarning):
    """A single feature separates the classes almost perfectly."""


def leakage_report(X: pd.DataFrame, y: np.ndarray, limit: float = 0.98) -> dict[str, float]:
    """Single-feature ROC-AUC (orientation-free) of every column reaching ``limit``; warns for each."""
    found = {}
    for c in X.columns:
        col = X[c]
        values = col.cat.codes if isinstance(col.dtype, pd.CategoricalDtype) else pd.to_numeric(col, errors="coerce")
        values = values.fillna(values.median() if values.notna().any() else 0)
        if values.nunique() < 2:
            continue
        auc = roc_auc_score(y, values)
        auc = max(auc, 1 - auc)
        if auc >= limit:
            found[str(c)] = float(auc)
            warnings.warn(
                f"possible leakage: column {c!r} alone reaches ROC-AUC {auc:.3f}; drop it or list it in exclude",
                LeakageWarning,
                stacklevel=2,
            )
    return found


def logistic_baseline(schema: FeatureSchema, class_weight: str | None = "balanced"):
    """Standardised logistic regression with one-hot categoricals and median imputation."""
    cats = list(schema.categories)
    nums = [c for c in schema.names if c not in schema.categories]
    pre = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums),
        (OneHotEncoder(handle_unknown="ignore"), cats),
    )
    return make_pipeline(pre, LogisticRegression(max_iter=2000, class_weight=class_weight))


@dataclass
class CVResult:
    per_fold: list[dict]
    mean: dict[str, float]
    std: dict[str, float]
    oof: pd.DataFrame

    def to_dict(self) -> dict:
        return {"per_fold": self.per_fold, "mean": self.mean, "std": self.std}


def detection_scores(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """ROC-AUC, PR-AUC (average precision), F1 at ``threshold`` and Brier score of scores ``p``."""
    return {
        "roc_auc": float(roc_auc_score(y, p)) if len(np.unique(y)) > 1 else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if len(np.unique(y)) > 1 else float("nan"),
        "f1": float(f1_score(y, (p >= threshold).astype(int), zero_division=0)),
        "brier": float(brier_score_loss(y, p)),
        "threshold": float(threshold),
    }


def cross_validate_model(
    X: pd.DataFrame,
    y: np.ndarray,
    model: LandslideGBM | None = None,
    *,
    splitter: str = "stratified",
    n_splits: int = 5,
    groups: np.ndarray | None = None,
    block_size: float = 1000.0,
    coords: tuple[str, str] = ("x", "y"),
    split_on: pd.DataFrame | None = None,
    ids: np.ndarray | None = None,
    baseline: bool = False,
    random_state: int = 0,
    progress: bool = False,
) -> CVResult:
    """Cross-validate ``model`` (or, with ``baseline=True``, the logistic baseline).

    Spatial CV reads ``coords`` from ``split_on`` when given (so coordinates need not be
    features), else from ``X``. The logistic baseline's threshold is chosen by max F1 on its
    training fold, like the GBM's. ``progress`` shows the folds (:func:`landslide_fusion.progress.track`).
    """
    from ..progress import track
    from .threshold import choose_threshold

    model = model or LandslideGBM(random_state=random_state)
    cv = make_splitter(splitter, n_splits, block_size=block_size, coords=coords, random_state=random_state)
    y = np.asarray(y)
    oof = np.full(len(y), np.nan)
    fold_of = np.zeros(len(y), int)
    per_fold = []
    splits = list(cv.split(X if split_on is None else split_on, y, groups))
    name = "logistic baseline" if baseline else "LightGBM"
    for k, (tr, te) in enumerate(track(splits, f"{name} {splitter} CV folds", enabled=progress), start=1):
        if baseline:
            schema = FeatureSchema.infer(X.iloc[tr], tuple(model.categorical))
            est = logistic_baseline(schema).fit(schema.transform(X.iloc[tr]), y[tr])
            p_tr = est.predict_proba(schema.transform(X.iloc[tr]))[:, 1]
            threshold = choose_threshold(y[tr], p_tr)
            p = est.predict_proba(schema.transform(X.iloc[te], unseen="missing"))[:, 1]
        else:
            est = clone(model).set_params(unseen_categories="missing").fit(X.iloc[tr], y[tr])
            p, threshold = est.predict_proba(X.iloc[te])[:, 1], est.threshold_
        oof[te] = p
        fold_of[te] = k
        per_fold.append({"fold": k, "n_test": int(len(te)), **detection_scores(y[te], p, threshold)})
    keys = ("roc_auc", "pr_auc", "f1", "brier")
    mean = {k: float(np.nanmean([f[k] for f in per_fold])) for k in keys}
    std = {k: float(np.nanstd([f[k] for f in per_fold])) for k in keys}
    frame = pd.DataFrame(
        {"id": ids if ids is not None else np.arange(len(y)), "fold": fold_of, "label": y, "probability": oof}
    )
    return CVResult(per_fold, mean, std, frame)
