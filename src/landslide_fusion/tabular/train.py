"""Library entry points behind ``landslide tabular``: train (with CV), predict, evaluate, explain.

Quiet mistakes are said out loud (:class:`FeatureWarning`, and in the summaries' ``warnings``):
training on id-like or coordinate columns (:func:`suspicious_columns`), evaluating on the
training rows (the data hash stored in ``meta.json`` is compared), and a table on which the
logistic baseline beats LightGBM in the same cross-validation.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import check_folds, load_config, save_config
from ..errors import ConfigError, DataError
from ..io.atomic import output_dir, output_file, write_json, writes_output
from ..io.fingerprint import file_sha256, write_sidecar
from ..io.tables import read_table, require_columns, table_path, write_table
from ..prior import check_share
from ..progress import stage
from .config import TabularConfig
from .cv import cross_validate_model, leakage_report
from .explain import shap_importance, shap_plots, top_contributions
from .model import LandslideGBM, data_sha256
from .schema import binary_labels, check_table

__all__ = [
    "prepare",
    "train_tabular",
    "predict_tabular",
    "score_table",
    "load_tabular",
    "evaluate_tabular",
    "explain_tabular",
    "make_gbm",
    "suspicious_columns",
    "model_fingerprint",
    "FeatureWarning",
]

_ID_NAME = re.compile(r"(^|[_\W])(id|uid|fid|gid|objectid|key|index)$|^(id|fid|gid)[_\W]", re.IGNORECASE)
_COORD_NAMES = {"x", "y", "lon", "lat", "lng", "long", "longitude", "latitude", "easting", "northing"}
#: ROC-AUC margin by which the logistic baseline must beat LightGBM to be reported as favoured.
FAVOUR_MARGIN = 0.02


class FeatureWarning(UserWarning):
    """A feature column looks like an id or a coordinate, or the data favour the baseline."""


def suspicious_columns(X: pd.DataFrame) -> dict[str, list[str]]:
    """Feature columns that look like ids (name like ``id``/``*_id``, or text unique per row) or
    coordinates (``x``, ``y``, ``lon``, ``lat``, ...): ``{"id": [...], "coords": [...]}``."""
    ids = [
        str(c)
        for c in X.columns
        if _ID_NAME.search(str(c))
        or (not pd.api.types.is_numeric_dtype(X[c]) and len(X) > 1 and X[c].nunique() == len(X))
    ]
    coords = [str(c) for c in X.columns if str(c).strip().lower() in _COORD_NAMES and str(c) not in ids]
    return {"id": ids, "coords": coords}


def _column_warnings(X: pd.DataFrame, source: str) -> list[str]:
    found = suspicious_columns(X)
    notes = []
    if found["id"]:
        notes.append(
            f"{source}: column(s) {', '.join(found['id'])} look like region ids but are used as features; "
            "name the id with --id (or list them in exclude)"
        )
    if found["coords"]:
        notes.append(
            f"{source}: coordinate column(s) {', '.join(found['coords'])} are used as features, so the model "
            "learns where landslides were; pass them with --coords x,y (spatial CV; kept out of the features)"
        )
    for n in notes:
        warnings.warn(n, FeatureWarning, stacklevel=3)
    return notes


def _favoured(gbm: dict, base: dict | None) -> list[str]:
    if base is None or not base["mean"]["roc_auc"] > gbm["mean"]["roc_auc"] + FAVOUR_MARGIN:
        return []
    return [
        f"this table favours the logistic baseline: ROC-AUC {base['mean']['roc_auc']:.3f} against LightGBM's "
        f"{gbm['mean']['roc_auc']:.3f} in the same cross-validation (few rows or mostly monotone effects); "
        "more rows, fewer features or smaller trees (--set gbm.num_leaves=3) may close the gap"
    ]


def make_gbm(cfg: TabularConfig) -> LandslideGBM:
    params = dataclasses.asdict(cfg.gbm)
    params["class_weight"] = params["class_weight"] if params["class_weight"] != "none" else None
    threads = params.pop("threads")
    return LandslideGBM(categorical=tuple(cfg.categorical), n_jobs=threads or None, **params)


def prepare(df: pd.DataFrame, cfg: TabularConfig, source: str, with_label: bool = True):
    """Split a table into features, labels (or None), ids, coordinates and groups."""
    needed = [c for c in (cfg.id, *cfg.coords, *cfg.exclude, cfg.cv.group) if c]
    if with_label:
        needed.append(cfg.label)
    require_columns(df, needed, source)
    if cfg.coords and len(cfg.coords) != 2:
        raise ConfigError(f"coords must name two columns (x,y), got {cfg.coords}")
    drop = [c for c in (cfg.label, cfg.id, *cfg.exclude, cfg.cv.group) if c and c in df.columns]
    if not cfg.coords_as_features:
        drop += list(cfg.coords)
    X = df.drop(columns=list(dict.fromkeys(drop)))
    if X.shape[1] == 0:
        raise ConfigError(f"{source}: no feature columns left after removing label, id, coords and exclude")
    y = binary_labels(df[cfg.label], f"{source} column {cfg.label!r}", cfg.positive or None) if with_label else None
    ids = df[cfg.id].to_numpy() if cfg.id else np.arange(len(df))
    check_table(X, source, ids, cfg.id, tuple(cfg.categorical))
    coords = df[list(cfg.coords)] if cfg.coords else None
    groups = df[cfg.cv.group].to_numpy() if cfg.cv.group else None
    return X, y, ids, coords, groups


def _cv(X, y, ids, coords, groups, cfg: TabularConfig, baseline: bool = False, progress: bool = False):
    c = cfg.cv
    check_folds(c.folds, y, "cv.folds", "rows")
    if c.splitter == "spatial" and coords is None:
        raise ConfigError("spatial CV needs coordinates: pass --coords x,y")
    if c.splitter == "group" and groups is None:
        raise ConfigError("group CV needs a group column: pass --group COLUMN")
    return cross_validate_model(
        X,
        y,
        make_gbm(cfg),
        splitter=c.splitter,
        n_splits=c.folds,
        groups=groups,
        block_size=c.block_size,
        coords=tuple(cfg.coords) or ("x", "y"),
        split_on=coords,
        ids=ids,
        baseline=baseline,
        random_state=cfg.gbm.random_state,
        progress=progress,
    )


@writes_output("out")
def train_tabular(
    table: str | os.PathLike[str],
    cfg: TabularConfig,
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    baseline: bool = True,
    progress: bool = False,
) -> dict:
    """Cross-validate, fit on all rows, and write the model folder.

    ``OUT/``: ``model.txt`` + ``meta.json`` (the model), ``config.toml``, ``cv.json`` (per-fold
    and mean +- std metrics, logistic baseline alongside), ``oof.csv`` (out-of-fold
    probabilities for fusion), ``importance.csv`` (SHAP ranking on the data).
    """
    df = read_table(table)
    X, y, ids, coords, groups = prepare(df, cfg, str(table))
    notes = _column_warnings(X, str(table))
    leaks = leakage_report(X, y)
    notes += [
        f"possible leakage: column {c!r} alone reaches ROC-AUC {auc:.3f}; drop it or list it in exclude"
        for c, auc in leaks.items()
    ]
    result = _cv(X, y, ids, coords, groups, cfg, progress=progress)
    base = _cv(X, y, ids, coords, groups, cfg, baseline=True, progress=progress).to_dict() if baseline else None
    notes += _favoured(result.to_dict(), base)
    stage("fitting the final model on all rows, SHAP importance", progress)
    model = make_gbm(cfg).fit(X, y)
    importance = shap_importance(model, X)
    with output_dir(out, overwrite) as tmp:
        model.save(tmp / "model")
        for f in (tmp / "model").iterdir():
            f.rename(tmp / f.name)
        (tmp / "model").rmdir()
        save_config(cfg, tmp / "config.toml")
        summary = {
            "table": str(table),
            "rows": len(y),
            "positives": int(y.sum()),
            "splitter": cfg.cv.splitter,
            "gbm": result.to_dict(),
            "logistic_baseline": base,
            "leakage": leaks,
            "threshold": model.threshold_,
            "best_iteration": model.best_iteration_,
            "tree_params": model.tree_params_,
            "warnings": notes,
        }
        write_json(tmp / "cv.json", summary)
        write_table(result.oof if coords is None else result.oof.join(coords.reset_index(drop=True)), tmp / "oof.csv")
        write_table(importance, tmp / "importance.csv")
    return summary


def load_tabular(model_dir: str | os.PathLike[str]) -> tuple[LandslideGBM, TabularConfig]:
    """The model and the config of a folder written by ``tabular train``."""
    return LandslideGBM.load(model_dir), load_config(TabularConfig, Path(model_dir) / "config.toml")


def score_table(
    model_dir: str | os.PathLike[str], df: pd.DataFrame, source: str, landslide_free_share: float | None = None
) -> pd.DataFrame:
    """``id, probability, decision`` (and the coordinate columns, when configured) for every
    row of ``df`` with a saved model: the probability as calibrated on the training rows (what
    fusion takes), the decision at the model's threshold for ``landslide_free_share`` (None: as trained)."""
    model, cfg = load_tabular(model_dir)
    X, _, ids, coords, _ = prepare(df, cfg, source, with_label=False)
    p = model.predict_proba(X, source=source)[:, 1]
    threshold = model.threshold_at(landslide_free_share)
    res = pd.DataFrame({"id": ids, "probability": p, "decision": (p >= threshold).astype(int)})
    return res if coords is None else res.join(coords.reset_index(drop=True))


