"""``map.png`` by its pixels: a known region's fill colour, an outline where the polygon is, the
scale bar, classes a person can tell apart, the north arrow's direction."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pandas as pd
import rasterio
from matplotlib.colors import to_rgb
from rasterio.transform import from_origin
from rasterio.warp import transform_geom

from landslide_fusion.io.geojson import box_geometry
from landslide_fusion.riskmap import FILL_ALPHA, RISK_COLOURS, draw_risk_map, nice_length, true_north
from tests.riskmap_checks import assert_filled, assert_outline_at, pixel_of, rgb

X0, Y0, CRS = 397_000.0, 2_490_000.0, "EPSG:32646"  # 95 E is 2 degrees east of zone 46's meridian (93 E)


def _scene(path, w=80, h=50):
    """Uniform reflectance 0.1 (grey once stretched) but for a few 0.0 / 0.2 pixels in the top-left corner."""
    x = np.full((3, h, w), 0.1, np.float32)
    x[:, :4, :30] = 0.0
    x[:, 4:8, :30] = 0.2
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=w,
        height=h,
        count=3,
        dtype="float32",
        crs=CRS,
        transform=from_origin(X0, Y0, 10, 10),
    ) as dst:
        dst.write(x)
        dst.descriptions = ("B2", "B3", "B4")
        dst.update_tags(DOMAIN_SCALE="reflectance")
    return path


def test_map_pixels(tmp_path):
    scene = _scene(tmp_path / "scene.tif")
    cells = [(X0 + 20 + 150 * i, Y0 - 380, X0 + 150 + 150 * i, Y0 - 120) for i in range(4)]  # one per class
    risk = pd.DataFrame({"risk_class": list(RISK_COLOURS), "geometry": [box_geometry(*c) for c in cells]})
    slide = box_geometry(X0 + 300, Y0 - 300, X0 + 420, Y0 - 200)  # in the scene's CRS ...
    (tmp_path / "landslides.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {}, "geometry": transform_geom(CRS, "EPSG:4326", slide)}
                ],
            }
        )
    )  # ... as WGS 84
    png = draw_risk_map(scene, risk, tmp_path / "landslides.geojson", tmp_path / "map.png", "test")
    for (x0, y0, x1, y1), cls in zip(cells, RISK_COLOURS):
        assert_filled(png, scene, x0 + 30, (y0 + y1) / 2, cls)  # away from the landslide's outline
    assert_outline_at(png, X0 + 360, Y0 - 200)  # the middle of the landslide's top edge
    assert_outline_at(png, X0 + 300, Y0 - 250)
    length = nice_length(800)  # the scale bar: black right half, white left half, from 5 % of the width
    bar_x, bar_y = X0 + 0.05 * 800, Y0 - 500 + 0.05 * 500
    assert rgb(png)[pixel_of(png, bar_x + 0.75 * length, bar_y)].max() < 60
    assert rgb(png)[pixel_of(png, bar_x + 0.25 * length, bar_y)].min() > 200


def test_risk_classes_apart_over_grey():
    """Each class's fill over mid grey differs from every other's by over a quarter of the range."""
    blend = {k: 255 * (FILL_ALPHA * np.array(to_rgb(c)) + (1 - FILL_ALPHA) * 0.5) for k, c in RISK_COLOURS.items()}
    assert min(np.linalg.norm(blend[a] - blend[b]) for a, b in combinations(blend, 2)) > 64


def test_north_arrow_points_to_true_north():
    """East of a UTM zone's central meridian, true north leans west of grid north by the
    convergence ``(lon - lon0) * sin(lat)`` (here 2 degrees x sin 22.5 degrees)."""
    from rasterio.warp import transform

    (x,), (y,) = transform("EPSG:4326", CRS, [95.0], [22.5])
    ux, uy = true_north(CRS, x, y)
    assert ux < 0 and abs(np.degrees(np.arctan2(-ux, uy)) - 2 * np.sin(np.radians(22.5))) < 0.02
