"""The ``assess`` process: its OGC API - Processes description and the checks of an execute request.

A request (``POST /processes/assess/execution``) gives ``inputs``: ``bbox`` (W,S,E,N degrees,
as a list or an OGC bounding box ``{"bbox": [...]}``), ``date`` (a day or ``FIRST/LAST``),
``bundle`` (a registered name), and optionally ``grid_m`` (cell size of a regular grid of
regions, default 500 m), ``regions`` (a GeoJSON FeatureCollection of polygons with an ``id``
property, e.g. slope units), ``catalog`` (a configured catalog's name) and ``place`` (a title).
Everything is checked here, before a job exists: the box and dates by the same functions as
``landslide fetch`` (:mod:`landslide_fusion.acquire.request`), the key's quota, the bundle and
catalog names. No request value becomes a path or a URL: names are looked up in the
configuration, regions are written by the server into the job's own folder.

A request's identity (:func:`request_hash`) is the SHA-256 of its normalised inputs, the bundle's
fingerprint, the catalog's URL and the configured assess options, so the same box, dates and
bundle give the same hash and the finished job's results are returned instead of computing again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..acquire.request import parse_bbox, parse_dates
from ..errors import DataError
from .bundles import Bundle
from .config import ServeConfig
from .problems import Problem
from .quotas import Quota, check_request_quota

__all__ = [
    "ExecuteRequest",
    "AssessInputs",
    "CheckedRequest",
    "check_request",
    "process_description",
    "PROCESS_ID",
    "request_hash",
    "DEFAULT_GRID_M",
]

PROCESS_ID = "assess"
DEFAULT_GRID_M = 500.0
_MAX_REGIONS = 10_000


class OgcBBox(BaseModel):
    """An OGC bounding box input: ``{"bbox": [W, S, E, N], "crs": CRS84}``."""

    model_config = ConfigDict(extra="forbid")
    bbox: list[float] = Field(min_length=4, max_length=4)
    crs: str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


class AssessInputs(BaseModel):
    """The inputs of ``assess`` (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    bbox: list[float] | OgcBBox = Field(description="W,S,E,N in degrees (WGS 84 longitude/latitude)")
    date: str = Field(max_length=40, description="YYYY-MM-DD or YYYY-MM-DD/YYYY-MM-DD")
    bundle: str = Field(max_length=100, description="Name of a registered model bundle")
    grid_m: float | None = Field(None, description="Regular grid of square cells of this size (m), >= 20")
    regions: dict[str, Any] | None = Field(None, description="GeoJSON FeatureCollection of polygons with an id")
    catalog: str | None = Field(None, max_length=100, description="Name of a configured STAC catalog")
    place: str | None = Field(None, max_length=200, description="Place name for the map title")


class ExecuteRequest(BaseModel):
    """An OGC API - Processes execute request (``outputs``, ``response`` and ``subscriber`` are
    accepted and ignored: every job runs asynchronously and returns all its outputs)."""

    model_config = ConfigDict(extra="forbid")
    inputs: AssessInputs
    outputs: dict[str, Any] | None = None
    response: str | None = None
    subscriber: dict[str, Any] | None = None


@dataclass(frozen=True)
class CheckedRequest:
    """What a job runs: normalised inputs (JSON-ready) and their identity."""

    inputs: dict[str, Any]
    bundle: Bundle
    catalog_url: str
    area_km2: float
    hash: str


def _bad(detail: str, **extra: Any) -> Problem:
    return Problem(400, "invalid-input", "Invalid input", detail, **extra)


def request_hash(inputs: dict[str, Any], bundle: Bundle, catalog_url: str, options: dict[str, Any]) -> str:
    """SHA-256 of everything that decides a job's results (see the module docstring)."""
    doc = {
        "inputs": {k: v for k, v in inputs.items() if k != "place"},
        "bundle": bundle.fingerprint,
        "catalog": catalog_url,
        "options": options,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _regions(doc: dict[str, Any]) -> dict[str, Any]:
    feats = doc.get("features")
    if doc.get("type") != "FeatureCollection" or not isinstance(feats, list) or not feats:
        raise _bad("regions must be a GeoJSON FeatureCollection with at least one feature")
    if len(feats) > _MAX_REGIONS:
        raise _bad(f"regions hold {len(feats)} features, more than {_MAX_REGIONS}; split the request")
    for i, f in enumerate(feats):
        geom = f.get("geometry") if isinstance(f, dict) else None
        if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
            raise _bad(f"regions feature {i} must be a Feature with a Polygon or MultiPolygon geometry")
    return doc


def check_request(body: ExecuteRequest, cfg: ServeConfig, quota: Quota) -> CheckedRequest:
    """Check ``body`` against the configuration and ``quota``; raises a :class:`Problem` (400 for
    bad input or unknown names, 403 over the quota)."""
    x = body.inputs
    if x.bundle not in cfg.bundles:
        raise _bad(
            f"bundle {x.bundle!r} is not registered; valid: {', '.join(sorted(cfg.bundles)) or 'none'}",
            valid=sorted(cfg.bundles),
        )
    catalog = x.catalog or next(iter(cfg.catalogs))
    if catalog not in cfg.catalogs:
        raise _bad(f"catalog {catalog!r} is not configured; valid: {', '.join(cfg.catalogs)}", valid=list(cfg.catalogs))
    raw = x.bbox.bbox if isinstance(x.bbox, OgcBBox) else x.bbox
    if isinstance(x.bbox, OgcBBox) and not x.bbox.crs.endswith(("CRS84", "4326")):
        raise _bad(f"bbox crs {x.bbox.crs!r} is not supported; give WGS 84 longitude/latitude (OGC CRS84)")
    try:
        box = parse_bbox(tuple(round(float(v), 6) for v in raw))
        dates = parse_dates(x.date)
    except DataError as e:
        raise _bad(str(e)) from None
    if x.grid_m is not None and x.regions is not None:
        raise _bad("give either grid_m or regions, not both")
    area = check_request_quota(quota, box, dates)
    grid = x.grid_m if x.grid_m is not None else (None if x.regions is not None else DEFAULT_GRID_M)
    if grid is not None:
        if not grid >= 20:
            raise _bad(f"grid_m {grid:g} must be at least 20 (two 10 m pixels)")
        cells = area * 1e6 / grid**2
        if cells > cfg.server.max_grid_cells:
            raise _bad(
                f"a {grid:g} m grid over {area:,.1f} km^2 makes {cells:,.0f} cells, more than "
                f"{cfg.server.max_grid_cells:,}; use larger cells"
            )
    inputs = {
        "bbox": ",".join(f"{v:.6f}" for v in box.as_tuple()),
        "date": str(dates),
        "bundle": x.bundle,
        "grid_m": grid,
        "regions": _regions(x.regions) if x.regions is not None else None,
        "catalog": catalog,
        "place": x.place,
    }
    url = cfg.catalogs[catalog]
    return CheckedRequest(
        inputs, cfg.bundles[x.bundle], url, area, request_hash(inputs, cfg.bundles[x.bundle], url, cfg.assess_options)
    )


OUTPUTS = {
    "risk": ("Risk per region", "application/geo+json", "risk.geojson"),
    "landslides": ("Fused landslide polygons", "application/geo+json", "landslides.geojson"),
    "probability": (
        "Landslide probability (COG)",
        "image/tiff; application=geotiff; profile=cloud-optimized",
        "probability.tif",
    ),
    "composite": (
        "True-colour composite (COG)",
        "image/tiff; application=geotiff; profile=cloud-optimized",
        "composite.tif",
    ),
    "summary": ("What assess did", "application/json", "assess.json"),
}


def process_description(cfg: ServeConfig, base: str = "") -> dict[str, Any]:
    """The OGC process description of ``assess`` (bundles and catalogs as enumerations)."""
    bundles = [cfg.bundles[n].describe() for n in sorted(cfg.bundles)]
    inputs = {
        "bbox": {
            "title": "Box",
            "description": AssessInputs.model_fields["bbox"].description,
            "schema": {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
        },
        "date": {
            "title": "Date or range",
            "description": AssessInputs.model_fields["date"].description,
            "schema": {"type": "string"},
        },
        "bundle": {
            "title": "Model bundle",
            "schema": {"type": "string", "enum": [b["name"] for b in bundles]},
            "bundles": bundles,
        },
        "grid_m": {
            "title": "Grid cell (m)",
            "minOccurs": 0,
            "schema": {"type": "number", "minimum": 20, "default": DEFAULT_GRID_M},
        },
        "regions": {
            "title": "Regions",
            "minOccurs": 0,
            "schema": {"type": "object", "contentMediaType": "application/geo+json"},
        },
        "catalog": {"title": "STAC catalog", "minOccurs": 0, "schema": {"type": "string", "enum": list(cfg.catalogs)}},
        "place": {"title": "Place name", "minOccurs": 0, "schema": {"type": "string", "maxLength": 200}},
    }
    outputs = {
        k: {"title": t, "schema": {"type": "object" if "json" in m else "string", "contentMediaType": m}}
        for k, (t, m, _) in OUTPUTS.items()
    }
    return {
        "id": PROCESS_ID,
        "title": "Landslide risk assessment",
        "version": "1.0.0",
        "description": "Fetch a cloud-free Sentinel-2 composite for a box and dates, predict landslides, and "
        "score the risk of each region (landslide_fusion.assess).",
        "jobControlOptions": ["async-execute", "dismiss"],
        "outputTransmission": ["value", "reference"],
        "inputs": inputs,
        "outputs": outputs,
        "links": [
            {
                "href": f"{base}/processes/{PROCESS_ID}/execution",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/execute",
                "title": "Execute",
                "type": "application/json",
            }
        ],
    }
