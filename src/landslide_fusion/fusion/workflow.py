"""The fusion workflow, the library entry points behind ``landslide fuse``: train, load, predict,\ncompare, score.

Inputs are two region files joined on ``id``:

* the image side: region statistics from ``segment predict`` (``predictions.csv``, on data the
  run did not train on) or ``segment train --folds K`` (``oof_stats.csv``);
* the tabular side: ``id, probability`` from ``tabular train`` (``oof.csv``, out-of-fold) or
  ``tabular predict`` (on regions the model did not train on).

Labels come from a ``label`` column of either file. A fusion folder holds ``fusion.json`` (the
fitted estimator of the configured method, see :mod:`.methods`), ``decision.json`` (the
held-out evidence decisions are made with for any declared prior, see :mod:`.decision`, with
``decision_sweep.csv``, the image side's out-of-fold mask counts, when the image side is a
k-fold), ``components.txt``/``components.json`` (the component filter of the fused masks, when the
image side is a k-fold whose images can be read, see :mod:`.component_filter`), ``config.toml``,
``provenance.json`` (fingerprints of the segmentation run(s) and
tabular model behind the inputs, see :mod:`.provenance`), ``compare.json``/``compare.png``/
``compare_oof.csv`` (the cross-validated comparison on the training regions) and
``disagreements.csv`` (regions where the two models' own votes differ).

Scoring new regions (``fuse predict``, ``fuse score``, and ``assess``) goes through one path,
:mod:`.score`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import load_config, save_config
from ..errors import ConfigError, DataError
from ..io.atomic import output_dir, output_file, write_json, writes_output
from ..io.geojson import GEOMETRY_COLUMNS
from ..io.tables import read_table, require_columns, table_path, write_table
from ..prior import check_share, declared_share
from ..progress import stage
from ..segmentation.evaluation.tuning import PostSweep, post_for_share
from ..tabular.model import LandslideGBM
from ..tabular.schema import binary_labels
from ..tabular.threshold import choose_threshold
from .compare import CompareResult, compare_chart, compare_fusion
from .component_filter import ComponentFilter, fit_area_filter
from .config import FusionConfig
from .crosscheck import CrossCheckFusion
from .decision import Decision, DecisionRule
from .inputs import InputChoice, choose_image_columns
from .join import UnmatchedRegionsWarning, check_region_files, join_regions
from .methods import FusionMethod, create_method, get_method, method_from_dict
from .provenance import PROVENANCE_FILE, checked_sources, image_source, tabular_source
from .score import (
    Scorer,
    confirm_images,
    confirm_map,
    pack_mask,
    pixel_counts,
    score_frame,
    unpack_mask,
    write_scores,
)
from .stacking import TABULAR_COLUMN, StackingFusion
from .votes import model_folders, region_votes

__all__ = [
    "read_regions",
    "train_fusion",
    "predict_fusion",
    "compare_regions",
    "score_regions",
    "score_map",
    "describe_dataset",
    "load_fusion",
    "fuse_frame",
    "predict_scene_into",
    "FittedFusion",
    "DECISION_FILE",
    "DECISION_SWEEP_FILE",
]

#: The decision rule of a fusion folder (:mod:`.decision`) and the image-side sweep it chooses on.
DECISION_FILE = "decision.json"
DECISION_SWEEP_FILE = "decision_sweep.csv"


def _tabular_side(df: pd.DataFrame, source: str, cfg: FusionConfig) -> pd.DataFrame:
    if TABULAR_COLUMN not in df.columns and "probability" in df.columns:
        df = df.rename(columns={"probability": TABULAR_COLUMN})
    require_columns(df, [cfg.id, TABULAR_COLUMN], source)
    p = pd.to_numeric(df[TABULAR_COLUMN], errors="coerce")
    bad = df.loc[~p.between(0, 1), cfg.id].astype(str).tolist()
    if bad:
        raise DataError(
            f"{source}: {len(bad)} tabular probabilities are missing or outside [0, 1] "
            f"(ids {', '.join(bad[:5])}); pass the 'probability' column of tabular train/predict output"
        )
    return df[[c for c in (cfg.id, TABULAR_COLUMN, "decision", cfg.label, *GEOMETRY_COLUMNS) if c in df.columns]]


def read_regions(
    image: str | os.PathLike[str] | pd.DataFrame, tabular: str | os.PathLike[str] | pd.DataFrame, cfg: FusionConfig
) -> tuple[pd.DataFrame, np.ndarray | None, pd.DataFrame]:
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
    frame, unmatched = join_regions(
        img,
        _tabular_side(tab, tab_name, cfg),
        id_column=cfg.id,
        on_missing=cfg.on_missing,
        names=(img_name, tab_name),
        finite=(*cfg.image_columns, TABULAR_COLUMN),
    )
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


def _kfold_sweep(image) -> PostSweep | None:
    """The out-of-fold sweep beside a k-fold's ``oof_stats.csv`` (``sweep.csv`` of its root run), or None."""
    from ..segmentation.evaluation.tuning import SWEEP_FILE, PostSweep

    path = _path(image)
    if path is None or Path(path).is_dir():
        return None
    folder = Path(path).parent
    if not ((folder / "cv.json").is_file() and (folder / SWEEP_FILE).is_file()):
        return None
    return PostSweep.load(folder / SWEEP_FILE)


