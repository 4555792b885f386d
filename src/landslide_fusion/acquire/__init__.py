"""Acquisition: Sentinel-2 and terrain over STAC, from a box and a date to an analysis-ready GeoTIFF.

Needs the optional ``stac`` extra (``pip install landslide-fusion[stac]``: pystac-client,
odc-stac). Modules: :mod:`.request` (box, dates, UTM zone, size limit), :mod:`.catalogs`
(asset-key conventions, signing), :mod:`.search`, :mod:`.sentinel2` (offsets, scaling, SCL,
B10), :mod:`.terrain` (slope), :mod:`.load` (windowed Dask reads, composite), :mod:`.fetch`.
"""

from ..lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {".fetch": ["fetch_scene", "FetchRequest"]})
