"""Ablation runner: train every combination of varied settings and tabulate the results.

    landslide segment ablate -c configs/rau-net-small.toml --vary model.name=rau-net-small,vnet,segformer-b0 \\
        --vary train.loss=focal+iou,ce --data DIR -o OUT [--folds 5] [--set train.max_seconds=1800]

Each cell (one combination) is trained by :func:`~.train.train_segmentation` into
``OUT/cells/<cell>/`` and summarised in ``OUT/cells/<cell>.json``; a cell whose summary exists is
kept, so an interrupted ablation resumes where it stopped. ``OUT/ablation.json`` records the
fold count the cells were trained with. ``OUT/ablation.csv``, ``ablation.md`` and
``ablation.png`` hold one row per cell: parameters, landslide-class F1, IoU, precision and recall
and mean-of-classes F1 on validation (the mean over folds with ``--folds``), training seconds
(the seconds of the training epochs, ``history.csv``, summed over folds and over the runs of a
cell resumed after an interruption) and inference patches/s (the network with band
engineering, no TTA, batch 16).

**Checked before the first cell trains**: every cell's config (types and declared ranges, the
value blamed on the ``--set`` or ``--vary`` that gave it), its loss, band engineering and model
(built on the ``meta`` device), its data (opened: folders, splits, band set), and the output:
``OUT`` must be absent, empty or an ablation folder of the same ``--folds`` whose finished cells
were trained with the same configs (anything else is refused; ``overwrite`` replaces it). The
output is held (its lock, :func:`~landslide_fusion.io.atomic.writing`) for the whole run,
so two ablations into one folder never run together. Paths given as options (``--data``) enter
the configs as values, never as TOML text.

When ``model.name`` is varied, each cell starts from the model's own default options and no
``init_from`` (the base config's ``[model.options]`` and weights belong to its model), unless
``model.options.*`` is varied too.
``train.max_seconds`` gives every cell the same time budget.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import shutil
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ...config import apply_overrides, apply_values, build_config, load_config, override_origins
from ...errors import ConfigError, DataError, OutputExistsError
from ...io.atomic import atomic_path, write_json, write_text, writing
from ...io.tables import write_table
from ...progress import stage
from ..config import SegmentConfig

__all__ = ["AblationResult", "parse_vary", "ablation_cells", "run_ablation", "METRICS", "ABLATION_FILE"]

METRICS = ("f1", "iou", "precision", "recall", "mean_f1")
_LEGACY = ("attention", "heads", "widths")
#: The record of an ablation folder: ``{"folds": k}``.
ABLATION_FILE = "ablation.json"


@dataclass
class AblationResult:
    table: pd.DataFrame
    out: Path
    trained: int
    kept: int


def _split_top_level(text: str) -> list[str]:
    """Split ``a,b,[1, 2],"x,y"`` on commas outside brackets and quotes."""
    parts, depth, quote, cur = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += ch
    parts.append(cur.strip())
    return [p for p in parts if p]


def parse_vary(items: list[str]) -> list[tuple[str, list[str]]]:
    """``["model.name=a,b", "train.loss=ce"]`` -> ``[("model.name", ["a", "b"]), ("train.loss", ["ce"])]``."""
    out: list[tuple[str, list[str]]] = []
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or "." not in key or not values.strip():
            raise ConfigError(
                f"--vary {item!r}: expected section.key=value1,value2,..., e.g. model.name=rau-net-small,vnet"
            )
        if any(key == k for k, _ in out):
            raise ConfigError(f"--vary {key} is given twice; list all its values in one --vary")
        out.append((key, _split_top_level(values)))
    return out


def _slug(values: tuple[str, ...]) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9.+-]+", "-", v.strip("\"'")).strip("-") or "x" for v in values)


def _cell_data(base: dict[str, Any], keys: list[str], values: tuple[str, ...]) -> dict[str, Any]:
    data = copy.deepcopy(base)
    if "model.name" in keys and not any(k.startswith("model.options.") for k in keys):
        model = data.setdefault("model", {})
        for k in ("options", "init_from", *_LEGACY):
            model.pop(k, None)
    return apply_overrides(data, [f"{k}={v}" for k, v in zip(keys, values)])


def ablation_cells(
    base: str | os.PathLike[str] | None,
    vary: list[str],
    overrides: list[str] = (),
    values: dict[str, Any] | None = None,
) -> list[tuple[str, dict[str, str], SegmentConfig]]:
    """``(name, {key: value}, config)`` of every cell, all configs checked before any training:
    types and declared ranges, a bad value blamed on the ``--set`` or ``--vary`` that gave it.
    ``values`` are ``{dotted key: value}`` from command-line options (``data.root``), set as values."""
    data: dict[str, Any] = {}
    where = "config"
    overrides = list(overrides)
    origins = override_origins(SegmentConfig, overrides) | {k: "from the command line" for k in values or {}}
    if base is not None:
        cfg_path = Path(base)
        where = str(cfg_path)
        load_config(SegmentConfig, cfg_path)  # the file's own errors first, with its name
        data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    data = apply_values(apply_overrides(data, overrides), values or {})
    axes = parse_vary(list(vary))
    if not axes:
        raise ConfigError("nothing to vary: give at least one --vary section.key=value1,value2")
    keys = [k for k, _ in axes]
    origins |= override_origins(SegmentConfig, vary, "--vary")  # as typed
    cells = []
    for combo in itertools.product(*(v for _, v in axes)):
        cfg = build_config(SegmentConfig, _cell_data(data, keys, combo), where, origins)
        cells.append((_slug(combo), dict(zip(keys, combo)), cfg))
    names = [c[0] for c in cells]
    if len(set(names)) != len(names):
        raise ConfigError(f"--vary values give duplicate cell names ({', '.join(names)}); make the values distinct")
    return cells


def _preflight(cells: list[tuple[str, dict[str, str], SegmentConfig]]) -> None:
    """What training would refuse only when a cell starts, checked for every cell now: the loss,
    band engineering and model (built on the ``meta`` device: no memory), and the data."""
    from ...io.open import open_dataset
    from ...engineering.engineer import BandEngineer
    from .losses import create_loss
    from ..models import create_model

    opened: set[tuple[str, str, str]] = set()
    for _, _, cfg in cells:
        create_loss(cfg.train.loss)
        f = cfg.features
        eng = BandEngineer(
            f.source, f.preset, gaussian_kernel=f.gaussian_kernel, median_kernel=f.median_kernel, blur=f.blur
        )
        with torch.device("meta"):
            create_model(cfg.model.name, eng.out_channels, **cfg.model.options)
        if not cfg.data.root:
            raise ConfigError("data.root is empty; pass --data DIR or set data.root in the config")
        for split in dict.fromkeys((cfg.data.train_split, cfg.data.val_split)):
            if (cfg.data.root, split, f.source) not in opened:
                open_dataset(cfg.data.root, split=split or None, band_set=f.source, require_masks=True)
                opened.add((cfg.data.root, split, f.source))


@torch.inference_mode()
def _inference_rate(run_dir: Path, size: int, batch: int = 16, repeat: int = 3) -> float:
    """Patches/s of the run's pipeline (band engineering, normalisation, network; no TTA)."""
    from ..inference.infer import SegmentationRun

    run = SegmentationRun.load(run_dir)
    x = torch.rand(batch, len(run.bands), size, size, generator=torch.Generator().manual_seed(0))
    run.pipeline(x)  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run.pipeline(x)
        times.append(time.perf_counter() - t0)
    return batch / float(np.median(times))


