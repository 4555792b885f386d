"""Library entry points behind ``landslide fuse``: train, predict, compare, score.

Inputs are two region files joined on ``id``:

* the image side: region statistics from ``segment predict`` (``predictions.csv``, on data the
  run did not train on) or ``segment train --folds K`` (``oof_stats.csv``);
* the tabular side: ``id, probability`` from ``tabular train`` (``oof.csv``, out-of-fold) or
  ``tabular predict`` (on regions the model did not train on).

Labels come from a ``label`` column of either file. A fusion folder holds ``fusion.json`` (the
fitted estimator of the configured method, see :mod:`.methods`, plus the cross-check thresholds
used for the disagreement report), ``config.toml``, ``provenance.json`` (fingerprints of the
segmentation run(s) and tabular model behind the inputs, see :mod:`.provenance`),
``compare.json``/``compare.png``/``compare_oof.csv`` (the cross-validated comparison on the
training regions) and ``disagreements.csv``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import load_config, save_config
from ..errors import ConfigError, DataError
from ..io.atomic import output_dir, output_file, write_json, writes_output
from ..io.geojson import GEOMETRY_COLUMNS
from ..io.tables import read_table, require_columns, table_path, write_table
from ..progress import stage
from ..tabular.schema import binary_labels
from .compare import CompareResult, compare_chart, compare_fusion
from .config import FusionConfig
from .crosscheck import CrossCheckFusion
from .join import UnmatchedRegionsWarning, check_region_files, join_regions
from .methods import FusionMethod, create_method, method_from_dict
from .provenance import PROVENANCE_FILE, check_sources, image_source, tabular_source
from .risk import risk_table, write_risk
from .stacking import TABULAR_COLUMN, StackingFusion

__all__ = ["read_regions", "train_fusion", "predict_fusion", "compare_regions", "score_regions", "describe_dataset",
           "load_fusion", "fuse_frame"]


def _tabular_side(df: pd.DataFrame, source: str, cfg: FusionConfig) -> pd.DataFrame:
    if TABULAR_COLUMN not in df.columns and "probability" in df.columns:
        df = df.rename(columns={"probability": TABULAR_COLUMN})
    require_columns(df, [cfg.id, TABULAR_COLUMN], source)
    p = pd.to_numeric(df[TABULAR_COLUMN], errors="coerce")
    bad = df.loc[~p.between(0, 1), cfg.id].astype(str).tolist()
    if bad:
        raise DataError(f"{source}: {len(bad)} tabular probabilities are missing or outside [0, 1] "
                        f"(ids {', '.join(bad[:5])}); pass the 'probability' column of tabular train/predict output")
    return df[[c for c in (cfg.id, TABULAR_COLUMN, cfg.label, *GEOMETRY_COLUMNS) if c in df.columns]]


def read_regions(image: str | os.PathLike[str] | pd.DataFrame, tabular: str | os.PathLike[str] | pd.DataFrame,
                 cfg: FusionConfig) -> tuple[pd.DataFrame, np.ndarray | None, pd.DataFrame]:
    """Read and join both sides: ``(frame indexed by id, labels or None, unmatched ids)``."""
    img = image if isinstance(image, pd.DataFrame) else read_table(image)
    tab = tabular if isinstance(tabular, pd.DataFrame) else read_table(tabular)
    img_name = "image regions" if isinstance(image, pd.DataFrame) else str(image)
    tab_name = "tabular regions" if isinstance(tabular, pd.DataFrame) else str(tabular)
    if img.index.name == cfg.id:
        img = img.reset_index()
    if tab.index.name == cfg.id:
        tab = tab.reset_index()
    require_columns(img, [cfg.id, *cfg.image_columns], img_name)
    frame, unmatched = join_regions(img, _tabular_side(tab, tab_name, cfg), id_column=cfg.id,
                                    on_missing=cfg.on_missing, names=(img_name, tab_name),
                                    finite=(*cfg.image_columns, TABULAR_COLUMN))
    if frame.empty:
        raise DataError(f"{img_name} and {tab_name} share no region ids; check that both use the same ids")
    y = binary_labels(frame[cfg.label], f"column {cfg.label!r}") if cfg.label in frame.columns else None
    return frame, y, unmatched


def _read_noting(image, tabular, cfg: FusionConfig) -> tuple[pd.DataFrame, np.ndarray | None, pd.DataFrame, list[str]]:
    """:func:`read_regions`, with the unmatched-id warning returned as text for the summary."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnmatchedRegionsWarning)
        frame, y, unmatched = read_regions(image, tabular, cfg)
    return frame, y, unmatched, [str(w.message) for w in caught]


