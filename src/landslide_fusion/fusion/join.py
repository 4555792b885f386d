"""Join the image side and the tabular side of the regions on their id, never silently.

Ids present on one side only are named: by default that is an error; with
``on_missing="drop"`` they are left out, a warning names them and the returned report lists
them all (written beside the fused outputs as ``unmatched.csv``).
"""

from __future__ import annotations

import os
import warnings

import pandas as pd

from ..errors import DataError, SchemaError
from ..tabular.schema import finite_problem
from .names import ON_MISSING

__all__ = ["join_regions", "UnmatchedRegionsWarning", "ON_MISSING", "check_region_files"]


class UnmatchedRegionsWarning(UserWarning):
    """Some region ids appear on one side of the join only."""


def _names(ids: list, limit: int = 10) -> str:
    shown = ", ".join(map(str, ids[:limit]))
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _keyed(frame: pd.DataFrame, side: str, id_column: str) -> pd.DataFrame:
    if frame.index.name != id_column:
        if id_column not in frame.columns:
            raise SchemaError(
                f"{side} regions have no {id_column!r} column; columns: {', '.join(map(str, frame.columns[:20]))}"
            )
        frame = frame.set_index(id_column)
    frame.index = frame.index.astype(str)
    dup = frame.index[frame.index.duplicated()].unique().tolist()
    if dup:
        raise DataError(f"{side} regions repeat ids ({_names(dup)}); each region needs one row")
    return frame


def _check_finite(frame: pd.DataFrame, side: str, columns: tuple[str, ...]) -> None:
    for c in columns:
        if c in frame.columns and (problem := finite_problem(frame, c, frame.index)):
            raise DataError(f"{side}: {problem}; remove those regions or fill the values")


def join_regions(
    image: pd.DataFrame,
    tabular: pd.DataFrame,
    *,
    id_column: str = "id",
    on_missing: str = "error",
    names: tuple[str, str] = ("image", "tabular"),
    finite: tuple[str, ...] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Inner-join two region frames on ``id_column`` (index or column; ids compared as strings).

    Returns ``(joined, unmatched)``; ``unmatched`` has columns ``id`` and ``missing_from``.
    Columns present on both sides must agree where they overlap (e.g. ``label``) and are kept once.
    Columns named in ``finite`` (the model's inputs) must hold finite numbers on either side:
    NaN and inf are refused, naming the file, the column, the rows and the ids.
    """
    if on_missing not in ON_MISSING:
        raise DataError(f"unknown on_missing {on_missing!r}; valid: {', '.join(ON_MISSING)}")
    a, b = _keyed(image, names[0], id_column), _keyed(tabular, names[1], id_column)
    _check_finite(a, names[0], finite)
    _check_finite(b, names[1], finite)
    only_a = [i for i in a.index if i not in b.index]
    only_b = [i for i in b.index if i not in a.index]
    unmatched = pd.DataFrame(
        {"id": only_a + only_b, "missing_from": [names[1]] * len(only_a) + [names[0]] * len(only_b)}
    )
    if len(unmatched):
        parts = [
            f"{len(ids)} only in {side} ({_names(ids)})"
            for ids, side in ((only_a, names[0]), (only_b, names[1]))
            if ids
        ]
        msg = f"region ids do not match: {'; '.join(parts)}"
        if on_missing == "error":
            raise DataError(msg + "; fix the ids or pass --on-missing drop to leave them out")
        warnings.warn(msg + "; left out", UnmatchedRegionsWarning, stacklevel=2)
    shared = [c for c in b.columns if c in a.columns]
    keep = a.index[a.index.isin(b.index)]
    for c in shared:
        x, y = a.loc[keep, c], b.loc[keep, c]
        bad = keep[(x != y) & ~(x.isna() & y.isna())].tolist()
        if bad:
            raise DataError(f"column {c!r} differs between {names[0]} and {names[1]} for ids {_names(bad)}")
    joined = a.loc[keep].join(b.drop(columns=shared), how="inner")
    joined.index.name = id_column
    return joined, unmatched


def check_region_files(
    tabular_model: str | os.PathLike[str],
    *,
    table: str | os.PathLike[str] | None = None,
    regions: str | os.PathLike[str] | None = None,
) -> None:
    """Check the region table (or the polygons' properties) that ``fuse score`` will give the
    tabular model, before any image is predicted: readable, the model's columns, unique ids,
    the values policy. Scoring a table is cheap, so it is simply scored once."""
    from ..io.geojson import read_geojson
    from ..io.tables import read_table
    from ..tabular.train import score_table

    if table is not None:
        score_table(tabular_model, read_table(table), str(table))
    elif regions is not None:
        polys, _ = read_geojson(regions)
        score_table(tabular_model, polys.drop(columns=["geometry"]), str(regions))