def _summarise(run_dir: Path, folds: int, size: int) -> dict[str, Any]:
    first = run_dir / "fold_1" if folds >= 2 else run_dir
    info = json.loads((first / "run.json").read_text())
    if folds >= 2:
        cv = json.loads((run_dir / "cv.json").read_text())
        metrics = cv["mean"] | {f"{k}_std": v for k, v in cv["std"].items() if k in ("f1", "iou")}
    else:
        metrics = json.loads((run_dir / "metrics.json").read_text())
    row = {"parameters": int(info["parameters"]), **{k: float(metrics[k]) for k in METRICS}}
    row |= {k: float(v) for k, v in metrics.items() if k.endswith("_std")}
    held_out = metrics.get("cross_fitted")
    if held_out:  # the threshold and gate chosen on other folds of the validation images
        row["cross_fitted_f1"] = float(held_out["f1"])
    return row | {"train_seconds": _history_seconds(run_dir), "infer_patches_per_s": _inference_rate(first, size)}


def _check_same_config(run_dir: Path, cfg: SegmentConfig) -> None:
    saved = run_dir / "config.toml"
    if saved.is_file() and load_config(SegmentConfig, saved) != cfg:
        raise DataError(
            f"{run_dir}: this cell was trained with a different config; use a new -o folder "
            "or delete the cell to retrain it"
        )


def _train_cell(
    name: str, cfg: SegmentConfig, cells_dir: Path, folds: int, progress: bool, size: int
) -> dict[str, Any]:
    from .train import train_segmentation

    run_dir = cells_dir / name
    if not run_dir.exists():  # else trained earlier, its summary was not written
        train_segmentation(cfg, run_dir, folds=folds, resume=True, refit=False, progress=progress)
    return _summarise(run_dir, folds, size)


def _history_seconds(run_dir: Path) -> float:
    """Seconds of the training epochs of a cell: ``history.csv`` (of every fold), which a resumed
    run carries over from its checkpoint, so an interrupted cell counts its whole training."""
    files = sorted(run_dir.glob("fold_*/history.csv")) or [run_dir / "history.csv"]
    return float(sum(pd.read_csv(f)["seconds"].sum() for f in files if f.is_file()))


