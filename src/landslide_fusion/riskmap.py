"""``map.png`` of an assessment: where is it dangerous, at a glance.

Everything is drawn in the scene's CRS (the UTM grid ``fetch`` writes), axes in metres:

* **backdrop**: true colour (B4, B3, B2 as reflectance, each stretched between the 2nd and 98th
  percentiles of the three), so a reader recognises the ground;
* **risk classes**: regions filled with one opaque-enough colour per class (:data:`RISK_COLOURS`,
  ColorBrewer's colour-blind-safe RdYlBu ends and YlOrRd middle: blue, yellow, orange, dark red;
  ``alpha`` :data:`FILL_ALPHA`), so classes stay apart over any backdrop (their blends over grey
  differ by at least a quarter of the RGB range, tested), each region edged in its class colour;
* **predicted landslides**: outlines in magenta (a colour no class and little ground has), read
  from ``landslides.geojson`` (WGS 84, RFC 7946) and reprojected to the scene's CRS;
* a **legend** (classes with their region counts, landslides with theirs), a **scale bar** (a
  round length near a fifth of the width, :func:`nice_length`; UTM metres are within 0.04 % of
  ground metres) and a **north arrow** pointing to true north at the map's centre (the grid's +y
  axis is off by the meridian convergence, 1-3 degrees inside a zone), the N at its head.

The PNG carries its georeference as a text chunk (``Georeference``: the CRS and the affine
transform from scene coordinates to pixel column and row, as a world file would), which
:func:`map_georeference` reads back, so a reader or a test can find the pixels of a place.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .domains import SCALE_TAG, Domain, convert
from .regions.zonal import polygon_rings

__all__ = [
    "RISK_COLOURS",
    "LANDSLIDE_COLOUR",
    "FILL_ALPHA",
    "draw_risk_map",
    "map_georeference",
    "nice_length",
    "true_north",
    "true_colour",
]

RISK_COLOURS = {"low": "#4575b4", "moderate": "#fee090", "high": "#f46d43", "very high": "#a50026"}
LANDSLIDE_COLOUR = "#ff00ff"
FILL_ALPHA = 0.6
_DPI = 120


def nice_length(width_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 x 10^k m) near a fifth of ``width_m``."""
    target = max(width_m / 5, 1e-9)
    k = 10 ** np.floor(np.log10(target))
    return float(max(m * k for m in (1, 2, 5) if m * k <= target) if target >= k else k)


def true_north(crs: str, x: float, y: float) -> tuple[float, float]:
    """Unit vector, in ``crs`` coordinates, pointing to true north from (``x``, ``y``): the
    direction of a small step north along the meridian."""
    from rasterio.warp import transform

    (lon,), (lat,) = transform(crs, "EPSG:4326", [x], [y])
    xs, ys = transform("EPSG:4326", crs, [lon, lon], [lat, lat + 1e-3])
    v = np.array([xs[1] - xs[0], ys[1] - ys[0]])
    return tuple(v / np.linalg.norm(v))  # type: ignore[return-value]


def true_colour(scene: str | os.PathLike[str]) -> tuple[np.ndarray, tuple[float, float, float, float], str]:
    """(H x W x 3 RGB in [0, 1], (left, right, bottom, top), CRS) of a scene's backdrop: B4, B3,
    B2 as reflectance, stretched between the 2nd and 98th percentiles of the three; NaN is white."""
    import rasterio

    with rasterio.open(scene) as src:
        names = tuple(src.descriptions)
        idx = [names.index(b) + 1 for b in ("B4", "B3", "B2")]
        rgb = src.read(idx).astype(np.float32)
        scale = src.tags().get(SCALE_TAG, "reflectance")
        b, crs = src.bounds, src.crs.to_string()
    rgb = convert(rgb, ("B4", "B3", "B2"), Domain("l4s14", scale), Domain("l4s14", "reflectance"))
    finite = rgb[np.isfinite(rgb)]
    lo, hi = np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0)
    img = np.clip((np.moveaxis(rgb, 0, -1) - lo) / max(hi - lo, 1e-6), 0, 1)
    return np.nan_to_num(img, nan=1.0), (b.left, b.right, b.bottom, b.top), crs


