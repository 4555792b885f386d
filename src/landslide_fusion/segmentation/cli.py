"""``landslide segment``: train, evaluate, predict, list models."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from ..clitools import ConfigOption, JsonOption, OverwriteOption, SetOption, emit, user_errors
from ..config import load_config

app = typer.Typer(help="Segment landslides in image patches (RAU-Net family).", no_args_is_help=True)


class TTA(str, Enum):
    none = "none"
    rot90 = "rot90"
    d4 = "d4"


@app.command("models")
@user_errors
def models(
    bands: int = typer.Option(23, help="Input band count used for the parameter counts."),
    as_json: bool = JsonOption,
) -> None:
    """List registered models with parameter counts."""
    from .models import count_parameters, create_model, describe_model, list_models

    rows = [{"name": n, "parameters": count_parameters(create_model(n, bands)), "description": describe_model(n)}
            for n in list_models()]
    text = "\n".join(f"{r['name']:<15}{r['parameters'] / 1e6:>7.2f} M  {r['description']}" for r in rows)
    emit(rows, as_json, f"models ({bands} input bands):\n{text}")


@app.command("train")
@user_errors
def train(
    out: Path = typer.Option(..., "--out", "-o", help="Run folder to create."),
    data: Path = typer.Option(None, help="Dataset folder (overrides data.root)."),
    config: Path = ConfigOption,
    set_: list[str] = SetOption,
    folds: int = typer.Option(0, help="k-fold cross-validation with k folds (0: one 80/20 or split-list run)."),
    resume: bool = typer.Option(False, help="Continue an interrupted run from its last checkpoint."),
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Train a segmentation run (config + overrides) and write it to OUT."""
    from .config import SegmentConfig
    from .train import train_segmentation

    overrides = list(set_) + ([f'data.root="{data}"'] if data else [])
    cfg = load_config(SegmentConfig, config, overrides)
    r = train_segmentation(cfg, out, overwrite=overwrite, resume=resume, folds=folds, progress=not as_json)
    m = r.metrics
    emit({"run": str(r.path), "threshold": r.threshold, **m}, as_json,
         f"run written to {r.path}\nvalidation: F1 {m['f1']:.4f}  IoU {m['iou']:.4f}  precision {m['precision']:.4f}  "
         f"recall {m['recall']:.4f}  (landslide class; mean-of-classes F1 {m['mean_f1']:.4f})")


@app.command("evaluate")
@user_errors
def evaluate(
    run: Path = typer.Option(..., help="Run folder written by 'segment train'."),
    data: Path = typer.Option(..., help="Labelled dataset folder."),
    split: str = typer.Option(None, help="Split list name (image folders)."),
    tta: TTA = typer.Option(None, help="Override the run's test-time augmentation."),
    as_json: bool = JsonOption,
) -> None:
    """Landslide-class precision, recall, F1, IoU (and mIoU, mean-of-classes F1) on DATA."""
    from .evaluate import evaluate_run

    m = evaluate_run(run, data, split, tta.value if tta else None)
    emit(m, as_json, f"{m['n_patches']} patches, threshold {m['threshold']:.2f}, tta {m['tta']}\n"
         f"  landslide F1 {m['f1']:.4f}  IoU {m['iou']:.4f}  precision {m['precision']:.4f}  recall {m['recall']:.4f}\n"
         f"  mIoU {m['miou']:.4f}  mean-of-classes F1 {m['mean_f1']:.4f}")


@app.command("predict")
@user_errors
def predict(
    run: Path = typer.Option(..., help="Run folder written by 'segment train'."),
    input: Path = typer.Option(..., "--input", "-i", help="Dataset folder to predict."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (masks/, probabilities/, predictions.csv)."),
    split: str = typer.Option(None, help="Split list name (image folders)."),
    tta: TTA = typer.Option(None, help="Override the run's test-time augmentation."),
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Write a mask and a probability map per patch of INPUT."""
    from .evaluate import predict_dataset

    r = predict_dataset(run, input, out, split=split, tta=tta.value if tta else None, overwrite=overwrite)
    emit(r, as_json, f"predicted {r['n_patches']} patches (threshold {r['threshold']:.2f}); outputs in {r['out']}")
