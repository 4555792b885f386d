"""``landslide tabular``: train, predict, evaluate, explain."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer

from ..clitools import ConfigOption, JsonOption, OverwriteOption, ShareOption, area_app, choices, emit, user_errors
from ..usage import example
from .names import SPLITTERS

__all__ = ["app"]

app = area_app("LightGBM landslide classifier over per-region features.")
ModelOption = typer.Option(..., help="Model folder from 'tabular train'.")
SetOption = typer.Option(
    [],
    "--set",
    "-s",
    metavar="KEY=VALUE",
    help="Override a config value, e.g. --set gbm.num_leaves=15 or --set cv.folds=10 (repeatable).",
)


Splitter = choices("Splitter", SPLITTERS)


def _notes(r: dict) -> str:
    return "".join(f"\nwarning: {w}" for w in r.get("warnings", ()))


def _fmt(m: dict, s: dict | None = None) -> str:
    keys = ("roc_auc", "pr_auc", "f1", "brier")
    return "  ".join(f"{k} {m[k]:.4f}" + (f" ± {s[k]:.4f}" if s else "") for k in keys)


@app.command(
    "train",
    epilog=example(
        "landslide tabular train --data runs/synth/regions.csv --label landslide --id region_id --coords x,y "
        "--cv spatial --block-size 2560 -o runs/tab"
    ),
)
@user_errors
def train(
    data: Path = typer.Option(..., help="CSV or Parquet table, one row per region."),
    out: Path = typer.Option(..., "--out", "-o", help="Model folder to create."),
    label: str = typer.Option(None, help="Label column (0/1, true/false, yes/no, or two classes with --positive)."),
    positive: str = typer.Option(None, help="The label's landslide class, e.g. wet (default: 1/true/yes)."),
    id: str = typer.Option(None, "--id", help="Region id column (not a feature)."),
    coords: str = typer.Option(None, metavar="X,Y", help="Coordinate columns 'x,y' for spatial CV."),
    cv: Splitter = typer.Option(None, help="Cross-validation splitter."),
    group: str = typer.Option(None, help="Group column for --cv group."),
    block_size: float = typer.Option(None, help="Spatial block size in map units."),
    threads: int = typer.Option(None, help="LightGBM threads (default: by table size, 1 below 20,000 rows; -1: all)."),
    config: Path = ConfigOption,
    set_: list[str] = SetOption,
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Cross-validate (with a logistic baseline), fit on all rows, save the model and reports."""
    from ..config import load_config
    from .config import TabularConfig
    from .train import train_tabular

    values = {
        k: v
        for k, v in (
            ("label", label),
            ("positive", positive),
            ("id", id),
            ("cv.group", group),
            ("cv.block_size", block_size),
            ("cv.splitter", cv.value if cv else None),
            ("gbm.threads", threads),
        )
        if v is not None
    }
    if coords:
        values["coords"] = [c.strip() for c in coords.split(",")]
    cfg = load_config(TabularConfig, config, set_, values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the summary lists them, once
        r = train_tabular(data, cfg, out, overwrite=overwrite, progress=not as_json)
    g, b = r["gbm"], r["logistic_baseline"]
    emit(
        r,
        as_json,
        f"model written to {out} ({r['rows']} rows, {r['positives']} positive)\n"
        f"{cfg.cv.splitter} {cfg.cv.folds}-fold CV\n  LightGBM: {_fmt(g['mean'], g['std'])}\n"
        f"  logistic: {_fmt(b['mean'], b['std'])}" + _notes(r),
    )


@app.command(
    "predict",
    epilog=example("landslide tabular predict --model runs/tab --data runs/new/regions.csv -o runs/scores.csv"),
)
@user_errors
def predict(
    model: Path = ModelOption,
    data: Path = typer.Option(..., help="Table to score."),
    out: Path = typer.Option(..., "--out", "-o", help="Output CSV/Parquet: id, probability, decision."),
    landslide_free_share: float = ShareOption,
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Calibrated landslide probability and decision per row."""
    from .train import predict_tabular

    res = predict_tabular(model, data, out, landslide_free_share=landslide_free_share, overwrite=overwrite)
    mix = "as trained" if landslide_free_share is None else f"for {100 * landslide_free_share:.0f} % landslide-free"
    emit(
        {
            "out": str(out),
            "rows": len(res),
            "positives": int(res["decision"].sum()),
            "landslide_free_share": landslide_free_share,
        },
        as_json,
        f"scored {len(res)} rows ({int(res['decision'].sum())} predicted landslides, decisions {mix}) -> {out}",
    )


@app.command("evaluate", epilog=example("landslide tabular evaluate --model runs/tab --data runs/new/regions.csv"))
@user_errors
def evaluate(
    model: Path = ModelOption,
    data: Path = typer.Option(..., help="Labelled table."),
    as_json: bool = JsonOption,
) -> None:
    """ROC-AUC, PR-AUC, F1 at the saved threshold, Brier score."""
    from .train import evaluate_tabular

    m = evaluate_tabular(model, data)
    emit(m, as_json, f"{m['rows']} rows{' (in-sample)' if m['in_sample'] else ''}: {_fmt(m)}" + _notes(m))


@app.command(
    "explain",
    epilog=example("landslide tabular explain --model runs/tab --data runs/new/regions.csv -o runs/tab-explain"),
)
@user_errors
def explain(
    model: Path = ModelOption,
    data: Path = typer.Option(..., help="Table to explain (held-out rows)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for importance.csv, contributions.csv and plots."),
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """SHAP importance ranking, per-region top contributions, beeswarm and bar plots."""
    from .train import explain_tabular

    r = explain_tabular(model, data, out, overwrite=overwrite)
    ranking = "\n".join(
        f"  {row['rank']:>2}. {row['feature']:<20} {row['mean_abs_shap']:.4f}" for row in r["importance"]
    )
    emit(r, as_json, f"SHAP ranking (mean |SHAP|, log-odds):\n{ranking}\nplots: {', '.join(r['plots'])}")
