"""The ``landslide`` command: one sub-app per area, each command calling one library function."""

from __future__ import annotations

import math
import os
from enum import Enum
from pathlib import Path

import typer

from . import __version__
from .acquire.catalogs import CONVENTIONS
from .clitools import JsonOption, area_app, lazy_areas, OverwriteOption, ShareOption, emit, user_errors
from .errors import ConfigError
from .names import SCALES
from .usage import example, registered

__all__ = ["app", "main"]

#: The areas' sub-apps, imported and built only when used (``clitools.lazy_areas``).
AREAS = {
    "data": "landslide_fusion.io.cli:app",
    "segment": "landslide_fusion.segmentation.cli:app",
    "tabular": "landslide_fusion.tabular.cli:app",
    "fuse": "landslide_fusion.fusion.cli:app",
    "serve": "landslide_fusion.serve.cli:app",
}

app = area_app(
    "Landslide detection fusing image segmentation (RAU-Net) and tabular models (LightGBM).",
    name="landslide",
    cls=lazy_areas(AREAS),
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"landslide-fusion {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Options of ``landslide`` itself (the help text is the app's)."""


@app.command("demo", epilog=example("landslide demo --out demo-output"))
@user_errors
def demo(
    out: Path = typer.Option(Path("demo-output"), help="Folder for every output of the demo."),
    seed: int = typer.Option(0, help="Random seed for data and training."),
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Run the whole pipeline on generated data (CPU, a few minutes) and write its outputs."""
    # 32 px patches and 200 regions: one thread does the work faster than two that wait on each
    # other (benchmarks/bench_demo.py); set before torch and LightGBM start their thread pools.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from .demo import run_demo

    summary = run_demo(out, seed=seed, overwrite=overwrite, progress=not as_json)
    emit(summary, as_json, summary["text"])


#: Value scales a fetched scene can be written on (landslide_fusion.names.SCALES; uint8 has no conversion).
Scale = Enum("Scale", {s: s for s in SCALES if s != "uint8"}, type=str)  # type: ignore[misc]


BBoxOption = typer.Option(
    ..., "--bbox", metavar="W,S,E,N", help="W,S,E,N in degrees (EPSG:4326), e.g. 91.75,22.40,91.80,22.45."
)
DateOption = typer.Option(
    ..., "--date", metavar="DATE[/DATE]", help="Day or range: 2024-08-01 or 2024-08-01/2024-08-31."
)
CatalogOption = typer.Option("https://earth-search.aws.element84.com/v1", "--catalog", help="STAC API root URL.")
CollectionOption = typer.Option(None, "--collection", help="Sentinel-2 L2A collection (default: the catalog's).")
DemOption = typer.Option(None, "--dem-collection", help="DEM collection (default: cop-dem-glo-30).")
ConventionOption = typer.Option(
    None,
    "--convention",
    parser=registered("catalog convention", lambda: CONVENTIONS),
    metavar="NAME",
    help=f"Asset keys of the catalog: {' or '.join(CONVENTIONS)}, or one registered with "
    "acquire.catalogs.register_convention (default: detected from the items).",
)
CloudOption = typer.Option(None, "--max-cloud", help="Keep items with eo:cloud_cover <= this (%).")
ScenesOption = typer.Option(3, "--max-scenes", help="Composite the N least cloudy days.")
AreaOption = typer.Option(2500.0, "--max-area", help="Refuse boxes larger than this (km^2).")
RetriesOption = typer.Option(3, "--retries", help="Retry failed searches and reads (HTTP 429/5xx) up to N times.")
OffsetOption = typer.Option(None, "--boa-offset", help="DN offset to subtract, overriding the items' metadata.")


def _fetch_options(
    catalog: str,
    collection: str | None,
    dem_collection: str | None,
    convention: str | None,
    max_cloud: float | None,
    max_scenes: int,
    max_area: float,
    retries: int,
    boa_offset: int | None,
) -> dict:
    return {
        "catalog": catalog,
        "collection": collection,
        "dem_collection": dem_collection,
        "convention": convention,
        "max_cloud": max_cloud,
        "max_scenes": max_scenes,
        "max_area_km2": max_area,
        "retries": retries,
        "boa_offset": boa_offset,
    }


@app.command(
    "fetch", epilog=example("landslide fetch --bbox 91.75,22.40,91.80,22.45 --date 2024-08-01/2024-08-31 -o scene.tif")
)
@user_errors
def fetch(
    bbox: str = BBoxOption,
    date: str = DateOption,
    out: Path = typer.Option(..., "--out", "-o", help="Output GeoTIFF (B1..B12, SLOPE, DEM)."),
    scale: Scale = typer.Option("reflectance", "--scale", help="Value scale of the output (input domain)."),
    catalog: str = CatalogOption,
    collection: str = CollectionOption,
    dem_collection: str = DemOption,
    convention: str = ConventionOption,
    max_cloud: float = CloudOption,
    max_scenes: int = ScenesOption,
    max_area: float = AreaOption,
    retries: int = RetriesOption,
    boa_offset: int = OffsetOption,
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Fetch a cloud-free Sentinel-2 composite with slope and DEM for a box and dates over STAC."""
    from .acquire import fetch_scene

    r = fetch_scene(
        bbox,
        date,
        out,
        scale=scale.value,
        overwrite=overwrite,
        progress=not as_json,
        **_fetch_options(
            catalog, collection, dem_collection, convention, max_cloud, max_scenes, max_area, retries, boa_offset
        ),
    )
    emit(
        r,
        as_json,
        f"wrote {r['out']}: {r['width']} x {r['height']} px at {r['resolution_m']:g} m, {r['crs']}, "
        f"dates {', '.join(r['dates'])}, {len(r['items'])} item(s)",
    )


def _grid(value: str | None) -> float | None:
    if value is None:
        return None
    v = value.strip().lower().removesuffix("m")
    try:
        size = float(v[:-1]) * 1000 if v.endswith("k") else float(v)
    except ValueError:
        size = float("nan")
    if not math.isfinite(size):
        raise ConfigError(f"--grid {value!r} must be a finite cell size such as 500m or 1km")
    return size


@app.command(
    "assess",
    epilog=example(
        "landslide assess --bbox 91.75,22.40,91.80,22.45 --date 2024-08-01/2024-08-31 --run runs/seg --grid 500m "
        "-o runs/assess"
    ),
)
@user_errors
def assess_cmd(
    bbox: str = BBoxOption,
    date: str = DateOption,
    run: Path = typer.Option(..., "--run", help="Segmentation run folder."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    tabular: Path = typer.Option(None, "--tabular", help="Tabular model folder (with --fusion)."),
    fusion: Path = typer.Option(None, "--fusion", help="Fusion folder (with --tabular)."),
    regions: Path = typer.Option(None, "--regions", help="GeoJSON of regions (e.g. slope units)."),
    grid: str = typer.Option(
        None, "--grid", metavar="SIZE", help="Regular grid of cells instead of --regions, e.g. 500m (default)."
    ),
    table: Path = typer.Option(None, "--table", help="Table of tabular features joined on the region id."),
    place: str = typer.Option(None, "--place", help="Place name for the map title."),
    landslide_free_share: float = ShareOption,
    allow_mismatch: bool = typer.Option(
        False,
        "--allow-mismatch",
        help="Warn instead of refusing when the run or tabular model differs from those the fusion was trained on.",
    ),
    catalog: str = CatalogOption,
    collection: str = CollectionOption,
    dem_collection: str = DemOption,
    convention: str = ConventionOption,
    max_cloud: float = CloudOption,
    max_scenes: int = ScenesOption,
    max_area: float = AreaOption,
    retries: int = RetriesOption,
    boa_offset: int = OffsetOption,
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """From a box and dates to a risk map: fetch, predict, zonal statistics, fused risk, map.png."""
    from .assess import assess

    r = assess(
        bbox,
        date,
        run,
        out,
        tabular=tabular,
        fusion=fusion,
        regions=regions,
        grid_m=_grid(grid),
        table=table,
        place=place,
        landslide_free_share=landslide_free_share,
        allow_mismatch=allow_mismatch,
        overwrite=overwrite,
        progress=not as_json,
        **_fetch_options(
            catalog, collection, dem_collection, convention, max_cloud, max_scenes, max_area, retries, boa_offset
        ),
    )
    d = r["decision"]
    mix = (
        "the training mix"
        if d["landslide_free_share"] is None
        else f"{100 * d['landslide_free_share']:.0f} % landslide-free regions"
    )
    emit(
        r,
        as_json,
        f"wrote {r['out']}: {r['regions']} regions ({r['method']} risk: "
        f"{', '.join(f'{k} {v}' for k, v in r['risk_classes'].items())}); {r['landslide']} decided "
        f"landslide for {mix} (risk >= {d['risk_threshold']:.3f}), {r['landslide_polygons']} confirmed "
        "landslide polygons; map.png" + "".join(f"\nwarning: {w}" for w in r["warnings"]),
    )


def main() -> None:
    """Console-script entry point. SIGTERM (``kill PID``) raises
    :class:`~landslide_fusion.io.atomic.Terminated` for the whole command, so an interrupted command
    removes its temporaries and locks as on an error, then exits with status 143."""
    from .io.atomic import terminate_raises

    with terminate_raises():
        app()


if __name__ == "__main__":  # python -m landslide_fusion.cli (e.g. under torchrun)
    main()