def _path(x) -> str | os.PathLike[str] | None:
    """The file behind an input (None for a data frame): where its provenance is looked up."""
    return None if isinstance(x, pd.DataFrame) else x


def _write_compare(result: CompareResult, folder: Path) -> None:
    write_json(folder / "compare.json", result.to_dict())
    write_table(result.oof.reset_index(), folder / "compare_oof.csv")
    compare_chart(result, folder / "compare.png")


def train_fusion(image, tabular, cfg: FusionConfig, out: str | os.PathLike[str], *, overwrite: bool = False,
                 progress: bool = False) -> dict:
    """Fit the fusion estimator on held-out base outputs, cross-validate the comparison, write ``out``."""
    estimator = create_method(cfg)  # an unknown method fails here, before any reading
    frame, y, unmatched, notes = _read_noting(image, tabular, cfg)
    if y is None:
        raise DataError(f"no {cfg.label!r} column in either region file; training needs labels")
    stage(f"fitting {cfg.method} fusion on {len(y)} regions", progress)
    estimator.fit(frame, y)
    cross = estimator if isinstance(estimator, CrossCheckFusion) else CrossCheckFusion.from_config(cfg).fit(frame, y)
    result = compare_fusion(frame, y, image_columns=cfg.image_columns, folds=cfg.folds,
                            stacker=StackingFusion.from_config(cfg), random_state=cfg.seed, progress=progress)
    sources = {"image": image_source(_path(image)), "tabular": tabular_source(_path(tabular))}
    with output_dir(out, overwrite) as tmp:
        write_json(tmp / "fusion.json", {"method": cfg.method, "estimator": estimator.to_dict(),
                                         "crosscheck": cross.to_dict(), "regions": len(y), "positives": int(y.sum())})
        write_json(tmp / PROVENANCE_FILE, sources)
        save_config(cfg, tmp / "config.toml")
        _write_compare(result, tmp)
        write_table(cross.disagreements(frame).assign(label=pd.Series(y, index=frame.index)).reset_index(),
                    tmp / "disagreements.csv")
        if len(unmatched):
            write_table(unmatched, tmp / "unmatched.csv")
    summary = {"out": str(out), "method": cfg.method, "regions": len(y), "positives": int(y.sum()),
               "unmatched": len(unmatched), "warnings": notes, "threshold": estimator.threshold_,
               "sources": sources, "compare": {"mean": result.mean, "std": result.std, "agreement": result.agreement}}
    if (coef := getattr(estimator, "coefficients", None)) is not None and (c := coef()) is not None:
        summary["coefficients"] = c.to_dict()
    return summary


def load_fusion(path: str | os.PathLike[str]) -> tuple[FusionMethod, CrossCheckFusion, FusionConfig]:
    """The fitted estimator, the cross-check used for disagreements, and the config of a fusion folder."""
    path = Path(path)
    for name in ("fusion.json", "config.toml"):
        if not (path / name).is_file():
            raise DataError(f"{path}: not a fusion folder (no {name}); pass a folder written by 'fuse train'")
    doc = json.loads((path / "fusion.json").read_text())
    cross = CrossCheckFusion.from_dict(doc["crosscheck"])
    return method_from_dict(doc["estimator"]), cross, load_config(FusionConfig, path / "config.toml")


