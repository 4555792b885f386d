"""Windowed STAC reads: bytes and seconds for a box, against reading the whole files.

    python benchmarks/bench_fetch.py [--size 10980] [--boxes-km 5 10] [--work DIR]

Builds a local catalog of one generated full-size Sentinel-2 tile (every L2A band as a COG at
its native resolution: 10980 px at 10 m, 5490 at 20 m, 1830 at 60 m, plus SCL and a 30 m DEM),
serves it with the same real STAC API server the tests use (stac-fastapi-static under uvicorn,
HTTP range requests), then:

* ``fetch``: ``landslide fetch`` of a K x K km box at the tile's centre, for each K;
* ``whole``: every asset of the item downloaded in full over HTTP (what a reader without range
  requests, or a download-then-crop workflow, transfers).

Bytes are what the server process wrote to its sockets (``wchar`` of ``/proc/PID/io``, the
search JSON included). Reads must scale with the box, not with the scene: a 10 x 10 km box is
about 0.8 % of a 110 x 110 km tile, and its bytes should be a few percent of ``whole`` (the COGs'
512 px blocks at the box's edges and the files' headers add a margin; each fetch runs in a fresh
process so no cache of an earlier box serves a later one). ``--size`` smaller than 10980 makes a
quick check (the box then covers more of the tile). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from rasterio.transform import Affine
from rasterio.warp import transform_bounds

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' catalog builder and server

from tests.stac_catalog import EARTH_SEARCH_KEYS, Tile, build_catalog, free_port, start_server  # noqa: E402

X0, Y0, EPSG = 300_000.0, 2_600_000.0, 32646


def smooth(size: int, seed: int, lo: int, hi: int) -> np.ndarray:
    """A smooth uint16 field with a little noise (compresses like real imagery rather than like
    noise); memory: a few arrays of ``size``^2 x 2 bytes."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(lo, hi, (size // 366 + 2, size // 366 + 2)).astype(np.uint16)
    idx = np.minimum(np.arange(size) // 366, coarse.shape[0] - 1)
    field = coarse[np.ix_(idx, idx)]
    field += rng.integers(0, 40, (size, size), dtype=np.uint16)
    return field


def make_catalog(root: Path, base: str, size: int) -> Path:
    value = smooth(size, 0, 300, 3000)
    bands = {b: value for b in EARTH_SEARCH_KEYS}
    bands["SCL"] = np.full((size, size), 4, np.uint16)
    tile = Tile(
        "S2B_T46QBM_20240810_0_L2A",
        "2024-08-10",
        f"EPSG:{EPSG}",
        Affine(10, 0, X0, 0, -10, Y0),
        bands,
        {"s2:processing_baseline": "02.14", "eo:cloud_cover": 0.0},
    )
    n = size // 3
    dem = (500 + np.cumsum(np.ones((n, n), np.float32), axis=1), f"EPSG:{EPSG}", Affine(30, 0, X0, 0, -30, Y0))
    return build_catalog(root, base, [tile], dem, keep_existing=True)


def served_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def box_at_centre(size: int, km: float) -> str:
    cx, cy, half = X0 + size * 5, Y0 - size * 5, km * 500
    return ",".join(
        f"{v:.6f}" for v in transform_bounds(f"EPSG:{EPSG}", "EPSG:4326", cx - half, cy - half, cx + half, cy + half)
    )


def whole_files(root: Path, url: str) -> list[str]:
    return [f"{url}/{p.relative_to(root).as_posix()}" for p in sorted((root / "data").rglob("*.tif"))]


def fetch_in_process(box: str, out: Path, url: str) -> dict:
    """``landslide fetch`` in a fresh process: GDAL's /vsicurl/ cache of an earlier box must not
    serve this one."""
    cmd = [
        sys.executable,
        "-m",
        "landslide_fusion.cli",
        "fetch",
        "--bbox",
        box,
        "--date",
        "2024-08-10",
        "--catalog",
        url,
        "-o",
        str(out),
        "--overwrite",
        "--json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=10980, help="tile width in 10 m pixels")
    ap.add_argument("--boxes-km", type=float, nargs="+", default=[5.0, 10.0])
    ap.add_argument(
        "--work",
        type=Path,
        default=None,
        help="folder for the catalog (default: a temporary one); COGs already there are reused",
    )
    a = ap.parse_args()

    work = a.work or Path(tempfile.mkdtemp(prefix="bench_fetch_"))
    port = free_port()
    t0 = time.perf_counter()
    catalog = make_catalog(work / "catalog", f"http://127.0.0.1:{port}", a.size)
    result = {"tile_px": a.size, "catalog_seconds": round(time.perf_counter() - t0, 1), "runs": []}
    server = start_server(catalog, port)
    try:
        for km in a.boxes_km:
            b0, t0 = served_bytes(server.process.pid), time.perf_counter()
            r = fetch_in_process(box_at_centre(a.size, km), work / f"box_{km:g}km.tif", server.url)
            result["runs"].append(
                {
                    "what": f"fetch {km:g} x {km:g} km",
                    "pixels": r["width"] * r["height"],
                    "seconds": round(time.perf_counter() - t0, 2),
                    "mbytes": round((served_bytes(server.process.pid) - b0) / 1e6, 2),
                }
            )
        b0, t0 = served_bytes(server.process.pid), time.perf_counter()
        for href in whole_files(work / "catalog", server.url):
            with urllib.request.urlopen(href) as resp:
                while resp.read(1 << 20):
                    pass
        result["runs"].append(
            {
                "what": "whole files (every asset)",
                "seconds": round(time.perf_counter() - t0, 2),
                "mbytes": round((served_bytes(server.process.pid) - b0) / 1e6, 2),
            }
        )
    finally:
        server.stop()
    whole = result["runs"][-1]["mbytes"]
    for run in result["runs"][:-1]:
        run["fraction_of_whole"] = round(run["mbytes"] / whole, 4) if whole else None
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
