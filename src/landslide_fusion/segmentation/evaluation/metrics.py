"""Pixel metrics from a confusion matrix accumulated over a whole set (not averaged per batch).

Landslide class (positive): precision ``TP/(TP+FP)``, recall ``TP/(TP+FN)``, F1
``2TP/(2TP+FP+FN)``, IoU ``TP/(TP+FP+FN)``. ``miou`` averages the IoU of both classes.
``mean_f1`` averages the F1 of both classes: this is the figure the RAU-Net authors' code
reports as "F1", kept under its own name so numbers compare honestly (it is dominated by the
easy background class).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["ConfusionMatrix", "ThresholdSweep", "THRESHOLDS"]

#: Candidate decision thresholds swept on validation: 0.05, 0.10, ..., 0.95.
THRESHOLDS = np.round(np.linspace(0.05, 0.95, 19), 4)


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else 0.0


@dataclass
class ConfusionMatrix:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> "ConfusionMatrix":
        p, t = pred.bool(), target.bool()
        self.tp += int((p & t).sum())
        self.fp += int((p & ~t).sum())
        self.fn += int((~p & t).sum())
        self.tn += int((~p & ~t).sum())
        return self

    def __add__(self, other: "ConfusionMatrix") -> "ConfusionMatrix":
        return ConfusionMatrix(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)

    def scaled(self, w: float) -> "ConfusionMatrix":
        """Every count times ``w`` (a class of images weighted to another mix)."""
        return self if w == 1 else ConfusionMatrix(self.tp * w, self.fp * w, self.fn * w, self.tn * w)

    def as_dict(self) -> dict[str, float]:
        tp, fp, fn, tn = self.tp, self.fp, self.fn, self.tn
        f1, iou = _ratio(2 * tp, 2 * tp + fp + fn), _ratio(tp, tp + fp + fn)
        f1_bg, iou_bg = _ratio(2 * tn, 2 * tn + fp + fn), _ratio(tn, tn + fp + fn)
        return {
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
            "f1": f1,
            "iou": iou,
            "miou": (iou + iou_bg) / 2,
            "mean_f1": (f1 + f1_bg) / 2,
            "accuracy": _ratio(tp + tn, tp + fp + fn + tn),
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": tn,
        }


class ThresholdSweep:
    """Confusion counts at many thresholds at once, to tune the decision threshold on validation."""

    def __init__(self, thresholds: np.ndarray | None = None) -> None:
        self.thresholds = THRESHOLDS if thresholds is None else np.asarray(thresholds)
        self.cms = [ConfusionMatrix() for _ in self.thresholds]

    def update(self, prob: torch.Tensor, target: torch.Tensor) -> None:
        for t, cm in zip(self.thresholds, self.cms):
            cm.update(prob >= t, target)

    def best(self) -> tuple[float, dict[str, float]]:
        """The threshold with the highest landslide F1 (ties: the one closest to 0.5)."""
        scores = [(cm.as_dict()["f1"], -abs(t - 0.5), i) for i, (t, cm) in enumerate(zip(self.thresholds, self.cms))]
        i = max(scores)[2]
        return float(self.thresholds[i]), self.cms[i].as_dict()
