"""``fetch_scene`` against real item JSON from Earth Search v1 and the Planetary Computer, served
by a STAC API backed by a database (stac-fastapi-pgstac over pgstac and PostgreSQL/PostGIS,
``tests/stac_api.py``), with COGs generated on each item's declared grid (``tests/stac_items.py``).

Scenes: Earth Search ``sentinel-2-l2a`` (harmonised DNs, ``boa_offset_applied: true``) and
``sentinel-2-c1-l2a`` (ESA's DNs, ``raster:bands`` offset -0.1) on two adjacent MGRS tiles (24MUV,
24MVV, 2025-07-31), the box across 24MUV's swath edge; Planetary Computer ``sentinel-2-l2a``
(ESA's DNs, no ``raster:bands``) on two tiles either side of the UTM zone 46/47 boundary (96 E,
2024-04-19), each tile 0 beyond a swath line so that every pixel of the box has data in one tile
only on each side, the DEM tiles' seam (96 E) across the box too. Then the faults a real server
produces, on copies of the Earth Search items dated later.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import rasterio
from rasterio.warp import transform

from landslide_fusion.bands import L4S14
from landslide_fusion.errors import LandslideError

# pystac migrates the items' storage extension and cannot find an S3 bucket in the local hrefs
pytestmark = pytest.mark.filterwarnings("ignore:Could not parse bucket/account from href:UserWarning")

ES_BOX = (-39.825, -4.600, -39.800, -4.590)  # across 24MUV's east swath edge (-39.813 E), inside 24MVV
PC_BOX = (95.970, 81.495, 96.030, 81.505)  # across the zone 46/47 boundary and the DEM seam (96 E)
PC_CUTS = {"46XER": lambda lon: lon < 96.01, "47XML": lambda lon: lon > 95.99}  # where each PC tile has data
SLOPE_DEG = 20.0
ES_BANDS = {
    "B01": "coastal",
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B05": "rededge1",
    "B06": "rededge2",
    "B07": "rededge3",
    "B08": "nir",
    "B8A": "nir08",
    "B09": "nir09",
    "B11": "swir16",
    "B12": "swir22",
}
BANDS = tuple(ES_BANDS)  # catalog names of the bands generated


def reflectance(band: str, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The ground's reflectance in ``band``: smooth in longitude and latitude, blue near 0.05."""
    i = BANDS.index(band)
    return 0.03 + 0.02 * i + 0.01 * np.sin(np.radians(lon) * 3000) + 0.01 * np.cos(np.radians(lat) * 3000)


