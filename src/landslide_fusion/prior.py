"""The prior: the share of landslide-free regions where the models are used, and decisions made for it.

Every model of the chain gives a probability calibrated for the mix of the regions it was fitted
on: a share ``pi_0`` of landslide-free regions (Bijie's labelled images: 400 of 1,051). Where the
models are used that share is ``pi``, declared once (``--landslide-free-share``); over real
terrain most regions hold no landslide (``pi`` near 1). Two standard corrections make every
decision of the chain follow that one number.

**Probabilities** move to the new prior by Bayes' rule (Saerens, Latinne and Decaestecker,
"Adjusting the outputs of a classifier to new a priori probabilities: a simple procedure",
Neural Computation 14, 2002, eq. 2.4; Elkan, "The foundations of cost-sensitive learning",
IJCAI 2001, Theorem 2). With ``a = (1 - pi) / (1 - pi_0)`` and ``b = pi / pi_0``::

    p' = a p / (a p + b (1 - p))

(the class-conditional distributions of the inputs are assumed unchanged: only the mix moves).

**Thresholds** are chosen for the F1 a user gets at that mix. Over held-out scores of ``n_1``
landslide and ``n_0`` landslide-free regions, resampling to a share ``pi`` of landslide-free
regions multiplies the count of every landslide-free region by::

    w = (pi / (1 - pi)) / (n_0 / n_1)

so at a cut ``t`` the expected F1 is ``2 TP / (2 TP + w FP + FN)``, with TP, FP and FN counted at
``t`` (precision moves with ``w``, recall does not), and the cut that maximises it is the one for
``pi``. :class:`OperatingCurve` keeps those counts with a model (held-out scores summarised at
their distinct values), so any later command chooses the threshold for any declared prior
without the training data. A share of ``None`` (or negative, in configs) means "the mix the
model was fitted on": ``w = 1`` and no shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

__all__ = [
    "OperatingCurve",
    "check_share",
    "declared_share",
    "prior_weight",
    "shift_probability",
    "weighted_f1",
    "SHARE_HELP",
]

#: The one-line meaning of the setting, for help texts and errors.
SHARE_HELP = "expected share of landslide-free regions where the models are used (e.g. 0.9: 9 regions in 10 hold none)"


def check_share(value: float | None, name: str = "--landslide-free-share") -> float | None:
    """``value`` as a float in [0, 1), None kept; anything else is a one-line error naming it."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not 0.0 <= v < 1.0:  # NaN fails too
        raise ConfigError(f"{name} {value} is outside [0, 1): it is the {SHARE_HELP}")
    return v


def declared_share(value: float | None) -> float | None:
    """A config's share: negative means "the mix the model was fitted on" (None)."""
    return None if value is None or value < 0 else check_share(value)


def prior_weight(share: float | None, n_landslide: int, n_free: int) -> float:
    """``w`` of the module docstring: 1 without a share (None or negative) or when a class is absent."""
    if share is None or share < 0 or n_landslide == 0 or n_free == 0:
        return 1.0
    return (share / (1.0 - share)) / (n_free / n_landslide)


def shift_probability(p: np.ndarray | float, trained_share: float | None, share: float | None) -> np.ndarray:
    """Probabilities calibrated at a landslide-free share ``trained_share``, moved to ``share``
    (module docstring); unchanged when either is None or they are equal."""
    p = np.asarray(p, dtype=float)
    if share is None or trained_share is None or share == trained_share:
        return p
    if not 0.0 < trained_share < 1.0:
        return p  # a model fitted on one class only has no mix to move from
    a, b = (1.0 - share) / (1.0 - trained_share), share / trained_share
    num = a * p
    return np.divide(num, num + b * (1.0 - p), out=np.zeros_like(p), where=(num + b * (1.0 - p)) > 0)


def weighted_f1(tp: np.ndarray, fp_landslide: np.ndarray, fp_free: np.ndarray, fn: np.ndarray, w: float) -> np.ndarray:
    """``2 TP / (2 TP + FP_landslide + w FP_free + FN)`` (0 where TP is 0): F1 at the mix of ``w``,
    false positives split by the kind of region they fall in."""
    tp = np.asarray(tp, dtype=float)
    den = 2 * tp + fp_landslide + w * np.asarray(fp_free, dtype=float) + fn
    return np.where(tp > 0, 2 * tp / np.maximum(den, 1e-12), 0.0)


