"""A local STAC catalog of Cloud-Optimised GeoTIFFs in public catalogs' asset layouts, and a
real STAC API server over it (``stac-fastapi-static`` under ``uvicorn``; its Starlette static
files answer HTTP range requests for the COGs).

Two sources of pixels: generated tiles (always available, a few dozen pixels) and the real
Sentinel-2 tiles of ``../shared/data/sentinel2_geotiff`` (R, G, B, NIR digital numbers; the bands
they lack, the scene classification layer and the DEM are generated from them).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import Affine, array_bounds
from rasterio.warp import transform_bounds

__all__ = [
    "Tile",
    "write_cog",
    "build_catalog",
    "StacServer",
    "start_server",
    "free_port",
    "EARTH_SEARCH_KEYS",
    "PLANETARY_KEYS",
    "generated_tiles",
    "real_tiles",
    "dem_tile",
]

#: Catalog band -> (Earth Search asset key, native resolution in m).
EARTH_SEARCH_KEYS = {
    "B01": ("coastal", 60),
    "B02": ("blue", 10),
    "B03": ("green", 10),
    "B04": ("red", 10),
    "B05": ("rededge1", 20),
    "B06": ("rededge2", 20),
    "B07": ("rededge3", 20),
    "B08": ("nir", 10),
    "B8A": ("nir08", 20),
    "B09": ("nir09", 60),
    "B11": ("swir16", 20),
    "B12": ("swir22", 20),
    "SCL": ("scl", 20),
}
PLANETARY_KEYS = {b: (b, r) for b, (_, r) in EARTH_SEARCH_KEYS.items()}


@dataclass
class Tile:
    """One Sentinel-2 item: per-band DN arrays at 10 m (downsampled for coarser bands when written)."""

    id: str
    date: str
    crs: str
    transform: Affine
    bands: dict[str, np.ndarray]
    properties: dict = field(default_factory=dict)


def write_cog(
    path: Path, array: np.ndarray, crs: str, transform: Affine, nodata: float | None, keep_existing: bool = False
) -> None:
    """One-band COG (GDAL's COG driver: tiled, with overviews when large); ``keep_existing``
    leaves a file already there alone (the benchmark's full-size tiles are slow to write)."""
    if keep_existing and path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = array.shape
    with rasterio.open(
        path,
        "w",
        driver="COG",
        width=w,
        height=h,
        count=1,
        dtype=array.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
        compress="deflate",
        blocksize=512,
    ) as dst:
        dst.write(array, 1)


def _coarsen(a: np.ndarray, f: int) -> np.ndarray:
    h, w = a.shape[0] // f * f, a.shape[1] // f * f
    return a[:h:f, :w:f] if f > 1 else a


def _geometry(crs: str, transform: Affine, shape: tuple[int, int]) -> tuple[list[float], dict]:
    w, s, e, n = transform_bounds(crs, "EPSG:4326", *array_bounds(shape[0], shape[1], transform))
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    return [w, s, e, n], {"type": "Polygon", "coordinates": [ring]}


def _item(
    collection: str,
    item_id: str,
    date: str,
    crs: str,
    transform: Affine,
    shape: tuple[int, int],
    assets: dict,
    properties: dict,
) -> dict:
    bbox, geom = _geometry(crs, transform, shape)
    epsg = int(crs.split(":")[1])
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": collection,
        "stac_extensions": [
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
        ],
        "bbox": bbox,
        "geometry": geom,
        "properties": {"datetime": f"{date}T10:00:00Z", "proj:epsg": epsg, **properties},
        "links": [],
        "assets": assets,
    }


def _asset(href: str, transform: Affine, shape: tuple[int, int], nodata: float | None, dtype: str) -> dict:
    return {
        "href": href,
        "type": "image/tiff; application=geotiff; profile=cloud-optimized",
        "roles": ["data"],
        "proj:shape": list(shape),
        "proj:transform": list(transform)[:6],
        "raster:bands": [{"nodata": nodata, "data_type": dtype}],
    }


def _s2_item(tile: Tile, root: Path, base_url: str, keys: dict, keep: bool = False) -> dict:
    assets = {}
    for band, (key, res) in keys.items():
        f = res // 10
        a = _coarsen(tile.bands[band], f)
        tr = tile.transform @ Affine.scale(f)
        rel = f"data/{tile.id}/{key}.tif"
        write_cog(root / rel, a, tile.crs, tr, 0, keep)
        assets[key] = _asset(f"{base_url}/{rel}", tr, a.shape, 0, "uint16")
    shape = tile.bands["B04"].shape
    return _item("sentinel-2-l2a", tile.id, tile.date, tile.crs, tile.transform, shape, assets, tile.properties)


def _dem_item(dem: np.ndarray, crs: str, transform: Affine, root: Path, base_url: str, keep: bool = False) -> dict:
    rel = "data/dem/data.tif"
    write_cog(root / rel, dem.astype(np.float32), crs, transform, -32767.0, keep)
    assets = {"data": _asset(f"{base_url}/{rel}", transform, dem.shape, -32767.0, "float32")}
    return _item(
        "cop-dem-glo-30", "Copernicus_DSM_COG_10_test_DEM", "2021-04-22", crs, transform, dem.shape, assets, {}
    )


def _collection(cid: str, items: list[dict]) -> dict:
    bb = np.array([it["bbox"] for it in items])
    dates = sorted(it["properties"]["datetime"] for it in items)
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": cid,
        "description": cid,
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[*bb[:, :2].min(0).tolist(), *bb[:, 2:].max(0).tolist()]]},
            "temporal": {"interval": [[dates[0], dates[-1]]]},
        },
        "links": [],
        "item_assets": {},
    }


