"""Checks of a ``map.png`` by its pixels (shared by tests/test_riskmap.py and tests/test_assess.py):
where a region or an outline lies, found through the georeference the PNG carries."""

from __future__ import annotations

import json

import numpy as np
import rasterio
from matplotlib.colors import to_rgb
from PIL import Image

from landslide_fusion.riskmap import FILL_ALPHA, LANDSLIDE_COLOUR, RISK_COLOURS, map_georeference, true_colour

__all__ = [
    "rgb",
    "pixel_of",
    "expected_fill",
    "assert_filled",
    "assert_region_filled",
    "assert_outline_at",
    "assert_map_shows_risk",
]


def rgb(png) -> np.ndarray:
    """(H, W, 3) float RGB in 0..255."""
    with Image.open(png) as im:
        return np.asarray(im.convert("RGB"), dtype=float)


def pixel_of(png, x: float, y: float) -> tuple[int, int]:
    """(row, column) of the PNG pixel showing scene point (x, y)."""
    col, row = map_georeference(png)[1] @ (x, y)
    return int(row), int(col)


def expected_fill(scene, x: float, y: float, risk_class: str) -> np.ndarray:
    """The class colour blended over the backdrop at (x, y), 0..255."""
    img, _, _ = true_colour(scene)
    with rasterio.open(scene) as src:
        r, c = src.index(x, y)
    return 255 * (FILL_ALPHA * np.array(to_rgb(RISK_COLOURS[risk_class])) + (1 - FILL_ALPHA) * img[r, c])


def assert_filled(png, scene, x: float, y: float, risk_class: str, tol: float = 4.0) -> None:
    """The pixel at (x, y), moved to the centre of its scene pixel (where the backdrop is one
    colour), shows ``risk_class``'s fill over the backdrop (within ``tol`` per channel)."""
    with rasterio.open(scene) as src:
        x, y = src.xy(*src.index(x, y))
    got = rgb(png)[pixel_of(png, x, y)]
    want = expected_fill(scene, x, y, risk_class)
    assert np.abs(got - want).max() <= tol, f"{risk_class} at ({x:.0f}, {y:.0f}): {got} vs {want}"


def assert_region_filled(png, scene, geom: dict, risk_class: str) -> None:
    """At least 2 of 3 points of a 3 x 3 lattice inside the region (a GeoJSON polygon in the
    scene's CRS) show its fill (the others may lie under a landslide's outline)."""
    ring = np.asarray(geom["coordinates"][0], float)
    (x0, y0), (x1, y1) = ring.min(axis=0), ring.max(axis=0)
    ok = 0
    for fx in (0.3, 0.5, 0.7):
        for fy in (0.3, 0.5, 0.7):
            try:
                assert_filled(png, scene, x0 + fx * (x1 - x0), y0 + fy * (y1 - y0), risk_class)
                ok += 1
            except AssertionError:
                pass
    assert ok >= 6, f"{risk_class} region shows its fill at {ok} of 9 points"


def assert_outline_at(png, x: float, y: float, radius: int = 2) -> None:
    """A landslide outline passes within ``radius`` px of scene point (x, y)."""
    r, c = pixel_of(png, x, y)
    win = rgb(png)[r - radius : r + radius + 1, c - radius : c + radius + 1].reshape(-1, 3)
    want = 255 * np.array(to_rgb(LANDSLIDE_COLOUR))
    assert np.abs(win - want).max(axis=1).min() <= 40, f"no outline near ({x:.0f}, {y:.0f})"


def assert_map_shows_risk(out) -> None:
    """An assessment folder's map.png shows, at the region nearest the scene's centre, its class's fill."""
    from rasterio.warp import transform_geom

    with rasterio.open(out / "scene.tif") as s:
        crs, (cx, cy) = s.crs.to_string(), ((s.bounds.left + s.bounds.right) / 2, (s.bounds.bottom + s.bounds.top) / 2)
    feats = json.loads((out / "risk.geojson").read_text())["features"]
    geoms = [transform_geom("EPSG:4326", crs, f["geometry"]) for f in feats]
    centre = [np.asarray(g["coordinates"][0]).mean(axis=0) for g in geoms]
    i = int(np.argmin([np.hypot(x - cx, y - cy) for x, y in centre]))
    assert_region_filled(out / "map.png", out / "scene.tif", geoms[i], feats[i]["properties"]["risk_class"])
