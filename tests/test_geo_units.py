"""Units a GIS reads: polygon areas in m^2/ha on the ellipsoid, GeoJSON in WGS 84 (RFC 7946)."""

import json

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from landslide_fusion.io.geojson import NOTE_MEMBER, UNKNOWN_CRS_NOTE, box_geometry, read_geojson, write_geojson
from landslide_fusion.segmentation.inference.scene import polygonize
from tests.rfc7946 import assert_rfc7946, check_geojson


def _rasters(tmp_path, crs, transform, mask):
    profile = {
        "driver": "GTiff",
        "height": mask.shape[0],
        "width": mask.shape[1],
        "count": 1,
        "crs": crs,
        "transform": transform,
    }
    with rasterio.open(tmp_path / "m.tif", "w", dtype="uint8", **profile) as d:
        d.write(mask.astype(np.uint8), 1)
    with rasterio.open(tmp_path / "p.tif", "w", dtype="float32", **profile) as d:
        d.write(mask.astype(np.float32) * 0.9, 1)
    return tmp_path / "m.tif", tmp_path / "p.tif"


def test_polygon_area_on_the_ellipsoid_for_a_degree_raster(tmp_path):
    pyproj = pytest.importorskip("pyproj")
    mask = np.zeros((20, 20), bool)
    mask[5:15, 4:12] = True  # 10 x 8 pixels of 1e-4 degrees at 45 N
    feats = list(polygonize(*_rasters(tmp_path, "EPSG:4326", from_origin(7.0, 45.001, 1e-4, 1e-4), mask)))
    assert len(feats) == 1
    p = feats[0]["properties"]
    lon, lat = np.asarray(feats[0]["geometry"]["coordinates"][0]).T
    geodesic, _ = pyproj.Geod(ellps="WGS84").polygon_area_perimeter(lon, lat)
    assert p["area_m2"] == pytest.approx(abs(geodesic), rel=1e-4) and 6500 < p["area_m2"] < 7500
    assert p["area_ha"] == pytest.approx(p["area_m2"] / 1e4) and p["pixels"] == 80


def test_polygon_area_without_crs_is_none(tmp_path):
    mask = np.zeros((8, 8), bool)
    mask[2:4, 2:5] = True
    (f,) = polygonize(*_rasters(tmp_path, None, from_origin(0, 8, 1, 1), mask))
    assert f["properties"]["area_m2"] is None and f["properties"]["pixels"] == 6


def test_geojson_written_in_wgs84_or_saying_its_crs(tmp_path):
    import pandas as pd

    props = pd.DataFrame({"id": ["a"], "v": [1.0]})
    utm = [box_geometry(500000, 4100000, 500100, 4100100)]
    geo = assert_rfc7946(write_geojson(tmp_path / "a.geojson", props, utm, "EPSG:32633"))
    lon, lat = np.asarray(geo["features"][0]["geometry"]["coordinates"][0]).T
    assert "crs" not in geo and np.allclose(lon.mean(), 15.0, atol=0.01) and np.allclose(lat.mean(), 37.04, atol=0.02)
    kept = assert_rfc7946(write_geojson(tmp_path / "b.geojson", props, utm, "EPSG:32633", wgs84=False), lonlat=False)
    assert kept["crs"]["properties"]["name"] == "EPSG:32633"
    assert (
        read_geojson(tmp_path / "b.geojson")[1] == "EPSG:32633"
        and read_geojson(tmp_path / "a.geojson")[1] == "EPSG:4326"
    )
    unknown = assert_rfc7946(write_geojson(tmp_path / "c.geojson", props, utm), lonlat=False)
    assert unknown[NOTE_MEMBER] == UNKNOWN_CRS_NOTE and "coordinates" not in unknown  # RFC 7946 7.1
    assert any("7.1" in e for e in check_geojson(_rewrite(tmp_path / "c.geojson", coordinates="x")))


def _rewrite(path, **members):
    """``path`` with ``members`` set (a new file when it does not exist yet)."""
    doc = {**(json.loads(path.read_text()) if path.exists() else {}), **members}
    path.write_text(json.dumps(doc))
    return path


def test_polygons_written_by_the_right_hand_rule(tmp_path):
    import pandas as pd

    ring = [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]  # clockwise
    hole = [[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8], [0.2, 0.2]]  # counterclockwise
    poly = {"type": "Polygon", "coordinates": [ring, hole]}
    assert (
        len(
            check_geojson(
                _rewrite(
                    tmp_path / "bad.geojson",
                    type="FeatureCollection",
                    features=[{"type": "Feature", "properties": {}, "geometry": poly}],
                )
            )
        )
        == 2
    )
    path = write_geojson(
        tmp_path / "a.geojson",
        pd.DataFrame({"id": ["a", "b"]}),
        [poly, {"type": "MultiPolygon", "coordinates": [[ring, hole]]}],
        "EPSG:4326",
    )
    geo = assert_rfc7946(path)
    assert geo["features"][0]["geometry"]["coordinates"] == [ring[::-1], hole[::-1]]


@pytest.mark.parametrize(
    "doc, message",
    [
        (
            {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}]},
            "'geometry' and 'properties'",
        ),
        ({"type": "FeatureCollection", "features": [], "crs": {"type": "name"}}, "'crs' member"),
        (
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [200.0, 10.0]}},
            "longitude",
        ),
        (
            {"type": "Feature", "properties": None, "geometry": {"type": "LineString", "coordinates": [[1, 2]]}},
            "at least 2",
        ),
        (
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
            },
            "not closed",
        ),
        (
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}, "features": []},
            "7.1",
        ),
        ({"type": "Feature", "properties": {}, "id": [1], "geometry": None}, "'id'"),
    ],
)
def test_the_rfc7946_check_catches_what_it_names(tmp_path, doc, message):
    (tmp_path / "x.geojson").write_text(json.dumps(doc))
    assert any(message in e for e in check_geojson(tmp_path / "x.geojson")), check_geojson(tmp_path / "x.geojson")
    (tmp_path / "y.geojson").write_text('{"type": "Feature", "properties": {"v": NaN}, "geometry": null}')
    assert check_geojson(tmp_path / "y.geojson")[0].startswith("$: not JSON")
