"""Risk score and risk class per region, and the writers of the risk table.

The risk score is the fused landslide probability at the declared share of landslide-free
regions (:mod:`.decision`). Classes cut it at ``edges`` (config ``risk.edges``, default
0.25 / 0.5 / 0.75) into ``low``, ``moderate``, ``high`` and ``very high``: class ``k`` holds
scores in ``[edges[k-1], edges[k])``. The decision is made on the same score, at a threshold
inside the moderate class ``[edges[0], edges[1]]``, so a decided region is never ``low`` and a
``high`` or ``very high`` one is always decided.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..io.geojson import UNKNOWN_CRS_NOTE, region_crs, region_geometries, write_geojson
from ..io.tables import write_table

__all__ = ["RISK_CLASSES", "risk_classes", "risk_table", "write_risk"]

RISK_CLASSES = ("low", "moderate", "high", "very high")


def risk_classes(
    score: np.ndarray, edges: tuple[float, ...] = (0.25, 0.5, 0.75), labels: tuple[str, ...] = RISK_CLASSES
) -> pd.Categorical:
    """Ordered categorical risk class of each score."""
    e = np.asarray(edges, dtype=float)
    if len(labels) != len(e) + 1 or np.any(np.diff(e) <= 0) or e.min() <= 0 or e.max() >= 1:
        raise ConfigError(
            f"risk edges {list(edges)} must increase strictly inside (0, 1) and number one less than "
            f"the classes {list(labels)}"
        )
    return pd.Categorical.from_codes(
        np.searchsorted(e, np.asarray(score, float), side="right"), categories=list(labels), ordered=True
    )


def risk_table(
    frame: pd.DataFrame, score: np.ndarray, decision: np.ndarray, edges: tuple[float, ...] = (0.25, 0.5, 0.75)
) -> pd.DataFrame:
    """``frame`` (indexed by region id) with ``risk_score``, ``risk_class`` and ``decision`` (1: the
    region holds a landslide) in front."""
    head = pd.DataFrame(
        {"risk_score": score, "risk_class": risk_classes(score, edges), "decision": decision.astype(int)},
        index=frame.index,
    )
    return head.join(frame.drop(columns=[c for c in head.columns if c in frame.columns]))


def write_risk(
    table: pd.DataFrame, folder: str | os.PathLike[str], crs: str | None = None
) -> tuple[list[Path], list[str]]:
    """``risk.csv``, plus ``risk.geojson`` in WGS 84 (RFC 7946) when the regions carry geometry (see
    :func:`~landslide_fusion.io.geojson.region_geometries`; ``crs`` or the regions' ``crs`` column
    names their CRS). Returns the paths written and warnings (geometry of unknown CRS)."""
    folder = Path(folder)
    flat = table.reset_index()
    paths = [write_table(flat.drop(columns=[c for c in ("geometry",) if c in flat.columns]), folder / "risk.csv")]
    geoms = region_geometries(flat)
    notes = []
    if geoms is not None:
        crs = region_crs(flat, crs)
        paths.append(write_geojson(folder / "risk.geojson", flat.astype({"risk_class": str}), geoms, crs))
        if crs is None:
            notes.append(f"risk.geojson: {UNKNOWN_CRS_NOTE}")
    return paths, notes
