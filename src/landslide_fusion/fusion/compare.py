"""ML vs DL vs fused: k-fold cross-validation over regions.

The region frame holds, per region, the tabular model's held-out probability and the image
model's region statistics (both out-of-fold or predicted on data neither model trained on),
plus the label. In every fold, on the same test regions:

* ``tabular``: the tabular probability as it is; its F1 threshold is chosen on the training fold;
* ``image``: a :class:`StackingFusion` over the image statistics only, fitted on the training fold;
* ``fused``: the same stacker over the image statistics *and* the tabular probability.

So image and fused differ only in whether the tabular view is present. Reported per fold and
as mean +- std: ROC-AUC, PR-AUC, F1 and Brier score. On the pooled out-of-fold decisions:
Cohen's kappa between the tabular and image decisions, and McNemar's exact test on the
regions where two methods disagree about correctness (``b`` = first right and second wrong,
``c`` = the reverse; two-sided binomial p-value of ``min(b, c)`` under ``Bin(b + c, 1/2)``;
McNemar, 1947).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from sklearn.base import clone
from sklearn.metrics import cohen_kappa_score, roc_curve
from sklearn.model_selection import StratifiedKFold

from ..errors import DataError
from ..tabular.cv import detection_scores
from ..tabular.schema import binary_labels
from ..tabular.threshold import choose_threshold
from .stacking import IMAGE_FEATURES, TABULAR_COLUMN, StackingFusion

__all__ = ["CompareResult", "compare_fusion", "mcnemar", "compare_chart", "METHODS"]

METHODS = ("tabular", "image", "fused")
_KEYS = ("roc_auc", "pr_auc", "f1", "brier")


def mcnemar(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """McNemar's exact test of decisions ``a`` vs ``b`` against labels ``y``."""
    ra, rb = a == y, b == y
    n01, n10 = int(np.sum(ra & ~rb)), int(np.sum(~ra & rb))
    p = binomtest(min(n01, n10), n01 + n10, 0.5).pvalue if n01 + n10 else 1.0
    return {"first_right_second_wrong": n01, "first_wrong_second_right": n10, "p_value": float(p)}


@dataclass
class CompareResult:
    per_fold: list[dict]
    mean: dict[str, dict[str, float]]
    std: dict[str, dict[str, float]]
    agreement: dict
    oof: pd.DataFrame

    def to_dict(self) -> dict:
        return {"per_fold": self.per_fold, "mean": self.mean, "std": self.std, "agreement": self.agreement}

    def text(self) -> str:
        lines = [f"{'method':<8} {'ROC-AUC':>15} {'PR-AUC':>15} {'F1':>15}"]
        for m in METHODS:
            lines.append(
                f"{m:<8} "
                + " ".join(f"{self.mean[m][k]:>7.3f} ± {self.std[m][k]:.3f}" for k in ("roc_auc", "pr_auc", "f1"))
            )
        a = self.agreement
        lines.append(
            f"tabular vs image decisions: Cohen's kappa {a['kappa_tabular_image']:.3f}; "
            f"McNemar p = {a['mcnemar']['tabular_vs_image']['p_value']:.3g} (tabular vs image), "
            f"{a['mcnemar']['fused_vs_tabular']['p_value']:.3g} (fused vs tabular), "
            f"{a['mcnemar']['fused_vs_image']['p_value']:.3g} (fused vs image)"
        )
        return "\n".join(lines)


