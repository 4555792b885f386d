"""Feature schema of a tabular model: names, kinds and categories, checked at predict time.

Values policy, the same in every tabular and fusion command (:func:`check_table`,
:func:`finite_problem`): ``inf``/``-inf`` is never a measurement and is refused, naming the
column, the data rows (1 = first row after the header) and their ids; an empty cell (NaN) means
missing, which LightGBM handles natively in tabular features and which fusion inputs refuse like
``inf``. A numeric column holding some text (``n.a.``, ``-``, ``?``) is refused rather than
silently treated as a category; ids must be unique.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, SchemaError

__all__ = ["FeatureSchema", "binary_labels", "check_table", "finite_problem", "repeated_ids"]


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
            raise SchemaError(
                f"constant column(s) {', '.join(constant)} carry no information; drop them or list them in exclude"
            )
        return cls(tuple(str(c) for c in X.columns), cats)

    def transform(self, X: pd.DataFrame, source: str = "input", unseen: str = "error") -> pd.DataFrame:
        """Select and order the features, encode categoricals with the training categories.

        Categories unseen in training raise (``unseen="error"``) or become missing (``"missing"``).
        """
        missing = [c for c in self.names if c not in X.columns]
        if missing:
            raise SchemaError(
                f"{source}: missing feature column(s) {', '.join(missing)}; "
                f"the model was trained on {', '.join(self.names)}"
            )
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


def binary_labels(y: pd.Series | np.ndarray, source: str = "label", positive: str | None = None) -> np.ndarray:
    """Map labels to int {0, 1}: the class named ``positive`` (compared as text, e.g. ``"wet"``) is 1
    and the other class 0; without ``positive``, 0/1, true/false and yes/no are understood and
    anything else is an error, which names the two classes found and ``--positive`` when there
    are two (worded as scikit-learn words it, so its estimator checks recognise a graceful failure)."""
    if y is None:
        raise DataError(f"{source}: this estimator requires y to be passed, but the target y is None")
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        import warnings

        from sklearn.exceptions import DataConversionWarning

        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; raveled", DataConversionWarning, stacklevel=2
        )
        arr = arr.ravel()
    if arr.ndim != 1:
        raise DataError(f"{source}: labels must be one column; got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise DataError(f"{source}: Input y contains NaN or infinity; drop or fix those rows")
    text = pd.Series(arr).astype(str).str.strip()
    classes = sorted(text.unique())
    if positive is not None:
        if positive not in classes or len(classes) > 2:
            why = f"no label is {positive!r}" if positive not in classes else f"{len(classes)} classes, not two"
            raise DataError(f"{source}: --positive {positive!r}: {why}; the labels are {_listed(classes)}")
        out = (text == positive).to_numpy().astype(int)
    else:
        s = text.str.lower()
        bad = sorted(set(s.unique()) - _TRUE - _FALSE)
        if bad:
            kind = (
                "continuous"
                if arr.dtype.kind == "f"
                else "multiclass"
                if s.nunique() > 2
                else "binary with other names"
            )
            name = (
                f"; name the landslide class of the two with --positive (e.g. --positive {classes[-1]})"
                if len(classes) == 2
                else ""
            )
            raise DataError(
                f"{source}: labels must be binary (0/1, true/false, yes/no); found {', '.join(bad[:5])} "
                f"(Unknown label type: {kind}; Only binary classification is supported){name}"
            )
        out = s.isin(_TRUE).to_numpy().astype(int)
    if len(np.unique(out)) < 2:
        raise DataError(
            f"{source}: only one class ({out[0]}) present; a classifier needs landslide and non-landslide rows"
        )
    return out


def _listed(values: list, limit: int = 5) -> str:
    shown = ", ".join(map(str, values[:limit]))
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def finite_problem(
    frame: pd.DataFrame, column: str, ids: np.ndarray | pd.Index | None = None, allow_nan: bool = False
) -> str | None:
    """``"column 'c' has inf in rows 3, 17 (ids r3, r17)"`` for a numeric column holding
    non-finite values (NaN too unless ``allow_nan``), else None. Rows count from 1."""
    col = frame[column]
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return None
    v = col.to_numpy(dtype=float, na_value=np.nan)
    bad = np.isinf(v) | (np.isnan(v) if not allow_nan else False)
    if not bad.any():
        return None
    rows = np.flatnonzero(bad)
    kinds = " and ".join(k for k, m in (("inf", np.isinf(v)), ("NaN", np.isnan(v))) if (m & bad).any())
    ids_ = f" (ids {_listed([np.asarray(ids)[i] for i in rows])})" if ids is not None else ""
    return f"column {column!r} has {kinds} in rows {_listed([int(r) + 1 for r in rows])}{ids_}"


def repeated_ids(ids: pd.Series | pd.Index | np.ndarray) -> list:
    """The ids that occur more than once, in order of first repeat."""
    s = pd.Series(np.asarray(ids)).astype(str)
    return s[s.duplicated()].unique().tolist()


def _text_in_numbers(col: pd.Series) -> list[str]:
    """Text cells of a column whose other cells are numbers (empty when it is not such a column)."""
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return []
    present = col.dropna()
    numbers = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
    if numbers.notna().sum() == 0 or numbers.notna().mean() < 0.5:
        return []
    return sorted({str(v) for v in present[numbers.isna()]})


def check_table(
    X: pd.DataFrame, source: str, ids: np.ndarray | None = None, id_column: str = "", categorical: tuple[str, ...] = ()
) -> None:
    """Apply the values policy (module docstring) to feature columns ``X`` of table ``source``."""
    if id_column and ids is not None and (dup := repeated_ids(ids)):
        raise DataError(f"{source}: column {id_column!r} repeats ids ({_listed(dup)}); each region needs one row")
    for c in X.columns:
        if c in categorical:
            continue
        if text := _text_in_numbers(X[c]):
            raise SchemaError(
                f"{source}: column {c!r} holds numbers and text ({_listed(text)}); "
                "empty those cells (missing) or fix them, or declare the column categorical"
            )
        if problem := finite_problem(X, c, ids if id_column else None, allow_nan=True):
            raise DataError(f"{source}: {problem}; remove or fill them")
