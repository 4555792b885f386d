"""One decision per region, its risk, and the mask it confirms, for a declared prior.

The fusion's probability ``p`` of a region (stacking: the meta-learner's calibrated output;
cross-check: its combined score) becomes what a person reads, all from that one number and the
declared share ``pi`` of landslide-free regions (:mod:`landslide_fusion.prior`):

* **risk score** ``p' = shift(p)``: the probability that the region holds a landslide where a
  share ``pi`` of the regions hold none (Saerens et al. 2002; a calibrated stacker only: a
  cross-check score is not a probability and is not shifted);
* **risk class**: ``p'`` cut at ``risk.edges`` into low, moderate, high and very high;
* **decision**: ``p >= c``, the cut ``c`` chosen for ``pi`` on the fusion's held-out
  probabilities. Only cuts whose risk score lies in the "moderate" class ``[edges[0], edges[1]]``
  are candidates, so a region decided landslide is never "low" and a "high" or "very high" one is
  always decided landslide (for calibrated probabilities the F1-optimal cut is half the best F1,
  Lipton et al. 2014, so it lies there anyway unless the evidence is thin); when the best cut lies
  outside (a small, easily separated training set puts it at the edge of the scores) the best
  one inside is used and a note says so;
* **fused mask**: inside a region decided landslide, the pixels whose probability reaches the
  mask threshold ``t``; nothing elsewhere: the research's double check, the image model's mask
  kept only where the fusion confirms it.

When the image side's per-region mask counts at every pixel threshold are known for the
regions the fusion was fitted on (the segmentation k-fold's out-of-fold sweep, ``sweep.csv``),
``(t, c)`` are chosen together for the highest pixel F1 expected at ``pi``: the masks a user
gets, landslide-free regions weighted to ``pi`` (:class:`~landslide_fusion.segmentation.evaluation.tuning.PostSweep`).
Without them ``c`` maximises the region F1 at ``pi`` and ``t`` is the run's own threshold. The
cross-fitted figures of the same choice (made on four fifths of the regions, scored on the fifth,
at ``pi``) are the estimate for unseen regions that ``fuse train`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..prior import OperatingCurve, check_share, prior_weight, shift_probability
from ..segmentation.evaluation.tuning import PostSweep, cross_fitted

__all__ = ["DecisionRule", "Decision", "MAX_CUTS"]

#: Most candidate cuts tried by the joint choice (quantiles of the held-out probabilities).
MAX_CUTS = 200


@dataclass(frozen=True)
class Decision:
    """What :meth:`DecisionRule.choose` chose for one share: the cut on the fusion's probability
    (``cut``) and on the risk score (``threshold``), the fused-mask pixel threshold, the figures
    expected at that share, a note when the cut was moved inside the risk classes, and the keep
    cut of the fusion's component filter (0: every area kept; :mod:`.component_filter`)."""

    share: float | None
    cut: float
    threshold: float
    mask_threshold: float
    expected: dict
    note: str | None = None
    component_cut: float = 0.0


