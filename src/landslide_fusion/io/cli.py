"""``landslide data``: check and generate datasets."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from ..clitools import JsonOption, OverwriteOption, area_app, emit, user_errors
from ..usage import example

__all__ = ["app"]

app = area_app("Validate dataset folders and generate synthetic data.")


class Layout(str, Enum):
    l4s = "l4s"
    folder = "folder"
    scene = "scene"


@app.command(
    "check", epilog=example("landslide data check runs/synth", "landslide data check data/bijie --split val --json")
)
@user_errors
def check(
    root: Path = typer.Argument(..., help="Dataset folder: img/+mask/ (Landslide4Sense) or images/+masks/."),
    split: str = typer.Option(None, help="Check only the stems listed in splits/SPLIT.txt."),
    fix_nan: bool = typer.Option(False, "--fix-nan", help="Replace NaN/inf pixels with 0 instead of failing."),
    shapes: bool = typer.Option(False, "--shapes", help="List every distinct image shape with its count."),
    as_json: bool = JsonOption,
) -> None:
    """Validate every file in ROOT and print counts, image shapes (count, min/median/max height and
    width), band ranges and label balance."""
    from ..check import check_dataset
    from .validate import NanPolicy

    report = check_dataset(
        root, split=split, nan_policy=NanPolicy.ZERO if fix_nan else NanPolicy.RAISE, list_shapes=shapes
    )
    emit(report.to_dict(), as_json, report.to_text())


@app.command("synth", epilog=example("landslide data synth runs/synth --n 200 --size 128"))
@user_errors
def synth(
    root: Path = typer.Argument(..., help="Output folder (created)."),
    n: int = typer.Option(64, "--n", min=1, help="Number of patches."),
    size: int = typer.Option(128, min=16, help="Patch size in pixels."),
    seed: int = typer.Option(0, help="Random seed."),
    layout: Layout = typer.Option(
        Layout.l4s,
        help="l4s: 14-band HDF5; folder: RGB PNG images/ + masks/; scene: one "
        "georeferenced GeoTIFF of the patches side by side + regions.geojson.",
    ),
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Write generated Landslide4Sense-like patches and a matching region table (or, with --layout
    scene, a small georeferenced scene and its region polygons)."""
    from ..synth import write_synth_folder, write_synth_l4s, write_synth_scene

    write = {Layout.l4s: write_synth_l4s, Layout.folder: write_synth_folder, Layout.scene: write_synth_scene}[layout]
    s = write(root, n=n, size=size, seed=seed, overwrite=overwrite)
    what = f"{s.scene.name}, mask.tif, regions.geojson" if s.scene else f"{s.n_patches} patches"
    emit(
        s.__dict__,
        as_json,
        f"wrote {what} ({s.n_patches} patches, {s.positive_patches} with landslides, "
        f"{100 * s.landslide_pixel_fraction:.2f} % landslide pixels) and {s.table} to {s.root}",
    )