@dataclass(frozen=True)
class OperatingCurve:
    """Held-out scores of a binary classifier, summarised for choosing thresholds at any prior.

    ``cuts`` are the distinct scores in descending order; ``tp[i]`` and ``fp[i]`` count the
    landslide and landslide-free regions scoring at least ``cuts[i]``.
    """

    cuts: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    positives: int
    negatives: int

    @classmethod
    def from_scores(cls, y: np.ndarray, scores: np.ndarray) -> "OperatingCurve":
        """The curve of labels ``y`` (0/1) and held-out ``scores`` (higher: more likely landslide)."""
        y = np.asarray(y, dtype=int)
        s = np.asarray(scores, dtype=float)
        order = np.argsort(-s, kind="stable")
        s, y = s[order], y[order]
        last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1] if len(s) else np.array([], int)
        tp = np.cumsum(y)[last] if len(s) else np.array([], int)
        return cls(s[last], tp, (last + 1) - tp, int(y.sum()), int(len(y) - y.sum()))

    @property
    def trained_share(self) -> float | None:
        """The landslide-free share of the regions behind the curve (None without regions)."""
        n = self.positives + self.negatives
        return self.negatives / n if n else None

    def weight(self, share: float | None) -> float:
        return prior_weight(share, self.positives, self.negatives)

    def counts(self, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(tp, fp)``: landslide and landslide-free regions scoring at least each of ``cuts``
        (any values, not only the curve's own)."""
        i = np.searchsorted(-self.cuts, -np.asarray(cuts, float), side="right") - 1  # the last own cut >= each
        ok = i >= 0
        tp, fp = np.zeros(len(i)), np.zeros(len(i))
        tp[ok], fp[ok] = self.tp[i[ok]], self.fp[i[ok]]
        return tp, fp

    def threshold(
        self,
        share: float | None = None,
        rule: str = "f1",
        target_recall: float = 0.9,
        candidates: np.ndarray | None = None,
    ) -> float:
        """The cut for ``share`` among ``candidates`` (default: the curve's own cuts): ``f1``, the
        highest expected F1 (ties to the higher cut); ``recall``, the highest cut reaching
        ``target_recall`` (the prior does not move recall)."""
        cuts = self.cuts if candidates is None else np.sort(np.asarray(candidates, float))[::-1]
        if not len(cuts):
            raise ConfigError("no held-out scores to choose a threshold from")
        tp, fp = self.counts(cuts)
        if rule == "f1":
            return float(cuts[np.argmax(weighted_f1(tp, 0, fp, self.positives - tp, self.weight(share)))])
        if rule == "recall":
            reach = np.flatnonzero(tp >= target_recall * self.positives)
            return float(cuts[reach[0]]) if len(reach) else float(cuts[-1])
        raise ConfigError(f"unknown threshold rule {rule!r}; valid: f1, recall")

    def expected(self, threshold: float, share: float | None = None) -> dict[str, float]:
        """Precision, recall and F1 expected at ``threshold`` for ``share`` (from the held-out counts)."""
        (tp,), (fp,) = self.counts(np.array([threshold]))
        w = self.weight(share)
        precision = tp / (tp + w * fp) if tp + fp > 0 else 0.0
        recall = tp / self.positives if self.positives else 0.0
        f1 = float(weighted_f1(tp, 0.0, fp, self.positives - tp, w))
        return {"precision": precision, "recall": recall, "f1": f1}

    def shift(self, p: np.ndarray | float, share: float | None) -> np.ndarray:
        """Probabilities calibrated on the curve's regions, moved to ``share``."""
        return shift_probability(p, self.trained_share, share)

    def to_dict(self) -> dict:
        return {
            "cuts": self.cuts.tolist(),
            "tp": self.tp.tolist(),
            "fp": self.fp.tolist(),
            "positives": self.positives,
            "negatives": self.negatives,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "OperatingCurve":
        return cls(
            np.asarray(d["cuts"], float),
            np.asarray(d["tp"], int),
            np.asarray(d["fp"], int),
            int(d["positives"]),
            int(d["negatives"]),
        )