def _write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def build_catalog(
    root: Path,
    base_url: str,
    tiles: list[Tile],
    dem: tuple[np.ndarray, str, Affine],
    keys: dict = EARTH_SEARCH_KEYS,
    keep_existing: bool = False,
) -> Path:
    """A static catalog (best-practices layout) with a ``sentinel-2-l2a`` and a ``cop-dem-glo-30``
    collection; asset hrefs point at ``base_url``. Returns ``catalog.json``."""
    cols = {
        "sentinel-2-l2a": [_s2_item(t, root, base_url, keys, keep_existing) for t in tiles],
        "cop-dem-glo-30": [_dem_item(*dem, root, base_url, keep_existing)],
    }
    cat = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "local",
        "description": "test catalog",
        "links": [{"rel": "root", "href": "./catalog.json"}],
    }
    for cid, items in cols.items():
        col = _collection(cid, items)
        col["links"] = [{"rel": "root", "href": "../catalog.json"}, {"rel": "parent", "href": "../catalog.json"}]
        for it in items:
            it["links"] = [
                {"rel": "root", "href": "../../catalog.json"},
                {"rel": "collection", "href": "../collection.json"},
                {"rel": "parent", "href": "../collection.json"},
            ]
            _write_json(root / cid / it["id"] / f"{it['id']}.json", it)
            col["links"].append(
                {"rel": "item", "href": f"./{it['id']}/{it['id']}.json", "type": "application/geo+json"}
            )
        _write_json(root / cid / "collection.json", col)
        cat["links"].append({"rel": "child", "href": f"./{cid}/collection.json", "type": "application/json"})
    _write_json(root / "catalog.json", cat)
    return root / "catalog.json"


# --- pixels ---------------------------------------------------------------------------------


def _synth_bands(rng: np.random.Generator, base: dict[str, np.ndarray], offset: int) -> dict[str, np.ndarray]:
    """All catalog bands from R, G, B, NIR reflectance-DNs (others interpolated), + offset."""
    r, g, b, n = (base[k].astype(np.float32) for k in ("B04", "B03", "B02", "B08"))
    bands = {
        "B01": 0.9 * b,
        "B02": b,
        "B03": g,
        "B04": r,
        "B05": 0.6 * r + 0.4 * n,
        "B06": 0.3 * r + 0.7 * n,
        "B07": 0.1 * r + 0.9 * n,
        "B08": n,
        "B8A": 0.95 * n,
        "B09": 0.4 * n,
        "B11": 0.55 * n + 0.3 * r,
        "B12": 0.3 * n + 0.3 * r,
    }
    valid = r > 0
    out = {k: np.where(valid, np.clip(v + offset, 1, 65535), 0).astype(np.uint16) for k, v in bands.items()}
    out["SCL"] = np.where(valid, 4, 0).astype(np.uint16)  # 4 = vegetation
    return out


def generated_tiles(seed: int = 0, size: int = 48, epsg: int = 32646) -> tuple[list[Tile], tuple]:
    """Two adjacent 10 m tiles (west, east) on two dates. The first date (baseline 05.09, not
    harmonised: DNs + 1000) has a cloud (SCL 9) over rows 8-15 of the west tile; the second
    (baseline 02.14) is clear. DEM: a plane tilted by 30 degrees towards the east."""
    rng = np.random.default_rng(seed)
    x0, y0 = 397_000.0, 2_490_000.0  # UTM 46N, near 22.5 N 92 E
    tiles = []
    for day, offset, props in (
        (
            "2024-08-05",
            1000,
            {"s2:processing_baseline": "05.09", "eo:cloud_cover": 10.0, "earthsearch:boa_offset_applied": False},
        ),
        ("2024-08-10", 0, {"s2:processing_baseline": "02.14", "eo:cloud_cover": 1.0}),
    ):
        for i, name in enumerate(("T46QBL", "T46QCL")):
            base = {k: rng.integers(300, 3000, (size, size)).astype(np.uint16) for k in ("B02", "B03", "B04", "B08")}
            bands = _synth_bands(rng, base, offset)
            if i == 0 and offset:
                bands["SCL"][8:16, :] = 9
            tr = Affine(10, 0, x0 + i * size * 10, 0, -10, y0)
            tiles.append(Tile(f"S2B_{name}_{day.replace('-', '')}_0_L2A", day, f"EPSG:{epsg}", tr, bands, dict(props)))
    return tiles, dem_tile(Affine(10, 0, x0 - 100, 0, -10, y0 + 100), (size + 20, 2 * size + 20), f"EPSG:{epsg}", 30.0)


