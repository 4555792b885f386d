"""Slope from a DEM on a projected grid.

Slope in degrees from central differences (Horn's 3x3 would smooth more; central differences
are exact for a plane)::

    dz/dx = (z[r, c+1] - z[r, c-1]) / (2 * dx)      dz/dy = (z[r+1, c] - z[r-1, c]) / (2 * dy)
    slope = degrees(arctan(sqrt((dz/dx)^2 + (dz/dy)^2)))

with ``dx, dy`` the ground pixel size in metres (the DEM must be on a metric grid, e.g. UTM);
edges use one-sided differences (``numpy.gradient``). A plane tilted by ``a`` degrees gives
``a`` everywhere (Burrough & McDonnell, *Principles of GIS*, 1998, ch. 8). NaN heights give NaN
slope around them.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError

__all__ = ["slope_degrees"]


def slope_degrees(dem: np.ndarray, dx: float, dy: float | None = None) -> np.ndarray:
    """Slope (degrees, float32) of a (H, W) height grid in metres with pixel size ``dx`` x ``dy`` m."""
    dy = dx if dy is None else dy
    if not (dx > 0 and dy > 0):
        raise DataError(f"pixel size {dx} x {dy} must be positive metres; reproject the DEM to a metric grid")
    z = np.asarray(dem, dtype=np.float64)
    if z.ndim != 2 or min(z.shape) < 2:
        raise DataError(f"DEM of shape {z.shape} must be a 2-D grid of at least 2 x 2 pixels")
    gy, gx = np.gradient(z, abs(dy), abs(dx))
    return np.degrees(np.arctan(np.hypot(gx, gy))).astype(np.float32)