@dataclasses.dataclass
class FittedFusion:
    """A fusion folder loaded: the fitted estimator, its config, the decision rule and the sources
    it was trained on."""

    path: Path
    estimator: FusionMethod
    cfg: FusionConfig
    scorer: Scorer
    sources: dict
    tabular_threshold: float | None = None


def _scorer(estimator, rule: DecisionRule, cfg: FusionConfig, area_filter: ComponentFilter | None) -> Scorer:
    return Scorer(
        rule,
        declared_share(cfg.landslide_free_share),
        estimator=estimator,
        review_disagreements=isinstance(estimator, CrossCheckFusion),
        area_filter=area_filter,
    )


def _component_filter(
    image,
    frame: pd.DataFrame,
    held_out: np.ndarray,
    fit_rule: Callable[[PostSweep | None], DecisionRule],
    share: float | None,
    cfg: FusionConfig,
    data: str | os.PathLike[str] | None,
    progress: bool,
) -> tuple[ComponentFilter | None, PostSweep | None, dict | None, list[str]]:
    """The component filter of a k-fold image side (:mod:`.component_filter`), the sweep the
    decision is fitted on, the evidence and notes; ``(None, the k-fold's sweep, None, notes)``
    where there is none to learn (not a k-fold, ``components.filter = false``, images not read)."""
    sweep = _kfold_sweep(image)
    if sweep is None or not cfg.components.filter:
        why = "the image side is no k-fold" if sweep is None else "components.filter = false"
        return None, sweep, None, [f"--data {data} is not used: {why}"] if data is not None else []
    scores = frame[[TABULAR_COLUMN]].assign(fused_probability=held_out)
    try:
        area_filter, filtered, evidence = fit_area_filter(
            Path(_path(image)).parent, scores, fit_rule, share, data=data, seed=cfg.seed, progress=progress
        )
    except (DataError, ConfigError) as e:
        return None, sweep, None, [f"no component filter: {e}"]
    return area_filter, filtered, evidence, []


