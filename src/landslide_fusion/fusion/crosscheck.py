"""``CrossCheckFusion``: the two models vote, and every disagreement is listed for a person.

With the tabular probability ``p_t``, the image score ``p_i`` (default: the region's peak
landslide probability) and their thresholds ``t_t``, ``t_i``, each model decides
``d_t = p_t >= t_t`` and ``d_i = p_i >= t_i``. Policies:

* ``both``: landslide when ``d_t and d_i``; risk score ``min(p_t, p_i)`` (conservative);
* ``either``: landslide when ``d_t or d_i``; risk score ``max(p_t, p_i)`` (high recall);
* ``weighted``: risk score ``w p_t + (1 - w) p_i``, landslide when it reaches ``threshold``.

Thresholds left as None are tuned by maximum F1 in ``fit`` (which then needs labels); with all
thresholds given, ``fit`` needs no labels. A disagreement is a region where ``d_t != d_i``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from ..errors import ConfigError, NotFittedError
from ..io.tables import require_columns
from ..tabular.schema import binary_labels
from ..tabular.threshold import choose_threshold
from .stacking import TABULAR_COLUMN

if TYPE_CHECKING:
    from .config import FusionConfig

__all__ = ["CrossCheckFusion", "POLICIES"]

POLICIES = ("both", "either", "weighted")


class CrossCheckFusion(ClassifierMixin, BaseEstimator):
    """Agreement-based fusion of a tabular probability and an image score (see the module docstring)."""

    def __init__(
        self,
        policy: str = "weighted",
        weight: float = 0.5,
        tabular_column: str = TABULAR_COLUMN,
        image_column: str = "max_probability",
        tabular_threshold: float | None = None,
        image_threshold: float | None = None,
        threshold: float | None = None,
    ) -> None:
        self.policy = policy
        self.weight = weight
        self.tabular_column = tabular_column
        self.image_column = image_column
        self.tabular_threshold = tabular_threshold
        self.image_threshold = image_threshold
        self.threshold = threshold

    #: Registered name (config ``method = "crosscheck"``); see :mod:`landslide_fusion.fusion.methods`.
    name = "crosscheck"

    @classmethod
    def from_config(cls, cfg: "FusionConfig") -> "CrossCheckFusion":
        """Unfitted cross-check with the options of ``[crosscheck]`` (thresholds tuned in ``fit``)."""
        c = cfg.crosscheck
        return cls(policy=c.policy, weight=c.weight, image_column=c.image_column)

    def _scores(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        require_columns(X, [self.tabular_column, self.image_column], "fusion input")
        return (
            pd.to_numeric(X[self.tabular_column]).to_numpy(float),
            pd.to_numeric(X[self.image_column]).to_numpy(float),
        )

    def _combine(self, pt: np.ndarray, pi: np.ndarray) -> np.ndarray:
        if self.policy == "both":
            return np.minimum(pt, pi)
        if self.policy == "either":
            return np.maximum(pt, pi)
        return self.weight * pt + (1 - self.weight) * pi

    def fit(self, X: pd.DataFrame, y=None) -> "CrossCheckFusion":
        if self.policy not in POLICIES:
            raise ConfigError(f"unknown cross-check policy {self.policy!r}; valid: {', '.join(POLICIES)}")
        if not 0.0 <= self.weight <= 1.0:
            raise ConfigError(f"weight {self.weight} is outside [0, 1]; it is the tabular model's share")
        pt, pi = self._scores(X)
        needs = [
            n
            for n, v in (
                ("tabular_threshold", self.tabular_threshold),
                ("image_threshold", self.image_threshold),
                ("threshold", self.threshold if self.policy == "weighted" else 0.0),
            )
            if v is None
        ]
        if needs and y is None:
            raise ConfigError(f"cross-check needs labels to tune {', '.join(needs)}; pass y or set them")
        y = None if y is None else binary_labels(y, "fusion labels")
        self.tabular_threshold_ = (
            self.tabular_threshold if self.tabular_threshold is not None else choose_threshold(y, pt)
        )
        self.image_threshold_ = self.image_threshold if self.image_threshold is not None else choose_threshold(y, pi)
        if self.policy == "weighted":
            self.threshold_ = (
                self.threshold if self.threshold is not None else choose_threshold(y, self._combine(pt, pi))
            )
        else:
            self.threshold_ = float("nan")
        self.classes_ = np.array([0, 1])
        return self

    def _check(self) -> None:
        if not hasattr(self, "tabular_threshold_"):
            raise NotFittedError("this CrossCheckFusion is not fitted; call fit(X, y) first")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Risk score per policy, as ``[1 - s, s]`` columns."""
        self._check()
        s = np.clip(self._combine(*self._scores(X)), 0.0, 1.0)
        return np.column_stack([1 - s, s])

    def votes(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Each model's 0/1 decision: ``(tabular, image)``."""
        self._check()
        pt, pi = self._scores(X)
        return (pt >= self.tabular_threshold_).astype(int), (pi >= self.image_threshold_).astype(int)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        dt, di = self.votes(X)
        if self.policy == "both":
            return dt & di
        if self.policy == "either":
            return dt | di
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)

    def report(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per region: both scores, both votes, ``agree``, the fused decision and score (index kept)."""
        pt, pi = self._scores(X)
        dt, di = self.votes(X)
        return pd.DataFrame(
            {
                "tabular_probability": pt,
                "image_score": pi,
                "tabular_vote": dt,
                "image_vote": di,
                "agree": (dt == di).astype(int),
                "fused_score": self.predict_proba(X)[:, 1],
                "landslide": self.predict(X),
            },
            index=X.index,
        )

    def disagreements(self, X: pd.DataFrame) -> pd.DataFrame:
        """The rows of :meth:`report` where the two models disagree, most confident conflicts first."""
        r = self.report(X)
        r = r[r["agree"] == 0]
        return r.reindex((r["tabular_probability"] - r["image_score"]).abs().sort_values(ascending=False).index)

    def to_dict(self) -> dict:
        self._check()
        return {
            "method": self.name,
            "params": self.get_params(),
            "tabular_threshold": self.tabular_threshold_,
            "image_threshold": self.image_threshold_,
            "threshold": self.threshold_,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "CrossCheckFusion":
        self = cls(**d["params"])
        self.tabular_threshold_ = float(d["tabular_threshold"])
        self.image_threshold_ = float(d["image_threshold"])
        self.threshold_ = float("nan") if d["threshold"] is None else float(d["threshold"])
        self.classes_ = np.array([0, 1])
        return self