def _landslides(path: str | os.PathLike[str] | None, crs: str) -> list[list[np.ndarray]]:
    """Rings of each predicted landslide (``landslides.geojson``, WGS 84) in ``crs``."""
    from rasterio.warp import transform_geom

    if path is None or not Path(path).is_file():
        return []
    feats = json.loads(Path(path).read_text()).get("features", [])
    return [polygon_rings(transform_geom("EPSG:4326", crs, f["geometry"])) for f in feats if f.get("geometry")]


def _decorate(ax: Any, extent: tuple[float, float, float, float], crs: str) -> None:
    left, right, bottom, top = extent
    w, h = right - left, top - bottom
    length = nice_length(w)
    x0, y0 = left + 0.05 * w, bottom + 0.05 * h
    ax.plot([x0, x0 + length], [y0, y0], color="black", lw=5, solid_capstyle="butt")
    ax.plot([x0, x0 + length / 2], [y0, y0], color="white", lw=3, solid_capstyle="butt")
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(
        x0 + length / 2,
        y0 + 0.025 * h,
        label,
        ha="center",
        va="bottom",
        fontsize=8,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1},
    )
    tail = np.array([right - 0.08 * w, top - 0.22 * h])
    ux, uy = true_north(crs, left + w / 2, bottom + h / 2)
    head = tail + 0.12 * min(w, h) * np.array([ux, uy])
    ax.annotate(
        "",
        xy=tuple(head),
        xytext=tuple(tail),
        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 2, "mutation_scale": 14},
    )
    ax.text(
        *(head + 0.03 * min(w, h) * np.array([ux, uy])),
        "N",
        ha="center",
        va="bottom",
        fontsize=11,
        fontweight="bold",
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1},
    )


def map_georeference(png: str | os.PathLike[str]) -> tuple[str, Any]:
    """(CRS, ``affine.Affine`` from scene x, y to pixel column, row) of a map this module drew."""
    from affine import Affine
    from PIL import Image

    with Image.open(png) as im:
        ref = json.loads(im.text["Georeference"])
    return ref["crs"], Affine(*ref["pixel"])


def draw_risk_map(
    scene: str | os.PathLike[str],
    risk: pd.DataFrame,
    landslides: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    title: str,
) -> Path:
    """Write the map (see the module docstring). ``risk`` has ``geometry`` (GeoJSON dicts in the
    scene's CRS) and ``risk_class``; ``landslides`` is ``landslides.geojson`` (WGS 84) or None."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from affine import Affine
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Polygon

    img, extent, crs = true_colour(scene)
    fig, ax = plt.subplots(figsize=(8, 8 * (extent[3] - extent[2]) / max(extent[1] - extent[0], 1e-9) + 0.8), dpi=_DPI)
    ax.imshow(img, extent=extent, interpolation="nearest")
    classes = risk["risk_class"].astype(str)
    for geom, cls in zip(risk["geometry"], classes):
        colour = RISK_COLOURS.get(cls, "grey")
        for ring in polygon_rings(geom, holes=False):
            ax.add_patch(Polygon(ring, closed=True, facecolor=colour, alpha=FILL_ALPHA, edgecolor=colour, lw=0.8))
    slides = _landslides(landslides, crs)
    for rings in slides:
        for ring in rings:
            ax.plot(ring[:, 0], ring[:, 1], color=LANDSLIDE_COLOUR, lw=1.5)
    counts = classes.value_counts()
    handles = [
        Patch(facecolor=c, alpha=FILL_ALPHA, edgecolor=c, label=f"{k} risk ({counts.get(k, 0)})")
        for k, c in RISK_COLOURS.items()
    ]
    handles.append(Line2D([], [], color=LANDSLIDE_COLOUR, lw=1.5, label=f"predicted landslide ({len(slides)})"))
    ax.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.9)
    _decorate(ax, extent, crs)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(f"easting (m, {crs})")
    ax.set_ylabel("northing (m)")
    ax.ticklabel_format(style="plain", useOffset=False)
    fig.tight_layout()
    fig.canvas.draw()
    height = fig.canvas.get_width_height()[1]
    (c0, r0), (c1, r1) = ax.transData.transform([(0.0, 0.0), (1.0, 1.0)])
    pixel = Affine(c1 - c0, 0.0, c0, 0.0, -(r1 - r0), height - r0)
    out = Path(out)
    fig.savefig(out, dpi=_DPI, metadata={"Georeference": json.dumps({"crs": crs, "pixel": list(pixel)[:6]})})
    plt.close(fig)
    return out