@dataclass
class DecisionRule:
    """The held-out evidence a fusion decides with (module docstring); plain numbers, no pickle."""

    curve: OperatingCurve
    edges: tuple[float, ...]
    mask_threshold: float
    calibrated: bool = True
    rule: str = "f1"
    target_recall: float = 0.9
    sweep: PostSweep | None = None
    scores: np.ndarray | None = None  # the fusion's held-out probability of each sweep image
    trained_share: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.trained_share = self.curve.trained_share if self.calibrated else None

    @classmethod
    def fit(
        cls,
        y: np.ndarray,
        probability: np.ndarray,
        ids: list[str],
        *,
        edges: tuple[float, ...],
        mask_threshold: float,
        calibrated: bool = True,
        rule: str = "f1",
        target_recall: float = 0.9,
        sweep: PostSweep | None = None,
    ) -> "DecisionRule":
        """From held-out fused probabilities of labelled regions ``ids``; ``sweep`` (image-side
        mask counts) is used for the regions it shares with ``ids`` when it covers them all."""
        curve = OperatingCurve.from_scores(y, probability)
        scores = None
        if sweep is not None:
            where = {i: k for k, i in enumerate(sweep.ids)}
            if all(i in where for i in ids):
                sweep = sweep.subset(np.array([where[i] for i in ids]))
                scores = np.asarray(probability, float)
            else:
                sweep = None
        return cls(curve, tuple(edges), mask_threshold, calibrated, rule, target_recall, sweep, scores)

    def risk(self, probability: np.ndarray, share: float | None) -> np.ndarray:
        """The risk score of fused probabilities at ``share`` (shifted when calibrated)."""
        return np.asarray(self.curve.shift(probability, share) if self.calibrated else probability, float)

    def _candidates(self, share: float | None) -> tuple[np.ndarray, np.ndarray]:
        """(every candidate cut, those whose risk score lies in the moderate class): the held-out
        probabilities, and the two cuts whose risk is exactly the class's ends."""
        ends = np.array([self.edges[0], self.edges[1]], float)
        if self.calibrated:  # the probabilities whose shifted risk is an end (the inverse shift)
            ends = shift_probability(ends, share, self.trained_share)
        cuts = np.unique(np.r_[self.curve.cuts, ends])[::-1]
        return cuts, (cuts >= ends[0] - 1e-12) & (cuts <= ends[1] + 1e-12)

    def choose(self, share: float | None) -> Decision:
        """The cut, the mask threshold and the expected figures for ``share`` (None: the mix the
        fusion was fitted on)."""
        share = check_share(share)
        cuts, inside = self._candidates(share)
        if self.sweep is not None:
            chosen = self._joint(share, _spread(cuts[inside]))
            free = self._joint(share, _spread(cuts))
            better = free[2] > chosen[2] + 1e-9
            mask_threshold, cut = chosen[0], chosen[1]
            expected = cross_fitted(self.sweep, share, _spread(cuts[inside]), image_scores=self.scores) or {}
            best_cut = free[1]
        else:
            cut = self.curve.threshold(share, self.rule, self.target_recall, candidates=cuts[inside])
            best_cut = self.curve.threshold(share, self.rule, self.target_recall, candidates=cuts)
            better = best_cut != cut
            mask_threshold, expected = self.mask_threshold, {}
        expected = {"regions": {**self.curve.expected(cut, share), "pr_auc": self._pr_auc(share)}, "pixels": expected}
        note = None
        if better:
            note = (
                f"the best decision threshold for a landslide-free share of {share} would be a risk of "
                f"{float(self.risk(best_cut, share)):.4g}, outside the moderate risk class {self.edges[0]} - "
                f"{self.edges[1]}; {float(self.risk(cut, share)):.4g} is used, so decisions and classes agree "
                "(the training regions may be too few or too easily separated to place it)"
            )
        return Decision(share, float(cut), float(self.risk(cut, share)), float(mask_threshold), expected, note)

    def _joint(self, share: float | None, cuts: np.ndarray) -> tuple[float, float, float]:
        """(pixel threshold, cut, F1 at share) of the joint choice over ``cuts``."""
        return self.sweep.choose(share, cuts, image_scores=self.scores)

    def _pr_auc(self, share: float | None) -> float:
        """Region-level average precision at ``share`` (landslide-free regions weighted by ``w``)."""
        c = self.curve
        w = prior_weight(share, c.positives, c.negatives)
        tp, fp = c.tp.astype(float), w * c.fp.astype(float)
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1e-12), 1.0)
        recall_steps = np.diff(np.r_[0.0, tp / max(c.positives, 1)])
        return float((precision * recall_steps).sum())

    def to_dict(self) -> dict:
        return {
            "curve": self.curve.to_dict(),
            "edges": list(self.edges),
            "mask_threshold": self.mask_threshold,
            "calibrated": self.calibrated,
            "rule": self.rule,
            "target_recall": self.target_recall,
        }

    def sweep_frame(self) -> pd.DataFrame | None:
        """The image-side sweep with each region's held-out fused probability (``fused``), or None."""
        if self.sweep is None:
            return None
        frame = self.sweep.to_frame()
        return frame.assign(fused=np.repeat(self.scores, len(self.sweep.thresholds)))

    @classmethod
    def from_dict(cls, d: dict, sweep_frame: pd.DataFrame | None = None) -> "DecisionRule":
        sweep = scores = None
        if sweep_frame is not None:
            sweep = PostSweep.from_frame(sweep_frame)
            scores = sweep_frame.groupby("id", sort=False)["fused"].first().reindex(sweep.ids).to_numpy(float)
        return cls(
            OperatingCurve.from_dict(d["curve"]),
            tuple(d["edges"]),
            float(d["mask_threshold"]),
            bool(d["calibrated"]),
            d["rule"],
            float(d["target_recall"]),
            sweep,
            scores,
        )


def _spread(cuts: np.ndarray, most: int = MAX_CUTS) -> np.ndarray:
    """At most ``most`` of ``cuts``, evenly spread over their ranks (the extremes kept)."""
    if len(cuts) <= most:
        return cuts
    return cuts[np.unique(np.linspace(0, len(cuts) - 1, most).round().astype(int))]