def dem_tile(transform: Affine, shape: tuple[int, int], crs: str, angle: float) -> tuple[np.ndarray, str, Affine]:
    """A plane rising eastwards at ``angle`` degrees (x in metres along the grid), 500 m at the west edge."""
    xm = np.arange(shape[1]) * transform.a
    dem = 500.0 + np.tan(np.radians(angle)) * np.broadcast_to(xm, shape)
    return dem.astype(np.float32), crs, transform


def real_tiles(folder: Path, names: tuple[str, str], date: str = "2024-08-10") -> list[Tile]:
    """Items from two real tiles (EPSG:4326, R, G, B, NIR DNs); the other bands generated from them."""
    rng = np.random.default_rng(0)
    tiles = []
    for name in names:
        with rasterio.open(folder / name) as src:
            x = src.read().astype(np.float32)
            base = {"B04": x[0], "B03": x[1], "B02": x[2], "B08": x[3]}
            tr, crs = src.transform, src.crs.to_string()
        bands = _synth_bands(rng, base, 0)
        # the real tiles are ~10 m in degrees; keep every band at the tile's own grid
        tiles.append(
            Tile(
                f"S2A_real_{Path(name).stem}",
                date,
                crs,
                tr,
                bands,
                {"s2:processing_baseline": "02.14", "eo:cloud_cover": 0.0},
            )
        )
    return tiles


# --- server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class StacServer:
    url: str
    root: Path
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(catalog: Path, port: int, timeout: float = 60.0) -> StacServer:
    """``stac-fastapi-static`` over ``catalog`` on 127.0.0.1:``port`` (uvicorn, one worker)."""
    env = {
        **os.environ,
        "CATALOG_HREF": str(catalog),
        "APP_HOST": "127.0.0.1",
        "APP_PORT": str(port),
        "RELOAD": "false",
        "LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "stac_fastapi.static.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"STAC server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(url + "/", timeout=2).read()
            return StacServer(url, catalog.parent, proc)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"STAC server did not start on {url} within {timeout} s")


# --- pytest fixtures (imported by conftest.py) -----------------------------------------------

import pytest  # noqa: E402

REAL_TILES = ("000000000000.tif", "000000000004.tif")  # adjacent, west then east


def _serve(tmp_path_factory, name: str, make) -> "StacServer":
    pytest.importorskip("pystac_client")
    pytest.importorskip("odc.stac")
    pytest.importorskip("stac_fastapi.static")
    port = free_port()
    root = tmp_path_factory.mktemp(name)
    tiles, dem, keys = make()
    return start_server(build_catalog(root, f"http://127.0.0.1:{port}", tiles, dem, keys), port)


@pytest.fixture(scope="session")
def stac_generated(tmp_path_factory):
    """A real STAC API over generated tiles (Earth Search layout): two adjacent tiles, two dates."""
    holder = {}

    def make():
        tiles, dem = generated_tiles()
        holder["tiles"] = tiles
        return tiles, dem, EARTH_SEARCH_KEYS

    server = _serve(tmp_path_factory, "stac_generated", make)
    server.tiles = holder["tiles"]  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stac_real(tmp_path_factory):
    """A real STAC API over two adjacent real Sentinel-2 tiles (Planetary Computer layout)."""
    from tests.conftest import shared

    folder = shared("sentinel2_geotiff/images")

    def make():
        tiles = real_tiles(folder, REAL_TILES)
        t = tiles[0]
        dem = dem_tile(Affine(t.transform.a, 0, t.transform.c, 0, t.transform.e, t.transform.f), (256, 512), t.crs, 0.0)
        # a DEM in degrees cannot be a metric plane: heights rise 0.5 m per pixel eastwards instead
        dem = (500.0 + 0.5 * np.broadcast_to(np.arange(512, dtype=np.float32), (256, 512)), t.crs, dem[2])
        return tiles, dem, PLANETARY_KEYS

    server = _serve(tmp_path_factory, "stac_real", make)
    yield server
    server.stop()