def _recorded_folds(out: Path) -> int | None:
    """The ``--folds`` an ablation folder's cells were trained with (``ablation.json``, or for a
    folder written before it, its cells' ``cv.json``); None when ``out`` is not an ablation folder."""
    if (out / ABLATION_FILE).is_file():
        return int(json.loads((out / ABLATION_FILE).read_text())["folds"])
    cells = out / "cells"
    if not cells.is_dir():
        return None
    cv = next(cells.glob("*/cv.json"), None)
    return int(json.loads(cv.read_text())["folds"]) if cv is not None else 0


def _check_output(
    out: Path, folds: int, cells: list[tuple[str, dict[str, str], SegmentConfig]], overwrite: bool
) -> None:
    """Refuse ``out`` unless it is absent, empty or this ablation's own folder (see the module docstring)."""
    if not out.exists() or (out.is_dir() and not any(out.iterdir())) or overwrite:
        return
    recorded = _recorded_folds(out) if out.is_dir() else None
    if recorded is None:
        raise OutputExistsError(
            f"{out}: already exists and is not an ablation folder (no {ABLATION_FILE} or cells/); "
            "choose another output or pass --overwrite to replace it"
        )
    if recorded != folds:

        def runs(k: int) -> str:
            return f"--folds {k}" if k >= 2 else "one run each (no --folds)"

        raise OutputExistsError(
            f"{out}: its cells were trained with {runs(recorded)}, not {runs(folds)}; rerun with "
            f"the same --folds to resume, or write this ablation to another -o"
        )
    for name, _, cfg in cells:
        if (out / "cells" / name).is_dir():
            _check_same_config(out / "cells" / name, cfg)


def run_ablation(
    base: str | os.PathLike[str] | None,
    vary: list[str],
    out: str | os.PathLike[str],
    *,
    data: str | os.PathLike[str] | None = None,
    overrides: list[str] = (),
    folds: int = 0,
    infer_size: int = 128,
    overwrite: bool = False,
    progress: bool = True,
) -> AblationResult:
    """Train every cell of ``vary`` over ``base`` (+ ``overrides``) into ``out`` and write the table;
    everything is checked before the first cell trains (see the module docstring)."""
    if folds < 0 or folds == 1:
        raise ConfigError(f"--folds {folds}: use 0 (one run per cell) or at least 2 (k-fold cross-validation)")
    cells = ablation_cells(base, vary, overrides, {"data.root": data} if data else None)
    _preflight(cells)
    with writing(out, overwrite=True) as out:  # held for the whole run: one ablation per folder
        _check_output(out, folds, cells, overwrite)
        if overwrite and out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        cells_dir = out / "cells"
        cells_dir.mkdir(parents=True, exist_ok=True)
        write_json(out / ABLATION_FILE, {"folds": folds})
        rows, trained = [], 0
        for i, (name, values, cfg) in enumerate(cells, start=1):
            record = cells_dir / f"{name}.json"
            if record.is_file():
                row = json.loads(record.read_text())
                stage(f"cell {i}/{len(cells)} {name}: kept (finished earlier)", progress)
            else:
                stage(
                    f"cell {i}/{len(cells)} {name}: training ({', '.join(f'{k}={v}' for k, v in values.items())})",
                    progress,
                )
                row = {"cell": name, **values, **_train_cell(name, cfg, cells_dir, folds, progress, infer_size)}
                write_json(record, row)
                trained += 1
            rows.append(row)
        table = pd.DataFrame(rows)
        write_table(table, out / "ablation.csv")
        write_text(out / "ablation.md", _markdown(table, folds))
        _plot(table, out / "ablation.png")
    return AblationResult(table, out, trained, len(cells) - trained)


def _markdown(table: pd.DataFrame, folds: int) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return f"{v:.4f}" if abs(v) < 10 else f"{v:.1f}"
        if isinstance(v, (int, np.integer)):
            return f"{v / 1e6:.2f} M" if v >= 10_000 else str(v)
        return str(v)

    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in table.itertuples(index=False)]
    note = f"Validation metrics: mean over {folds} folds." if folds >= 2 else "Validation metrics of one run."
    return "\n".join(lines) + (
        f"\n\n{note} F1, IoU, precision, recall: landslide class; mean_f1: mean over both "
        "classes; cross_fitted_f1: F1 with the threshold and gate chosen on other folds of "
        "the validation images.\n"
    )


def _plot(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(table)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * n + 2), 3.5))
    xs = np.arange(n)
    for j, key in enumerate(("f1", "iou", "mean_f1")):
        ax.bar(xs + (j - 1) * 0.27, table[key], width=0.27, label=key)
    ax.set_xticks(xs, table["cell"], rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("validation score")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
