"""Feature schema of a tabular model: names, kinds and categories, checked at predict time."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, SchemaError

__all__ = ["FeatureSchema", "binary_labels"]


@dataclass(frozen=True)
class FeatureSchema:
    """Feature names in order, and the categories of each categorical feature."""

    names: tuple[str, ...]
    categories: dict[str, list]

    @classmethod
    def infer(cls, X: pd.DataFrame, categorical: tuple[str, ...] = ()) -> "FeatureSchema":
        """Categorical = declared, or any non-numeric (category, string, object) or bool dtype."""
        cats: dict[str, list] = {}
        for c in X.columns:
            col = X[c]
            if c in categorical or pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
                values = col.astype("category").cat.categories
                cats[str(c)] = sorted(values.tolist(), key=str)
        constant = [str(c) for c in X.columns if X[c].nunique(dropna=False) <= 1]
        if constant:
            raise SchemaError(f"constant column(s) {', '.join(constant)} carry no information; drop them or list them in exclude")
        return cls(tuple(str(c) for c in X.columns), cats)

    def transform(self, X: pd.DataFrame, source: str = "input", unseen: str = "error") -> pd.DataFrame:
        """Select and order the features, encode categoricals with the training categories.

        Categories unseen in training raise (``unseen="error"``) or become missing (``"missing"``).
        """
        missing = [c for c in self.names if c not in X.columns]
        if missing:
            raise SchemaError(f"{source}: missing feature column(s) {', '.join(missing)}; the model was trained on {', '.join(self.names)}")
        out = X.loc[:, list(self.names)].copy()
        for c, cats in self.categories.items():
            col = out[c]
            seen = set(map(str, cats))
            unseen_values = sorted({str(v) for v in col.dropna().unique()} - seen)
            if unseen_values and unseen == "error":
                raise SchemaError(
                    f"{source}: column {c!r} has categories unseen in training ({', '.join(unseen_values[:5])}); "
                    f"known: {', '.join(map(str, cats[:10]))}; map them to a known category or retrain"
                )
            text = col.astype(str).where(col.notna() & col.astype(str).isin(seen))  # unseen -> missing
            out[c] = pd.Categorical(text, categories=[str(v) for v in cats])
        for c in self.names:
            if c not in self.categories:
                try:
                    out[c] = pd.to_numeric(out[c]).astype(float)
                except (ValueError, TypeError):
                    raise SchemaError(f"{source}: column {c!r} is not numeric; declare it categorical") from None
        return out

    def to_dict(self) -> dict:
        return {"names": list(self.names), "categories": {k: [str(v) for v in vs] for k, vs in self.categories.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureSchema":
        return cls(tuple(d["names"]), {k: list(v) for k, v in d["categories"].items()})


_TRUE = {"1", "true", "yes", "t", "y", "1.0"}
_FALSE = {"0", "false", "no", "f", "n", "0.0"}


def binary_labels(y: pd.Series | np.ndarray, source: str = "label") -> np.ndarray:
    """Map 0/1, True/False or yes/no labels to int {0, 1}; anything else is an error
    (worded as scikit-learn words it, so its estimator checks recognise a graceful failure)."""
    if y is None:
        raise DataError(f"{source}: this estimator requires y to be passed, but the target y is None")
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        import warnings

        from sklearn.exceptions import DataConversionWarning

        warnings.warn("A column-vector y was passed when a 1d array was expected; raveled", DataConversionWarning, stacklevel=2)
        arr = arr.ravel()
    if arr.ndim != 1:
        raise DataError(f"{source}: labels must be one column; got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise DataError(f"{source}: Input y contains NaN or infinity; drop or fix those rows")
    s = pd.Series(arr).astype(str).str.strip().str.lower()
    bad = sorted(set(s.unique()) - _TRUE - _FALSE)
    if bad:
        kind = "continuous" if arr.dtype.kind == "f" else ("multiclass" if s.nunique() > 2 else "binary with other names")
        raise DataError(f"{source}: labels must be binary (0/1, true/false); found {', '.join(bad[:5])} "
                        f"(Unknown label type: {kind}; Only binary classification is supported)")
    out = s.isin(_TRUE).to_numpy().astype(int)
    if len(np.unique(out)) < 2:
        raise DataError(f"{source}: only one class ({out[0]}) present; a classifier needs landslide and non-landslide rows")
    return out
