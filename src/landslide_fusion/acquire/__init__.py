"""Acquisition: Sentinel-2 and terrain over STAC, from a box and a date to an analysis-ready GeoTIFF.

Needs the optional ``stac`` extra (``pip install landslide-fusion[stac]``: pystac-client,
odc-stac). One pipeline (:mod:`.fetch`), a module per stage: :mod:`.request` (box, dates, UTM
zone, options) -> :mod:`.search` (items found, retried) -> :mod:`.plan` (convention, days,
scaling and masks per item) -> :mod:`.load` (windowed Dask reads, composite, DEM mosaic) ->
write. Facts: :mod:`.catalogs` (asset-key conventions, signing), :mod:`.sentinel2` (scaling,
SCL, B10), :mod:`.terrain` (slope).
"""

from ..lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__, {".fetch": ["fetch_scene", "fetch"], ".request": ["FetchRequest"]}
)
