"""SHAP explanations of a fitted :class:`LandslideGBM` (TreeExplainer, Lundberg et al., 2020).

SHAP values are in the model's raw margin (log-odds) units, so for each row
``expected_value + sum(shap values) == decision_function(row)``; this equals LightGBM's own
``pred_contrib`` output, which the tests check.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.atomic import atomic_path
from .model import LandslideGBM

__all__ = ["shap_values", "shap_importance", "top_contributions", "shap_plots"]


def shap_values(model: LandslideGBM, X: pd.DataFrame) -> tuple[np.ndarray, float, pd.DataFrame]:
    """``(values (n, features), expected_value, encoded X)`` in margin units."""
    import shap

    Xt = model.transform_features(X)
    explainer = shap.TreeExplainer(model.booster_)
    with warnings.catch_warnings():
        # shap announces that binary LightGBM output may be a list; both forms are handled below
        warnings.filterwarnings("ignore", message="LightGBM binary classifier with TreeExplainer")
        values = explainer.shap_values(Xt)
    if isinstance(values, list):
        values = values[1]
    expected = explainer.expected_value
    expected = float(np.ravel(expected)[-1])
    return np.asarray(values), expected, Xt


def shap_importance(model: LandslideGBM, X: pd.DataFrame) -> pd.DataFrame:
    """Global importance: mean |SHAP| per feature, ranked (1 = most important)."""
    values, _, Xt = shap_values(model, X)
    imp = pd.DataFrame({"feature": Xt.columns, "mean_abs_shap": np.abs(values).mean(0)})
    imp = imp.sort_values("mean_abs_shap", ascending=False, ignore_index=True)
    imp.insert(0, "rank", np.arange(1, len(imp) + 1))
    return imp


def top_contributions(model: LandslideGBM, X: pd.DataFrame, ids: pd.Series | None = None, k: int = 3) -> pd.DataFrame:
    """Per row, the ``k`` features with the largest |SHAP| and their signed contributions."""
    values, _, Xt = shap_values(model, X)
    order = np.argsort(-np.abs(values), axis=1)[:, :k]
    rows = []
    for i, idx in enumerate(order):
        row = {"id": ids.iloc[i] if ids is not None else i}
        for j, f in enumerate(idx, start=1):
            row[f"feature_{j}"] = Xt.columns[f]
            row[f"shap_{j}"] = float(values[i, f])
        rows.append(row)
    return pd.DataFrame(rows)


def shap_plots(model: LandslideGBM, X: pd.DataFrame, out: str | os.PathLike[str], max_display: int = 15) -> list[Path]:
    """Write ``shap_beeswarm.png`` and ``shap_bar.png`` into folder ``out``; their axes say the
    values are log-odds (LightGBM's raw margin), not probabilities."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    values, expected, Xt = shap_values(model, X)
    numeric = Xt.apply(lambda c: c.cat.codes if isinstance(c.dtype, pd.CategoricalDtype) else c)
    explanation = shap.Explanation(
        values, base_values=np.full(len(values), expected), data=numeric.to_numpy(float), feature_names=list(Xt.columns)
    )
    paths = []
    labels = {
        "shap_beeswarm.png": (
            "SHAP value (log-odds of landslide, before calibration)",
            f"Contribution of each feature per region ({len(values)} regions)",
        ),
        "shap_bar.png": ("mean |SHAP value| (log-odds of landslide)", "Global feature importance"),
    }
    for name, fn in (("shap_beeswarm.png", shap.plots.beeswarm), ("shap_bar.png", shap.plots.bar)):
        plt.figure()
        fn(explanation, max_display=max_display, show=False)
        xlabel, title = labels[name]
        ax = plt.gcf().axes[0]
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        path = Path(out) / name
        with atomic_path(path) as tmp:
            plt.gcf().savefig(tmp, dpi=120, bbox_inches="tight", format="png")
        plt.close("all")
        paths.append(path)
    return paths
