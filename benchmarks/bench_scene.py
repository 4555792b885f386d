"""Scene prediction at scale: rau-net-small over generated 14-band scenes on CPU.

    python benchmarks/bench_scene.py [--sizes 2048 4096 8192] [--window 128] [--overlap 0.25]

Each size runs in a fresh process, which reports its own peak resident memory, so the figures do
not mix: ``VmHWM`` from ``/proc/self/status`` (the high-water mark of this process image). Not
``ru_maxrss``: Linux carries the pre-exec high-water mark into it, and a child started by
``subprocess`` (vfork + exec) would report this parent's peak, which grows with the scenes the
parent writes. Prints throughput (Mpx/s) and peak memory per
size, and the peak-memory ratio of the largest to the smallest scene (bounded memory: ~1).
Target: peak memory under 1.5 GB at every size, not growing with the scene. TTA is off
(``--tta none``), the overlap 25 %, the preset l4s23 (the median filter included).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def write_scene(path: Path, size: int, strip: int = 512) -> None:
    """A size x size 14-band float32 GeoTIFF (UTM 10 m), written strip by strip from generated patches."""
    import rasterio
    from rasterio.transform import from_origin

    from landslide_fusion.synth import synth_patch

    rng = np.random.default_rng(0)
    tiles = [synth_patch(rng, strip)[0] for _ in range(4)]
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 14,
        "dtype": "float32",
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "crs": "EPSG:32633",
        "transform": from_origin(500000, 4200000, 10, 10),
    }
    with rasterio.open(path, "w", **profile) as dst:
        for r in range(0, size, strip):
            row = np.concatenate([tiles[(r // strip + c) % 4] for c in range(size // strip)], axis=2)
            dst.write(row, window=rasterio.windows.Window(0, r, size, strip))


def peak_memory_mb() -> float:
    """Peak resident memory of this process image (MB): ``VmHWM``, or ``ru_maxrss`` off Linux."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 1024**2)


def child(args: argparse.Namespace) -> None:
    from landslide_fusion.segmentation.inference.scene import predict_scene

    t = time.perf_counter()
    r = predict_scene(
        args.run,
        args.scene,
        args.out,
        window=args.window,
        overlap=args.overlap,
        tta="none",
        polygons=True,
        engine=args.engine,
    )
    seconds = time.perf_counter() - t
    peak_mb = peak_memory_mb()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak_mb,
                "windows": r["windows"],
                "polygons": r["polygons"],
                "landslide_fraction": r["landslide_fraction"],
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096, 8192])
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("--overlap", type=float, default=0.25)
    ap.add_argument("--engine", default="torch", choices=["torch", "onnx"])
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--run", help=argparse.SUPPRESS)
    ap.add_argument("--scene", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a)
        return
    from common import make_run

    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        run = make_run(d)
        if a.engine == "onnx":
            from landslide_fusion.segmentation.inference.export import export_onnx

            export_onnx(run)
        print(f"rau-net-small, l4s23, window {a.window}, overlap {a.overlap}, engine {a.engine}, CPU")
        print("| scene | Mpx | seconds | Mpx/s | peak memory (MB) | landslide % | polygons |")
        print("|---|---|---|---|---|---|---|")
        peaks = []
        for size in a.sizes:
            scene = d / f"scene{size}.tif"
            write_scene(scene, size)
            cmd = [
                sys.executable,
                __file__,
                "--child",
                "--run",
                str(run),
                "--scene",
                str(scene),
                "--out",
                str(d / f"out{size}"),
                "--window",
                str(a.window),
                "--overlap",
                str(a.overlap),
                "--engine",
                a.engine,
            ]
            res = json.loads(
                subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            )
            mpx = size * size / 1e6
            peaks.append(res["peak_mb"])
            print(
                f"| {size}x{size} | {mpx:.1f} | {res['seconds']:.1f} | {mpx / res['seconds']:.2f} | "
                f"{res['peak_mb']:.0f} | "
                f"{100 * res['landslide_fraction']:.2f} | {res['polygons']} |",
                flush=True,
            )
            scene.unlink()
        print(
            f"peak memory ratio {a.sizes[-1]} vs {a.sizes[0]}: {peaks[-1] / peaks[0]:.2f} (target: ~1, all < 1500 MB)"
        )


if __name__ == "__main__":
    main()
