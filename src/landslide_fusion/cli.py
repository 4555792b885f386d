"""The ``landslide`` command: one sub-app per area, each command calling one library function."""

from __future__ import annotations

from pathlib import Path

import typer

from .clitools import JsonOption, OverwriteOption, emit, user_errors
from .fusion.cli import app as fuse_app
from .io.cli import app as data_app
from .segmentation.cli import app as segment_app
from .tabular.cli import app as tabular_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="landslide",
    help="Landslide detection fusing image segmentation (RAU-Net) and tabular models (LightGBM).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.add_typer(segment_app, name="segment")
app.add_typer(tabular_app, name="tabular")
app.add_typer(fuse_app, name="fuse")


@app.command("demo")
@user_errors
def demo(
    out: Path = typer.Option(Path("demo-output"), help="Folder for every output of the demo."),
    seed: int = typer.Option(0, help="Random seed for data and training."),
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Run the whole pipeline on generated data (CPU, a few minutes) and write its outputs."""
    from .demo import run_demo

    summary = run_demo(out, seed=seed, overwrite=overwrite, progress=not as_json)
    emit(summary, as_json, summary["text"])


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # python -m landslide_fusion.cli (e.g. under torchrun)
    main()