def _inside(item: dict, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    from shapely import contains_xy
    from shapely.geometry import shape

    ok = contains_xy(shape(item["geometry"]), lon, lat)
    cut = PC_CUTS.get(item["properties"].get("s2:mgrs_tile"))
    return ok & cut(lon) if cut else ok


def s2_values(item: dict, offset: int, band_of: dict[str, str]):
    """``values(key, lon, lat)`` of a Sentinel-2 item: DN = 10000 x reflectance + ``offset``
    inside its swath, SCL 4 (vegetation) there, 0 (nodata) outside."""
    band = {k: b for b, k in band_of.items()}

    def values(key, lon, lat):
        inside = _inside(item, lon, lat)
        if key in band:
            return np.where(inside, np.round(reflectance(band[key], lon, lat) * 10000) + offset, 0)
        return np.where(inside, 4, 0)

    return values


def plane(box, crs: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Heights (m) at ``x, y`` (``crs``) of a plane tilted by :data:`SLOPE_DEG` towards the
    east-north-east, 500 m at the box's centre."""
    (x0,), (y0,) = transform("EPSG:4326", crs, [(box[0] + box[2]) / 2], [(box[1] + box[3]) / 2])
    t = np.tan(np.radians(SLOPE_DEG))
    return 500 + t * np.cos(np.radians(25)) * (x - x0) + t * np.sin(np.radians(25)) * (y - y0)


def dem_values(box, epsg: int):
    """``values(key, lon, lat)`` of the DEM: :func:`plane` on ``EPSG:epsg`` (the scene's grid)."""

    def values(key, lon, lat):
        x, y = transform("EPSG:4326", f"EPSG:{epsg}", lon.ravel(), lat.ravel())
        return plane(box, f"EPSG:{epsg}", np.asarray(x), np.asarray(y)).reshape(lon.shape)

    return values


class Scenes:
    """Writes a scene's files and loads its items into the API."""

    def __init__(self, server):
        self.server = server

    def s2(self, item: dict, offset: int, band_of: dict[str, str], scl: str, box, **changes) -> dict:
        item = copy.deepcopy(item)
        for k, v in changes.items():
            if k == "id":
                item["id"] = v
            elif k == "date":
                item["properties"]["datetime"] = f"{v}T13:03:20Z"
            else:
                item["properties"][k] = v
        from tests.stac_items import localise

        return localise(
            item,
            self.server.data,
            self.server.url + "/data",
            [*band_of.values(), scl],
            box,
            s2_values(item, offset, band_of),
        )

    def dem(self, template: dict, tiles, epsg: int, box) -> list[dict]:
        from tests.stac_items import copernicus_item, localise

        return [
            localise(
                copernicus_item(template, lat, lon),
                self.server.data,
                self.server.url + "/data",
                ["data"],
                box,
                dem_values(box, epsg),
                "float32",
            )
            for lat, lon in tiles
        ]


@pytest.fixture(scope="module")
def catalogs(pgstac_api):
    """The two catalogs' scenes, loaded once into the database (see the module docstring)."""
    from tests.stac_items import fixture_items

    es, pc = fixture_items("earth-search"), fixture_items("planetary-computer")
    scenes, items = Scenes(pgstac_api), []
    for uid in ("S2B_24MUV_20250731_0_L2A", "S2B_24MVV_20250731_0_L2A"):
        items.append(scenes.s2(es[uid], 0, ES_BANDS, "scl", ES_BOX))  # Earth Search removed the offset
    for uid in ("S2B_T24MUV_20250731T130245_L2A", "S2B_T24MVV_20250731T130245_L2A"):
        items.append(scenes.s2(es[uid], 1000, ES_BANDS, "scl", ES_BOX))  # collection 1 keeps ESA's DNs
    items += scenes.dem(es["Copernicus_DSM_COG_10_S90_00_W171_00_DEM"], [(-5, -40)], 32724, ES_BOX)
    pc_bands = {b: b for b in BANDS}
    for uid in (k for k in pc if "T46XER" in k or "T47XML" in k):
        items.append(scenes.s2(pc[uid], 1000, pc_bands, "SCL", PC_BOX))  # baseline 05.10, not harmonised
    items += scenes.dem(pc["Copernicus_DSM_COG_10_S90_00_W180_00_DEM"], [(81, 95), (81, 96)], 32647, PC_BOX)
    pgstac_api.load(items)
    return scenes, es


def box_arg(box) -> str:
    return ",".join(f"{v:.6f}" for v in box)


def check_scene(path, box) -> dict:
    """The written scene against the ground it shows; returns its tags."""
    with rasterio.open(path) as src:
        x, tags, crs = src.read(), src.tags(), src.crs.to_string()
        rows, cols = np.mgrid[0 : src.height, 0 : src.width]
        xs, ys = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
        lon, lat = (np.asarray(v).reshape(rows.shape) for v in transform(src.crs, "EPSG:4326", xs, ys))
        east, north = (np.asarray(v).reshape(rows.shape) for v in (xs, ys))
    optical = [i for i in range(12) if i != 9]  # B1 ... B12 as in l4s14 (no B8A); B10 is filled
    assert np.isfinite(x[optical]).all(), f"{np.isnan(x[optical]).sum()} empty pixels"  # every pixel has a tile
    for i in optical:
        band = f"B{int(L4S14.bands[i][1:]):02d}"
        assert np.abs(x[i] - reflectance(band, lon, lat)).max() < 2e-3, band
    assert np.abs(x[12] - SLOPE_DEG).max() < 0.05  # the plane's slope, along the DEM seam too
    assert np.abs(x[13] - plane(box, crs, east, north)).max() < 0.05
    return tags


def test_earth_search_both_collections(catalogs, pgstac_api, tmp_path):
    """sentinel-2-l2a (offset removed, flag true) and sentinel-2-c1-l2a (offset kept, raster:bands)
    give the same reflectance: each item's own metadata decides its scaling."""
    from landslide_fusion.acquire import fetch_scene

    for collection, source in (
        ("sentinel-2-c1-l2a", "raster:bands"),
        ("sentinel-2-l2a", "earthsearch:boa_offset_applied=true"),
    ):
        out = tmp_path / f"{collection}.tif"
        r = fetch_scene(
            box_arg(ES_BOX), "2025-07-31", out, catalog=pgstac_api.url, collection=collection, progress=False
        )
        tags = check_scene(out, ES_BOX)
        assert r["convention"] == "earth-search" and len(r["items"]) == 2 and r["crs"] == "EPSG:32724"
        assert all(source in s for s in r["scaling"].values()) and source in tags["SCALING"]


def test_planetary_computer_across_utm_zones(catalogs, pgstac_api, tmp_path):
    """Two tiles in zones 46 and 47, each 0 (nodata, undeclared by the items) where only the other
    has data: every pixel is filled; offset from the baseline; DEM tiles mosaicked across 96 E."""
    from landslide_fusion.acquire import fetch_scene

    r = fetch_scene(box_arg(PC_BOX), "2024-04-19", tmp_path / "pc.tif", catalog=pgstac_api.url, progress=False)
    check_scene(tmp_path / "pc.tif", PC_BOX)
    assert r["convention"] == "planetary-computer" and len(r["items"]) == 2 and r["crs"] == "EPSG:32647"
    assert len(r["dem_items"]) == 2 and all("s2:processing_baseline 05.10" in s for s in r["scaling"].values())


def _copies(catalogs, date: str, **changes) -> list[dict]:
    """The Earth Search l2a items again, as new items of ``date`` with their own files."""
    scenes, es = catalogs
    return [
        scenes.s2(
            es[uid], 0, ES_BANDS, "scl", ES_BOX, id=uid.replace("20250731", date.replace("-", "")), date=date, **changes
        )
        for uid in ("S2B_24MUV_20250731_0_L2A", "S2B_24MVV_20250731_0_L2A")
    ]


def _fails(pgstac_api, date, out, **options) -> str:
    from landslide_fusion.acquire import fetch_scene

    with pytest.raises(LandslideError) as e:
        fetch_scene(box_arg(ES_BOX), date, out, catalog=pgstac_api.url, progress=False, **options)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_flag_contradicted_by_the_pixels_is_refused(catalogs, pgstac_api, tmp_path):
    """earth-search#71: ``boa_offset_applied: false`` on COGs whose offset was removed; the
    request is refused naming the items, nothing is written; --boa-offset 0 reads them."""
    from landslide_fusion.acquire import fetch_scene

    items = _copies(catalogs, "2025-08-10", **{"earthsearch:boa_offset_applied": False})
    pgstac_api.load(items)
    msg = _fails(pgstac_api, "2025-08-10", tmp_path / "new" / "s.tif")
    assert all(it["id"] in msg for it in items) and "below 1000" in msg and "--boa-offset 0" in msg
    assert not (tmp_path / "new").exists()
    r = fetch_scene(
        box_arg(ES_BOX), "2025-08-10", tmp_path / "s.tif", catalog=pgstac_api.url, boa_offset=0, progress=False
    )
    assert all("--boa-offset" in s for s in r["scaling"].values())
    check_scene(tmp_path / "s.tif", ES_BOX)


def test_asset_404_is_one_line_and_leaves_no_folder(catalogs, pgstac_api, tmp_path):
    items = _copies(catalogs, "2025-08-15")
    items[1]["assets"]["red"]["href"] = pgstac_api.url + "/data/missing/red.tif"
    pgstac_api.load(items)
    msg = _fails(pgstac_api, "2025-08-15", tmp_path / "new" / "deeper" / "s.tif")
    assert msg.startswith(f"STAC item {items[1]['id']}: asset 'red'") and "HTTP 404" in msg, msg
    assert not (tmp_path / "new").exists()


def test_item_without_scl_is_skipped_with_a_warning(catalogs, pgstac_api, tmp_path):
    """The convention is detected from all items; the one without ``scl`` is left out, named."""
    from landslide_fusion.acquire import fetch_scene
    from landslide_fusion.acquire.plan import SkippedItemsWarning

    items = _copies(catalogs, "2025-08-20")
    del items[0]["assets"]["scl"]
    pgstac_api.load(items)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = fetch_scene(box_arg(ES_BOX), "2025-08-20", tmp_path / "s.tif", catalog=pgstac_api.url, progress=False)
    skipped = [w for w in caught if issubclass(w.category, SkippedItemsWarning)]
    assert len(skipped) == 1 and f"{items[0]['id']} (no scl)" in str(skipped[0].message)
    assert r["items"] == [items[1]["id"]] and r["skipped_items"] == [items[0]["id"]]
    with rasterio.open(tmp_path / "s.tif") as src:
        assert np.isfinite(src.read(4)).all()  # the box lies inside 24MVV's swath


def test_transient_server_errors_are_retried(catalogs, pgstac_api, tmp_path):
    """HTTP 500 from /search and 503 from COG reads, twice each: retried with backoff; with
    --retries 0 the search fails in one line."""
    from landslide_fusion.acquire import fetch_scene

    pgstac_api.load(_copies(catalogs, "2025-08-25"))
    try:
        pgstac_api.faults(
            [
                {"method": "POST", "prefix": "/search", "status": 500, "count": 2},
                {"method": "GET", "prefix": "/data/sentinel-2-l2a/S2B_24MVV_20250825", "status": 503, "count": 2},
            ]
        )
        r = fetch_scene(
            box_arg(ES_BOX), "2025-08-25", tmp_path / "s.tif", catalog=pgstac_api.url, retries=3, progress=False
        )
        assert [f["count"] for f in pgstac_api.faults()] == [0, 0] and len(r["items"]) == 2
        check_scene(tmp_path / "s.tif", ES_BOX)
        pgstac_api.faults([{"method": "POST", "prefix": "/search", "status": 500, "count": 1}])
        msg = _fails(pgstac_api, "2025-08-25", tmp_path / "t.tif", retries=0)
        assert "failed after 0 retries" in msg and "500" in msg, msg
    finally:
        pgstac_api.faults([])
