"""``map.png`` of an assessment: a picture a person reads at a glance.

RGB backdrop (B4, B3, B2 as reflectance, stretched between the 2nd and 98th percentiles),
regions filled by risk class (colour-blind-safe yellow -> dark red, half transparent), predicted
landslides outlined in cyan, a legend, a scale bar (map units are metres on the UTM grid), a
north arrow (grid north: the UTM grid's +y axis, within a degree or two of true north inside a
zone) and a title with place and dates.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .domains import SCALE_TAG, Domain, convert

__all__ = ["RISK_COLOURS", "draw_risk_map", "nice_length"]

RISK_COLOURS = {"low": "#ffffb2", "moderate": "#fecc5c", "high": "#fd8d3c", "very high": "#bd0026"}


def nice_length(width_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 x 10^k m) near a fifth of ``width_m``."""
    target = max(width_m / 5, 1e-9)
    k = 10 ** np.floor(np.log10(target))
    return float(max(m * k for m in (1, 2, 5) if m * k <= target) if target >= k else k)


def _backdrop(scene: Path) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    import rasterio

    with rasterio.open(scene) as src:
        names = tuple(src.descriptions)
        idx = [names.index(b) + 1 for b in ("B4", "B3", "B2")]
        rgb = src.read(idx).astype(np.float32)
        scale = src.tags().get(SCALE_TAG, "reflectance")
        b = src.bounds
    rgb = convert(rgb, ("B4", "B3", "B2"), Domain("l4s14", scale), Domain("l4s14", "reflectance"))
    finite = rgb[np.isfinite(rgb)]
    lo, hi = (np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0))
    img = np.clip((np.moveaxis(rgb, 0, -1) - lo) / max(hi - lo, 1e-6), 0, 1)
    return np.nan_to_num(img, nan=1.0), (b.left, b.right, b.bottom, b.top)


def _rings(geom: dict) -> list[np.ndarray]:
    polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
    return [np.asarray(poly[0], float) for poly in polys]


def _decorate(ax, extent: tuple[float, float, float, float]) -> None:
    left, right, bottom, top = extent
    w, h = right - left, top - bottom
    length = nice_length(w)
    x0, y0 = left + 0.05 * w, bottom + 0.06 * h
    ax.plot([x0, x0 + length], [y0, y0], color="black", lw=4, solid_capstyle="butt")
    ax.plot([x0, x0 + length], [y0, y0], color="white", lw=2, solid_capstyle="butt")
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x0 + length / 2, y0 + 0.02 * h, label, ha="center", va="bottom", fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})
    ax.annotate("N", xy=(right - 0.06 * w, top - 0.05 * h), xytext=(right - 0.06 * w, top - 0.17 * h),
                ha="center", va="center", fontsize=10, fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.5})


def draw_risk_map(scene: str | os.PathLike[str], risk: pd.DataFrame, landslides: str | os.PathLike[str] | None,
                  out: str | os.PathLike[str], title: str) -> Path:
    """Write the map (see the module docstring). ``risk`` has ``geometry`` and ``risk_class``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Polygon

    img, extent = _backdrop(Path(scene))
    fig, ax = plt.subplots(figsize=(8, 8 * (extent[3] - extent[2]) / max(extent[1] - extent[0], 1e-9) + 0.8))
    ax.imshow(img, extent=extent, interpolation="nearest")
    for geom, cls in zip(risk["geometry"], risk["risk_class"].astype(str)):
        for ring in _rings(geom):
            ax.add_patch(Polygon(ring, closed=True, facecolor=RISK_COLOURS.get(cls, "grey"), alpha=0.45,
                                 edgecolor="black", lw=0.3))
    n_slides = 0
    if landslides is not None and Path(landslides).is_file():
        for f in json.loads(Path(landslides).read_text()).get("features", []):
            for ring in _rings(f["geometry"]):
                ax.plot(ring[:, 0], ring[:, 1], color="cyan", lw=1.2)
            n_slides += 1
    handles = [Patch(facecolor=c, alpha=0.6, edgecolor="black", label=f"{k} risk") for k, c in RISK_COLOURS.items()]
    handles.append(Patch(facecolor="none", edgecolor="cyan", label=f"predicted landslide ({n_slides})"))
    ax.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.85)
    _decorate(ax, extent)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("easting (m)")
    ax.set_ylabel("northing (m)")
    ax.ticklabel_format(style="plain", useOffset=False)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
