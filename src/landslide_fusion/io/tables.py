"""Tables (CSV and Parquet) with clear errors and atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..errors import DataError, SchemaError
from .atomic import atomic_path

__all__ = ["read_table", "write_table", "table_path", "require_columns"]

_SUFFIXES = (".csv", ".parquet", ".pq")


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV or Parquet file by its suffix."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; pass a CSV or Parquet table")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(path)
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            raise DataError(f"{path}: unsupported table type {suffix!r}; use {', '.join(_SUFFIXES)}")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        raise DataError(f"{path}: cannot parse table ({e})") from None
    except ImportError as e:
        raise DataError(f"{path}: Parquet needs pyarrow ({e}); pip install 'landslide-fusion[parquet]'") from None
    if df.empty:
        raise DataError(f"{path}: the table has no rows")
    return df


def table_path(path: str | os.PathLike[str]) -> Path:
    """``path`` when its suffix names a table format this project writes (CSV, Parquet), else
    :class:`DataError`: check an output's name before the work that fills it."""
    path = Path(path)
    if path.suffix.lower() not in _SUFFIXES:
        raise DataError(f"{path}: cannot write a {path.suffix or 'suffix-less'} table; name it .csv or .parquet")
    return path


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], index: bool = False) -> Path:
    """Write ``df`` as CSV or Parquet (by suffix), atomically."""
    path = table_path(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() in (".parquet", ".pq"):
            df.to_parquet(tmp, index=index)
        else:
            df.to_csv(tmp, index=index)
    return path


def require_columns(df: pd.DataFrame, columns: list[str] | tuple[str, ...], source: str) -> None:
    """Raise :class:`SchemaError` naming every column of ``columns`` absent from ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{source}: missing column(s) {', '.join(map(repr, missing))}; "
            f"columns present: {', '.join(map(str, df.columns[:30]))}"
        )