def train_fusion(
    image,
    tabular,
    cfg: FusionConfig,
    out: str | os.PathLike[str],
    *,
    data: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> dict:
    """Fit the fusion estimator on held-out base outputs, the component filter of the fused masks
    (a k-fold image side whose images are found, at ``data`` when they moved:
    :mod:`.component_filter`), the decision rule on its held-out probabilities (:mod:`.decision`),
    cross-validate the comparison, and write ``out``."""
    get_method(cfg.method)  # an unknown method fails here, before any reading
    share = declared_share(cfg.landslide_free_share)
    frame, y, unmatched, notes = _read_noting(image, tabular, cfg)
    if y is None:
        raise DataError(f"no {cfg.label!r} column in either region file; training needs labels")
    inputs = choose_image_columns(frame, y, cfg)
    taking = _taking(cfg, inputs)
    stage(f"fitting {cfg.method} fusion on {len(y)} regions", progress)
    estimator = create_method(taking).fit(frame, y)
    sources = {"image": image_source(_path(image)), "tabular": tabular_source(_path(tabular))}
    run, model = model_folders(sources)
    held_out = getattr(estimator, "oof_probability_", None)  # stacking: its own out-of-fold probabilities
    if held_out is None:
        held_out = estimator.predict_proba(frame)[:, 1]
    stage("choosing the decision and the fused masks' threshold for the declared prior", progress)
    mask_threshold = post_for_share(run, None)[0] if run is not None else 0.5

    def fit_rule(sweep: PostSweep | None) -> DecisionRule:
        return DecisionRule.fit(
            y,
            held_out,
            list(frame.index),
            edges=cfg.risk.edges,
            mask_threshold=mask_threshold,
            calibrated=isinstance(estimator, StackingFusion),
            rule=cfg.stacking.threshold_rule,
            target_recall=cfg.stacking.target_recall,
            sweep=sweep,
        )

    area_filter, sweep, filter_evidence, filter_notes = _component_filter(
        image, frame, held_out, fit_rule, share, cfg, data, progress
    )
    rule = fit_rule(sweep)
    scorer = _scorer(estimator, rule, cfg, area_filter)
    tabular_threshold = (
        LandslideGBM.load(model).threshold_
        if model is not None
        else choose_threshold(y, frame[TABULAR_COLUMN].to_numpy(float))
    )
    votes, vote_notes = region_votes(frame, run, model, share, tabular_threshold)
    table, d = score_frame(frame, scorer, votes, share, cfg.risk.edges)
    result = _compare(frame, y, taking, progress)
    with output_dir(out, overwrite) as tmp:
        write_json(
            tmp / "fusion.json",
            {
                "method": cfg.method,
                "estimator": estimator.to_dict(),
                "inputs": inputs.to_dict(),
                "regions": len(y),
                "positives": int(y.sum()),
                "tabular_threshold": tabular_threshold,
                "component_filter": filter_evidence,
            },
        )
        write_json(tmp / DECISION_FILE, rule.to_dict())
        if area_filter is not None:
            area_filter.save(tmp, filter_evidence)
        if (sweep := rule.sweep_frame()) is not None:
            write_table(sweep, tmp / DECISION_SWEEP_FILE)
        write_json(tmp / PROVENANCE_FILE, sources)
        save_config(cfg, tmp / "config.toml")
        _write_compare(result, tmp)
        disagree = table[table["agree"] == 0] if "agree" in table.columns else table.iloc[:0]
        disagree = disagree.assign(label=pd.Series(y, index=frame.index).reindex(disagree.index))
        write_table(disagree.reset_index().drop(columns=["geometry"], errors="ignore"), tmp / "disagreements.csv")
        if len(unmatched):
            write_table(unmatched, tmp / "unmatched.csv")
    summary = {
        "out": str(out),
        "method": cfg.method,
        "regions": len(y),
        "positives": int(y.sum()),
        "unmatched": len(unmatched),
        "warnings": notes + vote_notes + filter_notes + ([d.note] if d.note else []),
        "landslide_free_share": share,
        "decision": {
            "risk_threshold": d.threshold,
            "probability_cut": d.cut,
            "mask_threshold": d.mask_threshold,
            "expected": d.expected,
        },
        "sources": sources,
        "inputs": {**inputs.to_dict(), "text": inputs.text()},
        "component_filter": filter_evidence,
        "compare": {"mean": result.mean, "std": result.std, "agreement": result.agreement},
    }
    if (coef := getattr(estimator, "coefficients", None)) is not None and (c := coef()) is not None:
        summary["coefficients"] = c.to_dict()
    return summary


def load_fusion(path: str | os.PathLike[str]) -> FittedFusion:
    """A fusion folder written by ``fuse train``."""
    path = Path(path)
    for name in ("fusion.json", "config.toml", DECISION_FILE):
        if not (path / name).is_file():
            raise DataError(
                f"{path}: not a fusion folder of this version (no {name}); pass a folder written by "
                "'fuse train' (run it again for folders written before decisions for a declared prior)"
            )
    doc = json.loads((path / "fusion.json").read_text())
    cfg = load_config(FusionConfig, path / "config.toml")
    sweep = (
        pd.read_csv(path / DECISION_SWEEP_FILE, dtype={"id": str}) if (path / DECISION_SWEEP_FILE).is_file() else None
    )
    rule = DecisionRule.from_dict(json.loads((path / DECISION_FILE).read_text()), sweep)
    estimator = method_from_dict(doc["estimator"])
    record = path / PROVENANCE_FILE
    sources = json.loads(record.read_text()) if record.is_file() else {}
    scorer = _scorer(estimator, rule, cfg, ComponentFilter.load(path))
    return FittedFusion(path, estimator, cfg, scorer, sources, doc.get("tabular_threshold"))


def fuse_frame(
    frame: pd.DataFrame,
    fusion: FittedFusion,
    share: float | None = None,
    *,
    run: str | os.PathLike[str] | None = None,
    tabular_model: str | os.PathLike[str] | None = None,
) -> tuple[pd.DataFrame, Decision, list[str]]:
    """Risk table of a joined region frame (:func:`.score.score_frame`) at ``share`` (None: the
    fusion's declared one), with both models' votes (``run`` and ``tabular_model`` default to
    those the fusion was trained on); returns the table, the decision made and notes."""
    share = fusion.scorer.share(share)
    known_run, known_model = model_folders(fusion.sources)
    votes, notes = region_votes(frame, run or known_run, tabular_model or known_model, share, fusion.tabular_threshold)
    table, d = score_frame(frame, fusion.scorer, votes, share, fusion.cfg.risk.edges)
    return table, d, notes


@writes_output("out")
def predict_fusion(
    fusion: str | os.PathLike[str],
    image,
    tabular,
    out: str | os.PathLike[str],
    *,
    landslide_free_share: float | None = None,
    overwrite: bool = False,
    on_missing: str | None = None,
    allow_mismatch: bool = False,
) -> dict:
    """Fuse new regions: ``risk.csv`` (+ ``risk.geojson`` with geometry), ``disagreements.csv``
    and ``provenance.json``, decisions made for ``landslide_free_share``.

    The inputs' sources are checked against the fusion's (:func:`.provenance.check_sources`):
    inputs from other models are refused unless ``allow_mismatch``.
    """
    check_share(landslide_free_share)
    fitted = load_fusion(fusion)
    cfg = dataclasses.replace(fitted.cfg, on_missing=on_missing) if on_missing else fitted.cfg
    sources, checked = checked_sources(
        fusion,
        _path(image),
        _path(tabular),
        allow_mismatch=allow_mismatch,
        names=(str(_path(image) or "image regions"), str(_path(tabular) or "tabular regions")),
    )
    frame, _, unmatched, notes = _read_noting(image, tabular, cfg)
    run, model = model_folders(sources)
    table, d, vote_notes = fuse_frame(frame, fitted, landslide_free_share, run=run, tabular_model=model)
    with output_dir(out, overwrite) as tmp:
        r = write_scores(
            tmp,
            table,
            d,
            unmatched,
            checked + notes + vote_notes,
            provenance={"fusion": str(Path(fusion).resolve()), **sources},
        )
    return {"out": str(out), **r, "files": [str(Path(out) / f) for f in r["files"]]}


def _taking(cfg: FusionConfig, inputs: InputChoice) -> FusionConfig:
    """``cfg`` with the image columns the stacker takes."""
    return dataclasses.replace(cfg, image_columns=inputs.columns)


def _compare(frame: pd.DataFrame, y: np.ndarray, cfg: FusionConfig, progress: bool = False) -> CompareResult:
    """Tabular vs image vs fused, cross-validated over the regions as ``cfg`` sets it."""
    return compare_fusion(
        frame,
        y,
        image_columns=cfg.image_columns,
        folds=cfg.folds,
        stacker=StackingFusion.from_config(cfg),
        random_state=cfg.seed,
        progress=progress,
    )


def compare_regions(image, tabular, cfg: FusionConfig, out: str | os.PathLike[str], *, overwrite: bool = False) -> dict:
    """``fuse compare``: write ``compare.json``, ``compare.png`` and ``compare_oof.csv`` into ``out``."""
    frame, y, unmatched, notes = _read_noting(image, tabular, cfg)
    if y is None:
        raise DataError(f"no {cfg.label!r} column in either region file; comparison needs labels")
    inputs = choose_image_columns(frame, y, cfg)
    result = _compare(frame, y, _taking(cfg, inputs))
    with output_dir(out, overwrite) as tmp:
        _write_compare(result, tmp)
    return {
        "out": str(out),
        "regions": len(y),
        "positives": int(y.sum()),
        "unmatched": len(unmatched),
        "warnings": notes,
        "inputs": {**inputs.to_dict(), "text": inputs.text()},
        **result.to_dict(),
        "text": result.text(),
        "chart": str(Path(out) / "compare.png"),
    }


def _score_images(
    seg,
    tabular_model,
    data,
    table,
    split,
    share,
    folder: Path,
    truth: dict[str, tuple[np.ndarray, tuple[int, ...]]],
    progress: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both sides for a folder of images, each image read once: the run's region statistics (the
    probabilities written to ``folder/probabilities/ID.tif`` for the fused masks; labelled images'
    masks kept in ``truth`` to score the fused masks), and the tabular model's scores of ``table``
    or, without one, of the images' descriptors."""
    from ..io.open import open_dataset
    from ..io.raster import write_geotiff
    from ..segmentation.inference.predict import predict_regions
    from ..tabular.train import score_table
    from .descriptors import describe_samples

    ds = open_dataset(data, split=split, band_set=seg.config.features.source)
    described: list[pd.DataFrame] = []
    (folder / "probabilities").mkdir()

    def each(sample, pred) -> None:
        write_geotiff(folder / "probabilities" / f"{sample.id}.tif", pred.probability, sample.geo)
        if sample.mask is not None:
            truth[str(sample.id)] = pack_mask(sample.mask)
        if table is None:
            described.append(describe_samples([sample]))

    image = predict_regions(seg, ds, str(data), progress=progress, each=each)
    rows = read_table(table) if table is not None else pd.concat(described, ignore_index=True)
    return image, score_table(tabular_model, rows, str(table) if table is not None else f"descriptors of {data}", share)


def score_map(
    scorer: Scorer,
    run,
    folder: Path,
    polys: pd.DataFrame,
    id_column: str,
    share: float | None,
    edges: tuple[float, ...],
    *,
    tabular_model: str | os.PathLike[str] | None = None,
    table: str | os.PathLike[str] | None = None,
    source: str = "regions",
    cfg: FusionConfig | None = None,
) -> tuple[pd.DataFrame, Decision, list[str], dict]:
    """Risk of region polygons over a predicted scene in ``folder`` (``probability.tif`` and the
    run's ``scene_mask.tif``), and the fused ``mask.tif`` and ``landslides.geojson`` written there:
    zonal statistics -> the tabular model's scores of the polygons' properties (or ``table``, joined
    on the id) -> the scorer (a fusion, or the run alone without ``tabular_model``)."""
    from ..regions import zonal_stats
    from ..tabular.train import score_table

    stats = zonal_stats(folder / "probability.tif", folder / "scene_mask.tif", polys, id_column)
    notes: list[str] = []
    if tabular_model is None:
        frame = stats
        votes, notes = region_votes(frame, run.path, None, share)
    else:
        props = read_table(table) if table is not None else polys.drop(columns=["geometry"])
        tab = score_table(tabular_model, props, str(table or source), share)
        cfg = cfg or FusionConfig()
        image = stats.reset_index().rename(columns={stats.index.name or "index": cfg.id})
        frame, _, _, notes = _read_noting(image, tab.rename(columns={"id": cfg.id}), cfg)
        votes, vote_notes = region_votes(frame, run.path, tabular_model, share)
        notes += vote_notes
    risk, d = score_frame(frame, scorer, votes, share, edges)
    geoms = polys.assign(_id=polys[id_column].astype(str)).set_index("_id")["geometry"]
    risk["geometry"] = geoms.reindex(risk.index.astype(str)).to_numpy()
    post = run.config.post
    counts = confirm_map(folder, risk, d, post.opening, post.closing, folder / "probability.tif")
    return risk, d, notes, counts


@writes_output("out")
def score_regions(
    fusion: str | os.PathLike[str],
    run: str | os.PathLike[str],
    tabular_model: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    data: str | os.PathLike[str] | None = None,
    table: str | os.PathLike[str] | None = None,
    split: str | None = None,
    scene: str | os.PathLike[str] | None = None,
    regions: str | os.PathLike[str] | None = None,
    band_map: tuple[str, ...] | None = None,
    landslide_free_share: float | None = None,
    overwrite: bool = False,
    on_missing: str | None = None,
    allow_mismatch: bool = False,
    progress: bool = False,
) -> dict:
    """Score regions end to end with both trained models and the fusion folder, and write the
    masks the fused decision confirms.

    Patches: the segmentation run predicts the images of ``data`` (one region per image; written
    ``probabilities/ID.tif``, fused ``masks/ID.png``) and the tabular model scores ``table`` (or,
    without one, descriptors computed from the same images). Map: the run predicts ``scene`` with a
    sliding window (``probability.tif``; its own mask ``scene_mask.tif``), mask statistics are
    computed per polygon of ``regions`` (GeoJSON), the tabular model scores the polygons'
    properties (or ``table``, joined on the id), and the fused ``mask.tif`` and
    ``landslides.geojson`` keep the landslides of the regions the fusion confirms. ``run`` and
    ``tabular_model`` are checked against the fusion's sources (:func:`.provenance.check_sources`;
    ``allow_mismatch`` turns a refusal into a warning). Decisions are made for
    ``landslide_free_share`` (None: the fusion's declared share).
    """
    from ..config import load_config
    from ..io.geojson import read_geojson
    from ..segmentation.inference.infer import SegmentationRun
    from ..tabular.config import TabularConfig

    if (data is None) == (scene is None) or (scene is None) != (regions is None):
        raise ConfigError("score either patches (--data) or a map (--scene with --regions)")
    check_share(landslide_free_share)
    check_region_files(tabular_model, table=table, regions=regions)
    fitted = load_fusion(fusion)
    cfg = dataclasses.replace(fitted.cfg, on_missing=on_missing) if on_missing else fitted.cfg
    sources, checked = checked_sources(
        fusion,
        run,
        tabular_model,
        allow_mismatch=allow_mismatch,
        names=(f"statistics of {run}", f"scores of {tabular_model}"),
    )
    share = fitted.scorer.share(landslide_free_share)
    seg = SegmentationRun.load(run)
    rid = load_config(TabularConfig, Path(tabular_model) / "config.toml").id or cfg.id  # the user's id column
    provenance = {"fusion": str(Path(fusion).resolve()), **sources}
    with output_dir(out, overwrite) as tmp:
        if scene is not None:
            predict_scene_into(seg, scene, tmp, band_map, progress)
            polys, crs = read_geojson(regions, to_crs=_raster_crs(tmp / "probability.tif"))
            stage("fusing both views into risk; fused masks", progress)
            risk, d, notes, counts = score_map(
                fitted.scorer,
                seg,
                tmp,
                polys,
                rid,
                share,
                cfg.risk.edges,
                tabular_model=tabular_model,
                table=table,
                source=str(regions),
                cfg=cfg,
            )
            r = write_scores(tmp, risk, d, None, checked + notes, crs, provenance, rid)
            r["files"] += ["mask.tif", "landslides.geojson", "probability.tif", "scene_mask.tif"]
        else:
            post = seg.config.post
            truth: dict[str, tuple[np.ndarray, tuple[int, ...]]] = {}
            image, tab = _score_images(seg, tabular_model, data, table, split, share, tmp, truth, progress)
            stage("fusing both views into risk; fused masks", progress)
            frame, _, unmatched, notes = _read_noting(
                image.reset_index().rename(columns={image.index.name or "index": cfg.id}),
                tab.rename(columns={"id": cfg.id}),
                cfg,
            )
            risk, d, vote_notes = fuse_frame(frame, fitted, share, run=run, tabular_model=tabular_model)
            r = write_scores(tmp, risk, d, unmatched, checked + notes + vote_notes, None, provenance, rid)
            pixels, written = confirm_images(tmp, risk, d, post.opening, post.closing, fitted.scorer.area_filter, truth)
            counts = {"pixels": pixels}
            r["files"] += ["masks/", "probabilities/"]
            if truth:  # labelled images: the fused masks as written, scored at native size
                r["evaluation"] = _evaluate_fused(tmp, written, truth, d, share)
                write_json(tmp / "evaluation.json", r["evaluation"])
                r["files"].append("evaluation.json")
    return {
        "out": str(out),
        **r,
        "landslide_pixels": counts["pixels"],
        "files": [str(Path(out) / f) for f in r["files"]],
    }


def _evaluate_fused(
    folder: Path,
    written: dict[str, np.ndarray],
    truth: dict[str, tuple[np.ndarray, tuple[int, ...]]],
    d: Decision,
    share: float | None,
) -> dict:
    """Scores of the fused masks of labelled images as :func:`.score.confirm_images` wrote them
    (``written``: each image's TP, FP, FN, TN; an image without a risk row, dropped as unmatched,
    has no mask and misses its landslides), over the images as they are and expected at ``share``
    (landslide-free images weighted)."""
    from ..io.raster import read_raster
    from ..segmentation.evaluation.scores import Scores

    counts, positive = [], []
    for rid, packed in truth.items():
        t = unpack_mask(packed)
        if rid in written:
            counts.append(written[rid])
        else:
            valid = np.isfinite(read_raster(folder / "probabilities" / f"{rid}.tif")[0][0])
            counts.append(pixel_counts(np.zeros(t.shape, np.uint8), t, valid))
        positive.append(bool(t.any()))
    scores = Scores().add_images(np.stack(counts), positive)
    return {
        "n_images": len(counts),
        "mask_threshold": d.mask_threshold,
        "component_cut": d.component_cut,
        "scored_at": "native size, the fused masks as written",
        **scores.as_dict(),
        "at_prior": scores.as_dict(share) if share is not None else None,
    }


def _raster_crs(path: Path) -> str | None:
    import rasterio

    with rasterio.open(path) as src:
        return src.crs.to_string() if src.crs else None


def predict_scene_into(seg, scene, folder: Path, band_map, progress: bool) -> dict:
    """The run's scene prediction with its outputs in ``folder``: ``probability.tif`` and the
    run's own mask as ``scene_mask.tif`` (``mask.tif`` is then the fused mask)."""
    import shutil

    from ..segmentation.inference.scene import predict_scene

    summary = predict_scene(seg, scene, folder / "scene", band_map=band_map, polygons=False, progress=progress)
    os.replace(folder / "scene" / "probability.tif", folder / "probability.tif")
    os.replace(folder / "scene" / "mask.tif", folder / "scene_mask.tif")
    shutil.rmtree(folder / "scene", ignore_errors=True)
    return summary


def describe_dataset(
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    split: str | None = None,
    band_set: str | None = None,
    overwrite: bool = False,
) -> dict:
    """Write the image descriptors of every sample of ``data`` as a region table (``id``,
    descriptors, ``landslide`` when masks exist): a tabular side computed from the imagery."""
    from ..io.open import open_dataset
    from .descriptors import describe_samples

    with output_file(table_path(out), overwrite) as tmp:
        table = describe_samples(open_dataset(data, split=split, band_set=band_set))
        write_table(table, tmp)
    return {
        "out": str(out),
        "regions": len(table),
        "features": table.shape[1] - 1 - int("landslide" in table.columns),
        "positives": int(table["landslide"].sum()) if "landslide" in table.columns else None,
    }
