"""``landslide segment``: train, evaluate, tune, predict, export, list models, ablate."""

from __future__ import annotations

from pathlib import Path

import typer

from ..clitools import (
    ConfigOption,
    JsonOption,
    OverwriteOption,
    SetOption,
    ShareOption,
    area_app,
    choices,
    comma_list,
    emit,
    estimate_text,
    user_errors,
)
from ..usage import example
from .names import ENGINES, TTA_MODES

__all__ = ["app"]

app = area_app("Segment landslides in image patches (RAU-Net family).")


TTA = choices("TTA", TTA_MODES)


@app.command("models", epilog=example("landslide segment models --bands 14"))
@user_errors
def models(
    bands: int = typer.Option(23, help="Input band count used for the parameter counts."),
    as_json: bool = JsonOption,
) -> None:
    """List registered models with parameter counts (default options) and descriptions."""
    from .models import describe_models

    rows = describe_models(bands)
    text = "\n".join(f"{r['name']:<16}{r['parameters'] / 1e6:>7.2f} M  {r['description']}" for r in rows)
    emit(rows, as_json, f"models ({bands} input bands; options: configs/<name>.toml, [model.options]):\n{text}")


@app.command(
    "ablate",
    epilog=example(
        "landslide segment ablate -c configs/rau-net-small.toml --data runs/synth "
        "--vary model.options.attention=se,cbam "
        "--set train.epochs=5 -o runs/ablate"
    ),
)
@user_errors
def ablate(
    out: Path = typer.Option(
        ..., "--out", "-o", help="Ablation folder (created, or resumed: finished cells are kept)."
    ),
    vary: list[str] = typer.Option(
        ..., metavar="KEY=V1,V2", help="section.key=value1,value2,... (repeatable; every combination is trained)."
    ),
    data: Path = typer.Option(None, help="Dataset folder (overrides data.root)."),
    config: Path = ConfigOption,
    set_: list[str] = SetOption,
    folds: int = typer.Option(0, help="k-fold cross-validation per cell (0: one run per cell)."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace OUT (an ablation's cells included) instead of resuming it."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Train every combination of --vary values and write OUT/ablation.csv, .md and .png."""
    from .training.ablate import run_ablation

    r = run_ablation(
        config, list(vary), out, data=data, overrides=list(set_), folds=folds, overwrite=overwrite, progress=not as_json
    )
    emit(
        {"out": str(r.out), "trained": r.trained, "kept": r.kept, "cells": r.table.to_dict("records")},
        as_json,
        f"{r.trained} cells trained, {r.kept} kept; table in {r.out}/ablation.csv (.md, .png)\n"
        + (r.out / "ablation.md").read_text(encoding="utf-8"),
    )


@app.command(
    "train",
    epilog=example(
        "landslide segment train -c configs/rau-net-small.toml --data runs/synth --set train.epochs=20 -o runs/seg",
        "landslide segment train -c configs/rau-net-small.toml --data runs/synth --folds 5 -o runs/segcv",
    ),
)
@user_errors
def train(
    out: Path = typer.Option(..., "--out", "-o", help="Run folder to create."),
    data: Path = typer.Option(None, help="Dataset folder (overrides data.root)."),
    config: Path = ConfigOption,
    set_: list[str] = SetOption,
    folds: int = typer.Option(
        0,
        help="k-fold over every labelled image (train and val splits) with k folds: "
        "out-of-fold statistics and post-processing (0: one run on the splits).",
    ),
    refit: bool = typer.Option(
        True,
        help="With --folds: also write the run used for prediction at OUT's root, post-processing "
        "chosen out of fold (train.final: the fold models averaged, or a refit on every image).",
    ),
    landslide_free_share: float = ShareOption,
    resume: bool = typer.Option(
        False, help="Continue an interrupted run (or k-fold: finished folds are kept) from its last checkpoint."
    ),
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Train a segmentation run (config + overrides) and write it to OUT."""
    from ..config import load_config
    from .config import SegmentConfig
    from .training.train import train_segmentation

    values = {"data.root": data} if data else {}
    if landslide_free_share is not None:
        values["post.landslide_free_share"] = landslide_free_share
    cfg = load_config(SegmentConfig, config, set_, values)
    r = train_segmentation(cfg, out, overwrite=overwrite, resume=resume, folds=folds, refit=refit, progress=not as_json)
    m = r.metrics
    where = "out of fold, every labelled image" if folds >= 2 else "validation"
    emit(
        {"run": str(r.path), "threshold": r.threshold, **m},
        as_json,
        f"run written to {r.path}\n{where}: F1 {m['f1']:.4f}  IoU {m['iou']:.4f}  precision {m['precision']:.4f}  "
        f"recall {m['recall']:.4f}  (landslide class; mean-of-classes F1 {m['mean_f1']:.4f})"
        + _cross_fitted_text(m.get("cross_fitted"))
        + "\n"
        + (
            f"out-of-fold region statistics: {r.path / 'oof_stats.csv'}; training curves: {r.path}/fold_*/curves.png"
            if folds >= 2
            else f"training curves: {r.path / 'curves.png'}"
        ),
    )


@app.command(
    "evaluate", epilog=example("landslide segment evaluate --run runs/seg --data runs/new --overlays runs/overlays")
)
@user_errors
def evaluate(
    run: Path = typer.Option(..., help="Run folder written by 'segment train'."),
    data: Path = typer.Option(..., help="Labelled dataset folder."),
    split: str = typer.Option(None, help="Split list name (image folders)."),
    tta: TTA = typer.Option(None, help="Override the run's test-time augmentation."),
    overlays: Path = typer.Option(
        None, help="Folder (created) for PNG overlays of image, ground truth and prediction."
    ),
    max_overlays: int = typer.Option(16, help="Number of patches drawn with --overlays."),
    landslide_free_share: float = ShareOption,
    as_json: bool = JsonOption,
) -> None:
    """Landslide-class precision, recall, F1, IoU of the masks as 'segment predict' writes them (native size)."""
    from .evaluation.evaluate import evaluate_run

    m = evaluate_run(
        run,
        data,
        split,
        tta.value if tta else None,
        overlays=overlays,
        max_overlays=max_overlays,
        landslide_free_share=landslide_free_share,
        progress=not as_json,
    )
    emit(m, as_json, _evaluation_text(m))


@app.command(
    "tune",
    epilog=example(
        "landslide segment tune --run runs/seg --data runs/new --gate --landslide-free-share 0.9 -o runs/seg-sparse"
    ),
)
@user_errors
def tune(
    run: Path = typer.Option(..., help="Run folder written by 'segment train'."),
    data: Path = typer.Option(
        None,
        help="Labelled dataset folder to choose on (e.g. the validation images; "
        "default: the sweep the run was tuned on, nothing predicted).",
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Folder for the retuned run (same weights; the source run is kept)."
    ),
    split: str = typer.Option(None, help="Split list name (image folders)."),
    landslide_free_share: float = ShareOption,
    gate: bool = typer.Option(None, help="Also choose the image gate (default: the run's post.tune_gate)."),
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Choose a run's threshold and image gate again, e.g. for another share of landslide-free regions."""
    from .evaluation.tuning import tune_run

    c = tune_run(
        run,
        data,
        out,
        split=split,
        landslide_free_share=landslide_free_share,
        tune_gate=gate,
        overwrite=overwrite,
        progress=not as_json,
    )
    m = c.metrics
    emit(
        {"run": str(out), **m},
        as_json,
        f"retuned run written to {out}: threshold {c.threshold:.2f}, {_gate_text(c.gate)}\n"
        + _evaluation_text(m)
        + _cross_fitted_text(m.get("cross_fitted")),
    )


def _gate_text(gate: float) -> str:
    return f"gate {gate:.3g}" if gate > 0 else "no gate"


def _mix(h: dict) -> str:
    share = h.get("landslide_free_share")
    return "the data's own mix" if share is None else f"{100 * share:.0f} % landslide-free regions"


def _cross_fitted_text(h: dict | None) -> str:
    if not h:
        return ""
    neg = h["landslide_free_images"]
    return (
        f"\n  estimate for unseen images at {_mix(h)} (chosen on other folds, {h['folds']}-fold cross-fitting): "
        f"{estimate_text(h)}; landslide-free images {100 * neg['false_positive_fraction']:.2f} % of pixels"
    )


def _evaluation_text(m: dict) -> str:
    pos, neg, det = m["landslide_images"], m["landslide_free_images"], m["image_detection"]
    at = m.get("at_prior")
    prior = (
        f"\n  expected at {_mix(at)}: F1 {at['f1']:.4f}  precision {at['precision']:.4f}  recall {at['recall']:.4f}"
        f"  (landslide-free images weighted x{at['prior_weight']:.2f})"
        if at
        else ""
    )
    return (
        f"{m['n_images']} images scored at native size (threshold {m['threshold']:.2f}, {_gate_text(m['gate'])}, "
        f"tta {m['tta']}, "
        f"opening {m['opening']}, closing {m['closing']})\n"
        f"  landslide F1 {m['f1']:.4f}  IoU {m['iou']:.4f}  precision {m['precision']:.4f}  recall {m['recall']:.4f}\n"
        f"  mIoU {m['miou']:.4f}  mean-of-classes F1 {m['mean_f1']:.4f}\n"
        f"  {pos['n']} images with landslides: F1 {pos['f1']:.4f}  precision {pos['precision']:.4f}  "
        f"recall {pos['recall']:.4f}\n"
        f"  {neg['n']} landslide-free images: {100 * neg['false_positive_fraction']:.2f} % of their pixels "
        f"predicted landslide; {100 * neg['images_with_false_positives']:.0f} % of them with any\n"
        f"  image detection (any landslide pixel): precision {det['precision']:.4f}  recall {det['recall']:.4f}"
        + prior
        + (f"\noverlays (PNG) in {m['overlays']}/" if "overlays" in m else "")
    )


Engine = choices("Engine", ENGINES)


@app.command(
    "predict",
    epilog=example(
        "landslide segment predict --run runs/seg -i runs/new -o runs/pred",
        "landslide segment predict --run runs/seg -i scene.tif -o runs/scene",
    ),
)
@user_errors
def predict(
    run: Path = typer.Option(..., help="Run folder written by 'segment train'."),
    input: Path = typer.Option(..., "--input", "-i", help="Dataset folder, or one scene (GeoTIFF/PNG) of any size."),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="Output folder (patches: masks/, probabilities/, predictions.csv; "
        "scene: probability.tif, mask.tif, landslides.geojson).",
    ),
    split: str = typer.Option(None, help="Split list name (image folders)."),
    tta: TTA = typer.Option(None, help="Override the run's test-time augmentation."),
    band_map: str = typer.Option(
        None,
        metavar="BAND=N,...",
        help="Scene: model band <- input band number (1-based) or description, for every model band, e.g. "
        "B1=1,B2=2,...,DEM=14 for l4s14 or RED=1,GREEN=2,BLUE=3 for rgb; not needed when the scene's band "
        "descriptions are the model's band names.",
    ),
    window: int = typer.Option(None, help="Scene: sliding-window size in pixels (default: the training patch size)."),
    overlap: float = typer.Option(None, help="Scene: fraction of a window shared with its neighbours (default 0.25)."),
    nodata: float = typer.Option(None, help="Scene: input nodata value (default: the file's)."),
    polygons: bool = typer.Option(True, help="Scene: write landslides.geojson."),
    engine: Engine = typer.Option(Engine.torch, help="torch, or onnx (needs 'segment export' first)."),
    landslide_free_share: float = ShareOption,
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Predict the images of a dataset folder at their own size, or a whole scene with a sliding window."""
    from .outputs import predict_input

    r = predict_input(
        run,
        input,
        out,
        split=split,
        tta=tta.value if tta else None,
        band_map=comma_list(band_map),
        window=window,
        overlap=overlap,
        nodata=nodata,
        polygons=polygons,
        engine=engine.value,
        landslide_free_share=landslide_free_share,
        overwrite=overwrite,
        progress=not as_json,
    )
    if r["kind"] == "scene":
        text = (
            f"scene {r['width']}x{r['height']} in {r['windows']} windows of {r['window']} px: "
            f"{100 * r['landslide_fraction']:.2f} % landslide, {r['polygons']} polygons; outputs in {r['out']}/ "
            "(probability.tif, mask.tif" + (", landslides.geojson)" if polygons else ")")
        )
    else:
        text = f"predicted {r['n_patches']} images (threshold {r['threshold']:.2f}); outputs in {r['out']}"
    emit(r, as_json, text)


@app.command("export", epilog=example("landslide segment export --run runs/seg"))
@user_errors
def export(
    run: Path = typer.Option(..., help="Run folder written by 'segment train'."),
    out: Path = typer.Option(None, "--out", "-o", help="ONNX file (default: RUN/model.onnx, used by --engine onnx)."),
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Export the whole pipeline (bands -> logits) to ONNX with dynamic batch and size, checked against torch."""
    from .inference.export import export_onnx

    r = export_onnx(run, out, overwrite=overwrite)
    emit(
        r,
        as_json,
        f"wrote {r['onnx']} (opset {r['opset']}); largest |logit difference| vs torch "
        f"{r['max_abs_logit_difference']:.2e}",
    )


@app.command("scenes", epilog=example("landslide segment scenes a.tif b.tif --run runs/seg -o runs/scenes --workers 2"))
@user_errors
def scenes(
    scene_files: list[Path] = typer.Argument(..., help="Scenes (GeoTIFF/PNG) to predict."),
    run: Path = typer.Option(..., help="Run folder written by 'segment train'."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Output folder; each scene writes OUT/NAME/ (NAME: the file name without suffix)."
    ),
    scheduler: str = typer.Option(None, help="Address of a Dask scheduler (default: a local cluster)."),
    workers: int = typer.Option(2, help="Workers of the local cluster."),
    band_map: str = typer.Option(
        None,
        metavar="BAND=N,...",
        help="Model band <- input band number (1-based) or description, for every model band (see segment "
        "predict --help).",
    ),
    engine: Engine = typer.Option(Engine.torch, help="torch, or onnx (needs 'segment export' first)."),
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Predict many scenes in parallel on Dask, one task per scene."""
    from .inference.dask_scenes import predict_scenes

    bm = comma_list(band_map)
    rs = predict_scenes(
        run,
        scene_files,
        out,
        scheduler=scheduler,
        workers=workers,
        band_map=bm,
        engine=engine.value,
        overwrite=overwrite,
    )
    emit(
        {"scenes": rs},
        as_json,
        "\n".join(
            f"{r['scene']}: {100 * r['landslide_fraction']:.2f} % landslide, {r['polygons']} polygons -> {r['out']}/"
            for r in rs
        ),
    )