def model_fingerprint(model_dir: str | os.PathLike[str]) -> dict:
    """Which model this is: folder, SHA-256 of ``model.txt``, training-data hash and threshold."""
    folder = Path(model_dir)
    if not (folder / "model.txt").is_file() or not (folder / "meta.json").is_file():
        raise DataError(
            f"{folder}: not a tabular model (needs model.txt and meta.json); pass a folder of 'tabular train'"
        )
    meta = json.loads((folder / "meta.json").read_text())
    return {
        "kind": "tabular",
        "path": str(folder.resolve()),
        "model_sha256": file_sha256(folder / "model.txt"),
        "data_sha256": meta.get("data_sha256"),
        "threshold": meta.get("threshold"),
    }


def predict_tabular(
    model_dir: str | os.PathLike[str],
    table: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    landslide_free_share: float | None = None,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Score every row of ``table``: ``id, probability, decision`` (:func:`score_table`) written to
    ``out`` (CSV/Parquet), and the model's fingerprint with the share and threshold used beside
    it (``STEM.provenance.json``, read by ``fuse predict``); both appear together, as
    :func:`~landslide_fusion.io.atomic.output_file` writes them."""
    check_share(landslide_free_share)
    with output_file(table_path(out), overwrite) as tmp:
        res = score_table(model_dir, read_table(table), str(table), landslide_free_share)
        write_table(res, tmp)
        threshold = LandslideGBM.load(model_dir).threshold_at(landslide_free_share)
        write_sidecar(
            tmp,
            {
                **model_fingerprint(model_dir),
                "table": str(table),
                "landslide_free_share": landslide_free_share,
                "decision_threshold": threshold,
            },
        )
    return res


def evaluate_tabular(model_dir: str | os.PathLike[str], table: str | os.PathLike[str]) -> dict:
    """ROC-AUC, PR-AUC, F1 at the saved threshold and Brier score of a saved model on a labelled table.

    ``in_sample`` is True when ``table`` holds exactly the training rows (its hash equals the
    ``data_sha256`` of ``meta.json``): those figures measure fit, not skill, and a warning says so.
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, f1_score, roc_auc_score

    model, cfg = load_tabular(model_dir)
    X, y, _, _, _ = prepare(read_table(table), cfg, str(table))
    p = model.predict_proba(X)[:, 1]
    in_sample = data_sha256(X, y) == model.data_hash_
    notes = (
        [
            f"{table} holds the rows {model_dir} was trained on, so these figures are in-sample (they measure fit, "
            f"not skill); the cross-validated figures are in {Path(model_dir) / 'cv.json'}"
        ]
        if in_sample
        else []
    )
    return {
        "rows": len(y),
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "f1": float(f1_score(y, (p >= model.threshold_).astype(int), zero_division=0)),
        "brier": float(brier_score_loss(y, p)),
        "threshold": model.threshold_,
        "in_sample": in_sample,
        "warnings": notes,
    }


def explain_tabular(
    model_dir: str | os.PathLike[str],
    table: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    top: int = 3,
) -> dict:
    """SHAP importance table, per-region top contributions and beeswarm/bar plots into ``out``."""
    model, cfg = load_tabular(model_dir)
    X, _, ids, _, _ = prepare(read_table(table), cfg, str(table), with_label=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with output_dir(out, overwrite) as tmp:
            imp = shap_importance(model, X)
            write_table(imp, tmp / "importance.csv")
            write_table(top_contributions(model, X, pd.Series(ids), top), tmp / "contributions.csv")
            shap_plots(model, X, tmp)
    return {
        "out": str(out),
        "importance": imp.head(10).to_dict("records"),
        "plots": [str(Path(out) / n) for n in ("shap_beeswarm.png", "shap_bar.png")],
    }
