"""GeoJSON feature collections: read region polygons, write regions and landslide polygons.

Geometries are GeoJSON dicts (no GEOS dependency). RFC 7946 GeoJSON is WGS 84; when the data
are in another CRS, the collection carries the legacy ``crs`` member naming it, which GDAL,
QGIS and geopandas read.
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

__all__ = ["write_geojson", "write_features", "read_geojson", "box_geometry", "point_geometry", "region_geometries", "GEOMETRY_COLUMNS"]


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


def _value(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def write_geojson(path: str | os.PathLike[str], properties: pd.DataFrame, geometries: list[dict], crs: str | None = None) -> Path:
    """Write one Feature per row of ``properties`` with the matching geometry, atomically."""
    if len(geometries) != len(properties):
        raise DataError(f"{path}: {len(geometries)} geometries for {len(properties)} rows")
    props = properties.drop(columns=[c for c in ("geometry",) if c in properties.columns])
    return write_features(path, zip(props.to_dict("records"), geometries), crs)


def write_features(path: str | os.PathLike[str], features: Iterable[tuple[dict, dict]], crs: str | None = None) -> Path:
    """Stream ``(properties, geometry)`` pairs into a FeatureCollection, atomically; memory does
    not grow with the number of features."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write('{"type": "FeatureCollection", ')
        if crs:
            f.write(f'"crs": {json.dumps({"type": "name", "properties": {"name": crs}})}, ')
        f.write('"features": [')
        for i, (props, geom) in enumerate(features):
            feature = {"type": "Feature", "properties": {str(k): _value(v) for k, v in props.items()}, "geometry": geom}
            f.write((",\n" if i else "\n") + json.dumps(feature))
        f.write("\n]}\n")
    return Path(path)


def read_geojson(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, str | None]:
    """Properties of each feature plus a ``geometry`` column, and the collection's CRS name if any."""
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
            raise DataError(f"{path}: feature {i} has geometry {g and g.get('type')!r}; regions must be Polygon or MultiPolygon")
        rows.append({**(f.get("properties") or {}), "geometry": g})
    crs = (doc.get("crs") or {}).get("properties", {}).get("name")
    return pd.DataFrame(rows), crs
