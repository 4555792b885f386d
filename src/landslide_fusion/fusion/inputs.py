"""Which image statistics the stacker takes: the image side's score alone, unless the others earn
their place in its cross-validation (the one-standard-error rule).

Every extra input of a linear stacker is weight given to one side. On Bijie the six region
statistics of the segmentation rank images no better out of fold than its peak probability alone
(fused ROC-AUC 0.985 both), but on images unlike the training ones, where the image side's
confident false alarms grow, they let it outvote a tabular side that knows better (image PR-AUC
at 0.7 landslide-free on unseen images 0.965 / 0.914 against 0.971 / 0.950 with the peak alone,
two seeds; docs/results.md). On the generated demo the statistics carry what the peak misses
(faint scars), and the fused ROC-AUC gains 0.03-0.07 with them.

So, with ``[stacking] inputs = "one-se"`` (the default), the stacker over the tabular probability
and the first of ``image_columns`` (the image side's score, ``max_probability``) is compared with
the one over all of them, on the same stratified folds. With ``a_k`` and ``b_k`` their ROC-AUC
on fold ``k`` of ``K``, the larger is taken only when it is better by more than the standard
error of its own cross-validated score:

    mean(b) - mean(a) > SE(b) = std(b, ddof=1) / sqrt(K),

the one-standard-error rule (Breiman, Friedman, Olshen and Stone, 1984, sec. 3.4.3; Hastie,
Tibshirani and Friedman, 2009, sec. 7.10): the simplest model whose score is within one
standard error of the best. Both sides of the inequality are averaged over 3 repetitions of the
K folds (drawn from ``seed + 1``): one split's SE is itself noisy (on Bijie it ranged 0.0002 to
0.0047 over eight splits of the same regions, enough to flip the choice on one of them). The
folds are not those of ``fuse train``'s comparison (``seed``), so the figures it reports are not
those the choice was made on (the choice still saw the same regions: with two candidates, the
bias is at most the gain it allowed). ``inputs = "all"`` takes every listed column; a method
other than stacking takes none this way (``rule`` None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold

from ..tabular.schema import binary_labels
from .stacking import TABULAR_COLUMN, StackingFusion

if TYPE_CHECKING:
    from .config import FusionConfig

__all__ = ["InputChoice", "INPUT_RULES", "choose_image_columns"]

#: ``[stacking] inputs``: the one-standard-error choice, or every listed image column.
INPUT_RULES = ("one-se", "all")
_REPEATS = 3


@dataclass(frozen=True)
class InputChoice:
    """The image columns the stacker takes, and the evidence: ``gain`` = mean per-fold ROC-AUC of
    all listed columns minus the first alone, ``se`` the standard error of the former (None when
    not compared)."""

    columns: tuple[str, ...]
    rule: str | None
    gain: float | None = None
    se: float | None = None

    def to_dict(self) -> dict:
        """Plain values for ``fusion.json`` and the command's JSON."""
        return {"columns": list(self.columns), "rule": self.rule, "gain": self.gain, "se": self.se}

    def text(self) -> str:
        """One line for the command's summary (empty for a method that is no stacker)."""
        if self.rule is None:
            return ""
        head = f"stacker inputs: {TABULAR_COLUMN}, {', '.join(self.columns)}"
        if self.gain is None:
            return head
        kept = "taken" if len(self.columns) > 1 else "left out: within one standard error"
        return f"{head} (the other image statistics: ROC-AUC {self.gain:+.3f} ± {self.se:.3f} over the folds, {kept})"


def choose_image_columns(frame: pd.DataFrame, y: np.ndarray, cfg: "FusionConfig") -> InputChoice:
    """The image columns for ``cfg``'s stacker on these regions (see the module docstring)."""
    listed = tuple(cfg.image_columns)
    rule = cfg.stacking.inputs
    if cfg.method != StackingFusion.name:
        return InputChoice(listed, None)
    if rule == "all" or len(listed) == 1:
        return InputChoice(listed, rule)
    y = binary_labels(y, "fusion labels")
    smaller = int(np.bincount(y, minlength=2).min())
    if smaller < 3:  # folds whose training part keeps 2 of each class cannot be drawn: the simpler
        return InputChoice(listed[:1], rule)
    base = StackingFusion.from_config(cfg)
    k = min(cfg.folds, smaller)
    folds = RepeatedStratifiedKFold(n_splits=k, n_repeats=_REPEATS, random_state=cfg.seed + 1)
    auc = np.array(
        [
            [
                roc_auc_score(
                    y[te],
                    clone(base)
                    .set_params(columns=(TABULAR_COLUMN, *cols))
                    .fit(frame.iloc[tr], y[tr])
                    .predict_proba(frame.iloc[te])[:, 1],
                )
                for cols in (listed[:1], listed)
            ]
            for tr, te in folds.split(frame, y)
        ]
    ).reshape(_REPEATS, k, 2)
    gain = float(auc[..., 1].mean() - auc[..., 0].mean())
    se = float((auc[..., 1].std(axis=1, ddof=1) / np.sqrt(k)).mean())
    return InputChoice(listed if gain > se else listed[:1], rule, gain, se)
