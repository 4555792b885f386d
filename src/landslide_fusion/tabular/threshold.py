"""Decision thresholds chosen on validation scores."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve

from ..errors import ConfigError

__all__ = ["choose_threshold"]


def choose_threshold(y: np.ndarray, p: np.ndarray, rule: str = "f1", target_recall: float = 0.9) -> float:
    """``f1``: the threshold of maximum F1; ``recall``: the highest threshold reaching ``target_recall``."""
    prec, rec, thr = precision_recall_curve(y, p)
    prec, rec = prec[:-1], rec[:-1]
    if rule == "f1":
        f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0)
        return float(thr[int(np.argmax(f1))])
    if rule == "recall":
        ok = np.flatnonzero(rec >= target_recall)
        return float(thr[ok[-1]]) if len(ok) else float(thr[0])
    raise ConfigError(f"unknown threshold rule {rule!r}; valid: f1, recall")