def fuse_frame(frame: pd.DataFrame, estimator, cross: CrossCheckFusion, cfg: FusionConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Risk table (score, class, decision, both votes, agreement, inputs) and the disagreements."""
    report = cross.report(frame)
    score = estimator.predict_proba(frame)[:, 1]
    decision = estimator.predict(frame)
    votes = report[["tabular_vote", "image_vote", "agree"]]
    table = risk_table(votes.join(frame), score, decision, cfg.risk.edges)
    return table, table[table["agree"] == 0]


def _write_fused(folder: Path, frame: pd.DataFrame, unmatched: pd.DataFrame, estimator, cross: CrossCheckFusion,
                 cfg: FusionConfig, notes: list[str], crs: str | None = None) -> dict:
    table, disagree = fuse_frame(frame, estimator, cross, cfg)
    paths, geo_notes = write_risk(table, folder, crs)
    write_table(disagree.reset_index().drop(columns=["geometry"], errors="ignore"), folder / "disagreements.csv")
    if len(unmatched):
        write_table(unmatched, folder / "unmatched.csv")
    counts = table["risk_class"].value_counts().reindex(table["risk_class"].cat.categories).astype(int).to_dict()
    return {"regions": len(table), "landslide": int(table["landslide"].sum()), "disagreements": len(disagree),
            "unmatched": len(unmatched), "risk_classes": counts,
            "files": [p.name for p in paths] + ["disagreements.csv"], "warnings": notes + geo_notes}


@writes_output("out")
def predict_fusion(fusion: str | os.PathLike[str], image, tabular, out: str | os.PathLike[str], *,
                   overwrite: bool = False, on_missing: str | None = None, allow_mismatch: bool = False) -> dict:
    """Fuse new regions: ``risk.csv`` (+ ``risk.geojson`` with geometry) and ``disagreements.csv``.

    The inputs' sources are checked against the fusion's (:func:`.provenance.check_sources`):
    inputs from other models are refused unless ``allow_mismatch``.
    """
    from ..io.atomic import check_can_write

    check_can_write(out, overwrite)
    estimator, cross, cfg = load_fusion(fusion)
    if on_missing:
        cfg = dataclasses.replace(cfg, on_missing=on_missing)
    sources = {"image": image_source(_path(image)), "tabular": tabular_source(_path(tabular))}
    checked = check_sources(fusion, sources["image"], sources["tabular"], allow_mismatch=allow_mismatch,
                            names=(str(_path(image) or "image regions"), str(_path(tabular) or "tabular regions")))
    frame, _, unmatched, notes = _read_noting(image, tabular, cfg)
    with output_dir(out, overwrite) as tmp:
        r = _write_fused(tmp, frame, unmatched, estimator, cross, cfg, checked + notes)
        write_json(tmp / PROVENANCE_FILE, {"fusion": str(Path(fusion).resolve()), **sources})
    return {"out": str(out), **r, "files": [str(Path(out) / f) for f in r["files"]]}


def compare_regions(image, tabular, cfg: FusionConfig, out: str | os.PathLike[str], *, overwrite: bool = False) -> dict:
    """``fuse compare``: write ``compare.json``, ``compare.png`` and ``compare_oof.csv`` into ``out``."""
    frame, y, unmatched, notes = _read_noting(image, tabular, cfg)
    if y is None:
        raise DataError(f"no {cfg.label!r} column in either region file; comparison needs labels")
    result = compare_fusion(frame, y, image_columns=cfg.image_columns, folds=cfg.folds,
                            stacker=StackingFusion.from_config(cfg), random_state=cfg.seed)
    with output_dir(out, overwrite) as tmp:
        _write_compare(result, tmp)
    return {"out": str(out), "regions": len(y), "positives": int(y.sum()), "unmatched": len(unmatched), "warnings": notes,
            **result.to_dict(), "text": result.text(), "chart": str(Path(out) / "compare.png")}


def _score_images(seg, tabular_model, data, table, split, progress: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both sides for a folder of images, each image read once: the run's region statistics, and
    the tabular model's scores of ``table`` or, without one, of the images' descriptors."""
    from ..io.open import open_dataset
    from ..segmentation.predict import predict_regions
    from ..tabular.train import score_table
    from .descriptors import describe_samples

    ds = open_dataset(data, split=split, band_set=seg.config.features.source)
    described: list[pd.DataFrame] = []
    image = predict_regions(seg, ds, str(data), progress=progress,
                            each=None if table is not None else lambda s, _: described.append(describe_samples([s])))
    rows = read_table(table) if table is not None else pd.concat(described, ignore_index=True)
    return image, score_table(tabular_model, rows, str(table) if table is not None else f"descriptors of {data}")


@writes_output("out")
def score_regions(fusion: str | os.PathLike[str], run: str | os.PathLike[str], tabular_model: str | os.PathLike[str],
                  out: str | os.PathLike[str], *, data: str | os.PathLike[str] | None = None,
                  table: str | os.PathLike[str] | None = None, split: str | None = None,
                  scene: str | os.PathLike[str] | None = None, regions: str | os.PathLike[str] | None = None,
                  band_map: tuple[str, ...] | None = None, overwrite: bool = False, on_missing: str | None = None,
                  allow_mismatch: bool = False, progress: bool = False) -> dict:
    """Score regions end to end with both trained models and the fusion folder.

    Patches: the segmentation run predicts the images of ``data`` (one region per image) and the
    tabular model scores ``table`` (or, without one, descriptors computed from the same images).
    Map: the run predicts ``scene`` with a sliding window (outputs in ``OUT/scene/``), mask
    statistics are computed per polygon of ``regions`` (GeoJSON), and the tabular model scores
    the polygons' properties (or ``table``, joined on the id). ``risk.geojson`` then carries the
    region polygons. ``run`` and ``tabular_model`` are checked against the fusion's sources
    (:func:`.provenance.check_sources`; ``allow_mismatch`` turns a refusal into a warning).
    """
    from ..config import load_config
    from ..io.atomic import check_can_write
    from ..io.geojson import read_geojson
    from ..regions import zonal_stats
    from ..segmentation.infer import SegmentationRun
    from ..segmentation.scene import predict_scene
    from ..tabular.config import TabularConfig
    from ..tabular.train import score_table

    if (data is None) == (scene is None) or (scene is None) != (regions is None):
        raise ConfigError("score either patches (--data) or a map (--scene with --regions)")
    check_can_write(out, overwrite)
    check_region_files(tabular_model, table=table, regions=regions)
    estimator, cross, cfg = load_fusion(fusion)
    if on_missing:
        cfg = dataclasses.replace(cfg, on_missing=on_missing)
    checked = check_sources(fusion, image_source(run), tabular_source(tabular_model), allow_mismatch=allow_mismatch,
                            names=(f"statistics of {run}", f"scores of {tabular_model}"))
    seg = SegmentationRun.load(run)
    with output_dir(out, overwrite) as tmp:
        crs = None
        if scene is not None:
            summary = predict_scene(seg, scene, tmp / "scene", band_map=band_map, progress=progress)
            polys, crs = read_geojson(regions, to_crs=summary["crs"])  # regions on the scene's grid
            rid = load_config(TabularConfig, Path(tabular_model) / "config.toml").id or cfg.id
            image = zonal_stats(tmp / "scene" / "probability.tif", tmp / "scene" / "mask.tif", polys, rid)
            image["geometry"] = polys.set_index(rid)["geometry"].reindex(image.index).to_numpy()
            props = read_table(table) if table is not None else polys.drop(columns=["geometry"])
            tab = score_table(tabular_model, props, str(table or regions))
        else:
            image, tab = _score_images(seg, tabular_model, data, table, split, progress)
        stage("fusing both views into risk", progress)
        frame, _, unmatched, notes = _read_noting(image.reset_index().rename(columns={image.index.name or "index": cfg.id}),
                                                  tab.drop(columns=["landslide"]), cfg)
        r = _write_fused(tmp, frame, unmatched, estimator, cross, cfg, checked + notes, crs)
    files = [str(Path(out) / f) for f in r["files"]] + ([str(Path(out) / "scene")] if scene is not None else [])
    return {"out": str(out), **r, "files": files}


def describe_dataset(data: str | os.PathLike[str], out: str | os.PathLike[str], *, split: str | None = None,
                     band_set: str | None = None, overwrite: bool = False) -> dict:
    """Write the image descriptors of every sample of ``data`` as a region table (``id``,
    descriptors, ``landslide`` when masks exist): a tabular side computed from the imagery."""
    from ..io.open import open_dataset
    from .descriptors import describe_samples

    with output_file(table_path(out), overwrite) as tmp:
        table = describe_samples(open_dataset(data, split=split, band_set=band_set))
        write_table(table, tmp)
    return {"out": str(out), "regions": len(table), "features": table.shape[1] - 1 - int("landslide" in table.columns),
            "positives": int(table["landslide"].sum()) if "landslide" in table.columns else None}
