"""Five statistics of a map of values, the unit every image descriptor is reported in."""

from __future__ import annotations

import numpy as np

__all__ = ["QUANTILES", "summary"]

#: Percentiles reported beside the mean and standard deviation.
QUANTILES = (10, 50, 90)


def summary(name: str, values: np.ndarray) -> dict[str, float]:
    """``{name}_mean``, ``{name}_std`` and ``{name}_p10/_p50/_p90`` of the finite ``values``
    (all NaN when none is finite)."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return {f"{name}_{s}": np.nan for s in ("mean", "std", *(f"p{q}" for q in QUANTILES))}
    qs = np.percentile(v, QUANTILES)
    return {
        f"{name}_mean": float(v.mean()),
        f"{name}_std": float(v.std()),
        **{f"{name}_p{q}": float(x) for q, x in zip(QUANTILES, qs)},
    }
