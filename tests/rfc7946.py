"""A strict check of GeoJSON files against RFC 7946 (https://www.rfc-editor.org/rfc/rfc7946).

:func:`check_geojson` returns every violation it finds (an empty list: the file conforms);
:func:`assert_rfc7946` fails a test with them. Checked, with the section of the RFC:

* the text is JSON with finite numbers only (NaN/Infinity are not JSON; section 1.4);
* object types and their members: a FeatureCollection has a ``features`` array of Features; a
  Feature has ``geometry`` (a Geometry or null) and ``properties`` (an object or null), and an
  ``id`` that is a string or a number if present (3.2, 3.3);
* members forbidden outside their own type (7.1): ``coordinates``/``geometries`` outside Geometry
  objects, ``geometry``/``properties`` outside Features, ``features`` outside FeatureCollections;
* geometry structure: positions of 2 or 3 numbers (3.1.1), a LineString of 2+ positions (3.1.4),
  linear rings closed with 4+ positions (3.1.6), GeometryCollections of Geometry objects (3.1.8);
* the right-hand rule: exterior rings counterclockwise, holes clockwise (3.1.6: MUST);
* ``bbox`` of 2 x dimension numbers (5);
* ``lonlat=True`` (a file that claims RFC 7946): no ``crs`` member, the coordinate reference
  system is WGS 84 (4), longitudes in [-180, 180] and latitudes in [-90, 90] (3.1.1).

A file written without a known CRS cannot claim RFC 7946 (its coordinates are not lon/lat): check
it with ``lonlat=False``, which keeps every structural rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["check_geojson", "assert_rfc7946"]

GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection")
#: 7.1: members that only the given type may carry.
OWNERS = {
    "coordinates": "geometry",
    "geometries": "geometry",
    "geometry": "Feature",
    "properties": "Feature",
    "features": "FeatureCollection",
}


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _kind(obj: dict) -> str:
    t = obj.get("type")
    return "geometry" if t in GEOMETRIES else str(t)


class _Checker:
    def __init__(self, lonlat: bool) -> None:
        self.lonlat = lonlat
        self.errors: list[str] = []

    def fail(self, where: str, what: str) -> None:
        self.errors.append(f"{where}: {what}")

    def members(self, obj: dict, where: str) -> None:
        kind = _kind(obj)
        for name, owner in OWNERS.items():
            if name in obj and owner != kind:
                self.fail(where, f"member {name!r} is only allowed on {owner} objects (RFC 7946 7.1)")
        if "bbox" in obj:
            b = obj["bbox"]
            if not isinstance(b, list) or len(b) not in (4, 6) or not all(_number(v) for v in b):
                self.fail(where, f"bbox {b!r} is not 2 x dimension numbers (5)")

    def position(self, p: Any, where: str) -> None:
        if not isinstance(p, list) or len(p) not in (2, 3) or not all(_number(v) for v in p):
            self.fail(where, f"position {p!r} is not 2 or 3 numbers (3.1.1)")
        elif self.lonlat and not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90):
            self.fail(where, f"position {p[:2]} is not longitude/latitude in WGS 84 (4, 3.1.1)")

    def positions(self, ps: Any, where: str, least: int) -> bool:
        if not isinstance(ps, list) or len(ps) < least:
            self.fail(where, f"needs an array of at least {least} positions")
            return False
        for i, p in enumerate(ps):
            self.position(p, f"{where}[{i}]")
        return True

    def ring(self, ring: Any, where: str, exterior: bool) -> None:
        if not self.positions(ring, where, 4):
            return
        if ring[0] != ring[-1]:
            self.fail(where, "linear ring is not closed (3.1.6)")
            return
        area = sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:])) / 2
        if exterior and area <= 0:
            self.fail(where, "exterior ring is not counterclockwise (right-hand rule, 3.1.6)")
        if not exterior and area >= 0:
            self.fail(where, "hole is not clockwise (right-hand rule, 3.1.6)")

    def polygon(self, rings: Any, where: str) -> None:
        if not isinstance(rings, list) or not rings:
            self.fail(where, "a Polygon needs an array of linear rings (3.1.6)")
            return
        for i, r in enumerate(rings):
            self.ring(r, f"{where}[{i}]", exterior=i == 0)

    def geometry(self, g: Any, where: str) -> None:
        if not isinstance(g, dict) or g.get("type") not in GEOMETRIES:
            self.fail(where, f"not a Geometry object (type {g.get('type') if isinstance(g, dict) else g!r})")
            return
        self.members(g, where)
        t, c = g["type"], g.get("coordinates")
        if t == "GeometryCollection":
            if not isinstance(g.get("geometries"), list):
                self.fail(where, "a GeometryCollection needs a 'geometries' array (3.1.8)")
                return
            for i, part in enumerate(g["geometries"]):
                self.geometry(part, f"{where}.geometries[{i}]")
            return
        if c is None:
            self.fail(where, f"a {t} needs 'coordinates' (3.1)")
        elif t == "Point":
            self.position(c, f"{where}.coordinates")
        elif t in ("MultiPoint", "LineString"):
            self.positions(c, f"{where}.coordinates", 1 if t == "MultiPoint" else 2)
        elif t == "MultiLineString":
            for i, line in enumerate(c if isinstance(c, list) else [None]):
                self.positions(line, f"{where}.coordinates[{i}]", 2)
        elif t == "Polygon":
            self.polygon(c, f"{where}.coordinates")
        else:
            for i, rings in enumerate(c if isinstance(c, list) else [None]):
                self.polygon(rings, f"{where}.coordinates[{i}]")

    def feature(self, f: Any, where: str) -> None:
        if not isinstance(f, dict) or f.get("type") != "Feature":
            self.fail(where, "not a Feature object (3.2)")
            return
        self.members(f, where)
        if "geometry" not in f or "properties" not in f:
            self.fail(where, "a Feature needs 'geometry' and 'properties' members, null allowed (3.2)")
        if f.get("geometry") is not None:
            self.geometry(f["geometry"], f"{where}.geometry")
        if f.get("properties") is not None and not isinstance(f["properties"], dict):
            self.fail(where, "'properties' is neither an object nor null (3.2)")
        if "id" in f and not (isinstance(f["id"], str) or _number(f["id"])):
            self.fail(where, "'id' is neither a string nor a number (3.2)")

    def document(self, doc: Any) -> None:
        if not isinstance(doc, dict):
            self.fail("$", "not a JSON object")
            return
        if self.lonlat and "crs" in doc:
            self.fail("$", "a 'crs' member: RFC 7946 coordinates are WGS 84 lon/lat, with no other CRS (4)")
        if doc.get("type") == "FeatureCollection":
            self.members(doc, "$")
            if not isinstance(doc.get("features"), list):
                self.fail("$", "a FeatureCollection needs a 'features' array (3.3)")
                return
            for i, f in enumerate(doc["features"]):
                self.feature(f, f"$.features[{i}]")
        elif doc.get("type") == "Feature":
            self.feature(doc, "$")
        else:
            self.geometry(doc, "$")


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_geojson(path: str | Path, lonlat: bool = True) -> list[str]:
    """Every RFC 7946 violation in the file at ``path`` (see the module docstring)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=_no_constant)
    except ValueError as e:
        return [f"$: not JSON ({e})"]
    checker = _Checker(lonlat)
    checker.document(doc)
    return checker.errors


def assert_rfc7946(path: str | Path, lonlat: bool = True) -> dict:
    """Fail with the violations unless the file at ``path`` conforms; return the parsed document."""
    errors = check_geojson(path, lonlat)
    assert not errors, f"{path} breaks RFC 7946:\n" + "\n".join(errors[:20])
    return json.loads(Path(path).read_text(encoding="utf-8"))