def compare_fusion(
    frame: pd.DataFrame,
    y,
    *,
    image_columns: tuple[str, ...] = IMAGE_FEATURES,
    tabular_column: str = TABULAR_COLUMN,
    folds: int = 5,
    stacker: StackingFusion | None = None,
    random_state: int = 0,
    progress: bool = False,
) -> CompareResult:
    """Cross-validate tabular-only, image-only and fused detection over the regions of ``frame``
    (``progress`` shows the folds)."""
    from ..progress import track

    y = binary_labels(y, "fusion labels")
    k = min(folds, int(np.bincount(y).min()))
    if k < 2:
        raise DataError(f"comparison needs at least 2 regions of each class; got {np.bincount(y).tolist()} (no, yes)")
    base = stacker or StackingFusion(random_state=random_state)
    p = {m: np.zeros(len(y)) for m in METHODS}
    d = {m: np.zeros(len(y), int) for m in METHODS}
    fold_of = np.zeros(len(y), int)
    per_fold = []
    pt = frame[tabular_column].to_numpy(float)
    splits = list(StratifiedKFold(k, shuffle=True, random_state=random_state).split(frame, y))
    for i, (tr, te) in enumerate(track(splits, "tabular vs image vs fused CV folds", enabled=progress), start=1):
        t = choose_threshold(y[tr], pt[tr])
        p["tabular"][te], d["tabular"][te] = pt[te], pt[te] >= t
        row: dict = {"fold": i, "n_test": int(len(te)), "tabular": detection_scores(y[te], pt[te], t)}
        for name, cols in (("image", tuple(image_columns)), ("fused", (tabular_column, *image_columns))):
            est = clone(base).set_params(columns=cols).fit(frame.iloc[tr], y[tr])
            p[name][te] = est.predict_proba(frame.iloc[te])[:, 1]
            d[name][te] = p[name][te] >= est.threshold_
            row[name] = detection_scores(y[te], p[name][te], est.threshold_)
        fold_of[te] = i
        per_fold.append(row)
    mean = {m: {key: float(np.nanmean([f[m][key] for f in per_fold])) for key in _KEYS} for m in METHODS}
    std = {m: {key: float(np.nanstd([f[m][key] for f in per_fold])) for key in _KEYS} for m in METHODS}
    agreement = {
        "kappa_tabular_image": float(cohen_kappa_score(d["tabular"], d["image"])),
        "disagreements": int(np.sum(d["tabular"] != d["image"])),
        "mcnemar": {
            f"{a}_vs_{b}": mcnemar(y, d[a], d[b])
            for a, b in (("tabular", "image"), ("fused", "tabular"), ("fused", "image"))
        },
    }
    oof = pd.DataFrame(
        {"fold": fold_of, "label": y, **{f"p_{m}": p[m] for m in METHODS}, **{f"landslide_{m}": d[m] for m in METHODS}},
        index=frame.index,
    )
    return CompareResult(per_fold, mean, std, agreement, oof)


def compare_chart(result: CompareResult, path: str | os.PathLike[str]) -> Path:
    """PNG: mean +- std of ROC-AUC, PR-AUC and F1 per method, and the pooled out-of-fold ROC curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io.atomic import atomic_path

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    keys = ("roc_auc", "pr_auc", "f1")
    xs = np.arange(len(keys))
    for j, m in enumerate(METHODS):
        ax1.bar(
            xs + (j - 1) * 0.26,
            [result.mean[m][k] for k in keys],
            0.26,
            yerr=[result.std[m][k] for k in keys],
            capsize=3,
            label=m,
        )
    ax1.set_xticks(xs, ["ROC-AUC", "PR-AUC", "F1"])
    ax1.set_ylim(0, 1.05)
    ax1.set_title(f"{len(result.per_fold)}-fold CV over regions (mean ± std)")
    ax1.set_ylabel("score")
    ax1.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=len(METHODS), frameon=False)
    y = result.oof["label"].to_numpy()
    for m in METHODS:
        fpr, tpr, _ = roc_curve(y, result.oof[f"p_{m}"])
        ax2.plot(fpr, tpr, label=f"{m} (AUC {result.mean[m]['roc_auc']:.3f})")
    ax2.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax2.set_xlabel("false positive rate")
    ax2.set_ylabel("true positive rate")
    ax2.set_title("pooled out-of-fold ROC")
    ax2.legend(loc="lower right")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
