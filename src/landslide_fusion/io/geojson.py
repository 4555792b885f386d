"""GeoJSON feature collections: read region polygons, write regions and landslide polygons.

Geometries are GeoJSON dicts (no GEOS dependency). RFC 7946 GeoJSON is WGS 84 longitude/latitude,
and that is what readers assume, so the writers reproject geometries from the data's CRS to
WGS 84 (``rasterio.warp.transform_geom``) by default, and orient polygon rings by the right-hand
rule (exterior rings counterclockwise, holes clockwise; RFC 7946 section 3.1.6). Two files are
GeoJSON without being RFC 7946, since their coordinates are not lon/lat:

* ``wgs84=False`` keeps the data's CRS and names it in the legacy ``crs`` member (GeoJSON 2008;
  GDAL, QGIS and geopandas read it);
* without a known CRS the coordinates are written as given and the collection says so in the
  foreign member ``"coordinate_note": "unknown CRS: ..."`` (the callers also warn), since a
  reader would take them for longitude/latitude. (Not ``"coordinates"``: RFC 7946 section 7.1
  keeps that member for geometry objects.)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from .atomic import atomic_path

__all__ = [
    "write_geojson",
    "write_features",
    "read_geojson",
    "box_geometry",
    "point_geometry",
    "region_geometries",
    "region_crs",
    "to_wgs84",
    "is_wgs84",
    "right_hand",
    "GEOMETRY_COLUMNS",
    "WGS84",
    "UNKNOWN_CRS_NOTE",
    "NOTE_MEMBER",
]

WGS84 = "EPSG:4326"
#: What a collection without a known CRS says about its coordinates.
UNKNOWN_CRS_NOTE = (
    "unknown CRS: coordinates are the input's own map or pixel units, not longitude/latitude; "
    "give the regions lon/lat columns or georeferenced footprints"
)
#: The foreign member of a collection without a known CRS that holds :data:`UNKNOWN_CRS_NOTE`.
NOTE_MEMBER = "coordinate_note"


def box_geometry(minx: float, miny: float, maxx: float, maxy: float) -> dict:
    """A rectangle as a GeoJSON Polygon (counter-clockwise exterior ring)."""
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return {"type": "Polygon", "coordinates": [ring]}


def point_geometry(x: float, y: float) -> dict:
    return {"type": "Point", "coordinates": [x, y]}


#: Columns that carry a region's geometry through region tables.
GEOMETRY_COLUMNS = ("geometry", "minx", "miny", "maxx", "maxy", "crs", "x", "y", "lon", "lat")


def region_geometries(frame: pd.DataFrame) -> list[dict] | None:
    """Geometries of a region frame: a ``geometry`` column of GeoJSON dicts or strings, bounds
    columns ``minx, miny, maxx, maxy`` (patch footprints), or point columns ``x, y`` or
    ``lon, lat``; else None."""
    if "geometry" in frame.columns:
        return [json.loads(g) if isinstance(g, str) else g for g in frame["geometry"]]
    if {"minx", "miny", "maxx", "maxy"} <= set(frame.columns):
        return [box_geometry(*r) for r in frame[["minx", "miny", "maxx", "maxy"]].itertuples(index=False)]
    for x, y in (("x", "y"), ("lon", "lat")):
        if {x, y} <= set(frame.columns):
            return [point_geometry(a, b) for a, b in frame[[x, y]].itertuples(index=False)]
    return None


def region_crs(frame: pd.DataFrame, crs: str | None = None) -> str | None:
    """The CRS of :func:`region_geometries`' output: ``crs`` if given, else a ``crs`` column's
    value, else WGS 84 for ``lon, lat`` points, else None (unknown)."""
    if crs:
        return crs
    if "crs" in frame.columns and frame["crs"].notna().any():
        return str(frame["crs"].dropna().iloc[0])
    uses_lonlat = (
        "geometry" not in frame.columns
        and not {"minx", "miny", "maxx", "maxy"} <= set(frame.columns)
        and not {"x", "y"} <= set(frame.columns)
        and {"lon", "lat"} <= set(frame.columns)
    )
    return WGS84 if uses_lonlat else None


def is_wgs84(crs: str | None) -> bool:
    """True when ``crs`` is WGS 84 longitude/latitude (EPSG:4326 or OGC:CRS84)."""
    if not crs:
        return False
    from rasterio.crs import CRS

    c = CRS.from_user_input(crs)
    return c == CRS.from_epsg(4326) or c.to_string() in ("OGC:CRS84", "EPSG:4326")


def to_wgs84(geometry: dict, crs: str) -> dict:
    """``geometry`` reprojected from ``crs`` to WGS 84 longitude/latitude (RFC 7946 order)."""
    from rasterio.warp import transform_geom

    return dict(transform_geom(crs, WGS84, geometry))


def _signed_area(ring: list) -> float:
    """Twice the signed area of a ring (shoelace formula): positive when counterclockwise."""
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:]))


def _oriented(rings: list) -> list:
    return [r if (_signed_area(r) > 0) == (i == 0) else r[::-1] for i, r in enumerate(rings)]


def right_hand(geometry: dict) -> dict:
    """``geometry`` with its polygon rings by the right-hand rule (RFC 7946 section 3.1.6): each
    exterior ring counterclockwise, each hole clockwise, reversed where needed. Other geometry
    types are returned as they are."""
    if geometry["type"] == "Polygon":
        return {**geometry, "coordinates": _oriented(geometry["coordinates"])}
    if geometry["type"] == "MultiPolygon":
        return {**geometry, "coordinates": [_oriented(p) for p in geometry["coordinates"]]}
    return geometry


def _value(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def write_geojson(
    path: str | os.PathLike[str],
    properties: pd.DataFrame,
    geometries: list[dict],
    crs: str | None = None,
    *,
    wgs84: bool = True,
) -> Path:
    """Write one Feature per row of ``properties`` with the matching geometry, atomically
    (reprojected from ``crs`` to WGS 84 unless ``wgs84=False``; see the module docstring)."""
    if len(geometries) != len(properties):
        raise DataError(f"{path}: {len(geometries)} geometries for {len(properties)} rows")
    props = properties.drop(columns=[c for c in ("geometry",) if c in properties.columns])
    return write_features(path, zip(props.to_dict("records"), geometries), crs, wgs84=wgs84)


def _header(crs: str | None, wgs84: bool) -> str:
    if crs and not wgs84:
        return f'"crs": {json.dumps({"type": "name", "properties": {"name": crs}})}, '
    return "" if crs else f"{json.dumps(NOTE_MEMBER)}: {json.dumps(UNKNOWN_CRS_NOTE)}, "


def write_features(
    path: str | os.PathLike[str], features: Iterable[tuple[dict, dict]], crs: str | None = None, *, wgs84: bool = True
) -> Path:
    """Stream ``(properties, geometry)`` pairs into a FeatureCollection, atomically; memory does
    not grow with the number of features. Geometries in ``crs`` are written in WGS 84 (RFC 7946)
    unless ``wgs84=False``, which keeps ``crs`` and names it in a ``crs`` member; polygon rings
    follow the right-hand rule."""
    reproject = bool(crs) and wgs84 and not is_wgs84(crs)
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write('{"type": "FeatureCollection", ' + _header(crs, wgs84))
        f.write('"features": [')
        for i, (props, geom) in enumerate(features):
            geom = right_hand(to_wgs84(geom, crs) if reproject else geom)
            feature = {"type": "Feature", "properties": {str(k): _value(v) for k, v in props.items()}, "geometry": geom}
            f.write((",\n" if i else "\n") + json.dumps(feature))
        f.write("\n]}\n")
    return Path(path)


def read_geojson(path: str | os.PathLike[str], to_crs: str | None = None) -> tuple[pd.DataFrame, str | None]:
    """Properties of each feature plus a ``geometry`` column, and the collection's CRS: its legacy
    ``crs`` member's name, else WGS 84 (RFC 7946). With ``to_crs`` the geometries are reprojected
    to it (``rasterio.warp.transform_geom``) and ``to_crs`` is returned."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; pass a GeoJSON FeatureCollection of regions")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not doc.get("features"):
        raise DataError(f"{path}: expected a GeoJSON FeatureCollection with at least one feature")
    rows = []
    for i, f in enumerate(doc["features"]):
        g = f.get("geometry")
        if not g or g.get("type") not in ("Polygon", "MultiPolygon"):
            raise DataError(
                f"{path}: feature {i} has geometry {g and g.get('type')!r}; regions must be Polygon or MultiPolygon"
            )
        rows.append({**(f.get("properties") or {}), "geometry": g})
    crs = (doc.get("crs") or {}).get("properties", {}).get("name") or WGS84
    frame = pd.DataFrame(rows)
    if to_crs is None or to_crs == crs:
        return frame, crs
    from rasterio.warp import transform_geom

    return frame.assign(geometry=[dict(transform_geom(crs, to_crs, g)) for g in frame["geometry"]]), to_crs
