"""``landslide fuse``: train, predict, compare, score."""

from __future__ import annotations

from pathlib import Path

import typer

from ..clitools import (
    ConfigOption,
    JsonOption,
    OverwriteOption,
    ShareOption,
    area_app,
    choices,
    comma_list,
    emit,
    estimate_text,
    user_errors,
)
from ..usage import example, registered
from .methods import list_methods
from .names import ON_MISSING

__all__ = ["app"]

app = area_app("Fuse the image and tabular views of each region into one decision and a risk score.")

ImageOption = typer.Option(
    ...,
    "--image",
    help="Region statistics: predictions.csv of 'segment predict' or oof_stats.csv of 'segment train --folds K'.",
)
TabularOption = typer.Option(
    ...,
    "--tabular",
    help="Tabular scores (id, probability): oof.csv of 'tabular train' or the output of 'tabular predict'.",
)


OnMissing = choices("OnMissing", ON_MISSING)


SetOption = typer.Option(
    [],
    "--set",
    "-s",
    metavar="KEY=VALUE",
    help="Override a config value, e.g. --set stacking.C=0.5 or "
    "--set 'crosscheck.policy=\"both\"' (repeatable; see configs/fusion.toml).",
)
OnMissingOption = typer.Option(None, help="Ids on one side only: error, or drop them (listed).")
AllowMismatchOption = typer.Option(
    False,
    "--allow-mismatch",
    help="Warn instead of refusing when the inputs come from other models than the "
    "fusion was trained on (see provenance.json).",
)


def _config(
    config: Path | None,
    set_: list[str],
    method: str | None = None,
    folds: int | None = None,
    on_missing: OnMissing | None = None,
    landslide_free_share: float | None = None,
):
    from ..config import load_config
    from .config import FusionConfig

    values = {
        k: v
        for k, v in (
            ("method", method),
            ("folds", folds),
            ("on_missing", on_missing.value if on_missing else None),
            ("landslide_free_share", landslide_free_share),
        )
        if v is not None
    }
    return load_config(FusionConfig, config, set_, values)


def _notes(r: dict) -> str:
    return "".join(f"\nwarning: {w}" for w in r.get("warnings", ()))


def _fmt(mean: dict, std: dict) -> str:
    from .compare import METHODS

    return "\n".join(
        f"  {m:<8} ROC-AUC {mean[m]['roc_auc']:.3f} ± {std[m]['roc_auc']:.3f}   "
        f"PR-AUC {mean[m]['pr_auc']:.3f} ± {std[m]['pr_auc']:.3f}   F1 {mean[m]['f1']:.3f} ± {std[m]['f1']:.3f}"
        for m in METHODS
    )


@app.command(
    "train",
    epilog=example("landslide fuse train --image runs/segcv/oof_stats.csv --tabular runs/tab/oof.csv -o runs/fusion"),
)
@user_errors
def train(
    image: Path = ImageOption,
    tabular: Path = TabularOption,
    out: Path = typer.Option(..., "--out", "-o", help="Fusion folder to create."),
    method: str = typer.Option(
        None,
        parser=registered("fusion method", list_methods),
        metavar="METHOD",
        help="A registered fusion method, e.g. stacking (default: the config's).",
    ),
    folds: int = typer.Option(None, help="Folds of the tabular vs image vs fused comparison."),
    on_missing: OnMissing = OnMissingOption,
    landslide_free_share: float = ShareOption,
    data: Path = typer.Option(
        None,
        help="The k-fold's images, where they moved since 'segment train' (default: its data.root): "
        "the component filter of the fused masks learns from each one predicted again by its fold model "
        "(as long as 'segment predict' on them).",
    ),
    config: Path = ConfigOption,
    set_: list[str] = SetOption,
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Fit the fusion on held-out base-model outputs and cross-validate it against both single models."""
    from .workflow import train_fusion

    cfg = _config(config, set_, method, folds, on_missing, landslide_free_share)
    r = train_fusion(image, tabular, cfg, out, data=data, overwrite=overwrite, progress=not as_json)
    c = r["compare"]
    emit(
        r,
        as_json,
        f"{r['method']} fusion written to {out} ({r['regions']} regions, {r['positives']} landslide)\n"
        + _line(r["inputs"]["text"])
        + f"{cfg.folds}-fold CV over regions:\n{_fmt(c['mean'], c['std'])}\n"
        f"  Cohen's kappa (tabular vs image decisions) {c['agreement']['kappa_tabular_image']:.3f}; "
        f"chart: {out / 'compare.png'}; disagreements: {out / 'disagreements.csv'}\n"
        + _decision_text(r["landslide_free_share"], r["decision"])
        + "\n"
        + _filter_text(r["component_filter"])
        + f"inputs from: {_sources(r['sources'])} (provenance.json)"
        + _notes(r),
    )


def _filter_text(evidence: dict | None) -> str:
    """The component filter's cut and what each candidate gave, or nothing without a filter."""
    if not evidence:
        return ""
    head = f"component filter over {evidence['areas']} out-of-fold areas of {evidence['images']} images: "
    tried = ", ".join(f"{c['cut']:g}: {c['f1']:.3f}" for c in evidence["candidates"] if c.get("f1") is not None)
    if not tried:
        return head + f"every area kept ({evidence.get('note', 'no cut could be scored')})\n"
    kept = "every area kept" if evidence["cut"] <= 0 else f"areas below {evidence['cut']:g} dropped"
    note = f"; {evidence['note']}" if evidence.get("note") else ""
    return head + f"{kept} (cross-fitted pixel F1 by cut: {tried}{note})\n"


def _line(text: str) -> str:
    """``text`` as a line of a summary, or nothing when it is empty."""
    return f"{text}\n" if text else ""


def _mix(share: float | None) -> str:
    return "the training regions' own mix" if share is None else f"{100 * share:.0f} % landslide-free regions"


def _decision_text(share: float | None, d: dict) -> str:
    """The decision made for the prior, and what it is expected to give on unseen regions."""
    text = (
        f"decisions for {_mix(share)}: landslide where the risk reaches {d['risk_threshold']:.3f}; fused masks: "
        f"pixels >= {d['mask_threshold']:.2f} in those regions"
    )
    reg, px = d["expected"].get("regions", {}), d["expected"].get("pixels") or {}
    if reg:
        text += (
            f"\n  expected on unseen regions at that mix: region precision {reg['precision']:.3f}  "
            f"recall {reg['recall']:.3f}  F1 {reg['f1']:.3f}  PR-AUC {reg['pr_auc']:.3f}"
        )
    if px:
        text += f"\n  fused masks (cross-fitted, {px['folds']} folds): pixel {estimate_text(px)}"
    return text


def _sources(sources: dict) -> str:
    from .provenance import describe_source

    return "; ".join(
        f"{side}: {describe_source(rec) if rec else 'unknown (no provenance found)'}" for side, rec in sources.items()
    )


@app.command(
    "predict",
    epilog=example(
        "landslide fuse predict --fusion runs/fusion --image runs/pred/predictions.csv --tabular runs/scores.csv "
        "-o runs/risk"
    ),
)
@user_errors
def predict(
    fusion: Path = typer.Option(..., help="Fusion folder from 'fuse train'."),
    image: Path = ImageOption,
    tabular: Path = TabularOption,
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (risk.csv, risk.geojson, disagreements.csv)."),
    on_missing: OnMissing = OnMissingOption,
    landslide_free_share: float = ShareOption,
    allow_mismatch: bool = AllowMismatchOption,
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Risk score, risk class and decision per region, and the regions where the models disagree."""
    from .workflow import predict_fusion

    r = predict_fusion(
        fusion,
        image,
        tabular,
        out,
        landslide_free_share=landslide_free_share,
        overwrite=overwrite,
        on_missing=on_missing.value if on_missing else None,
        allow_mismatch=allow_mismatch,
    )
    emit(r, as_json, _risk_text(r))


def _risk_text(r: dict) -> str:
    classes = ", ".join(f"{k} {v}" for k, v in r["risk_classes"].items())
    review = f", {r['review']} kept for review" if r.get("review") else ""
    return (
        f"{r['regions']} regions: {r['landslide']} landslide{review}; risk classes: {classes}; "
        f"{r['disagreements']} disagreements\n{_decision_text(r['decision']['landslide_free_share'], r['decision'])}"
        + _evaluation_text(r.get("evaluation"))
        + f"\nwritten: {', '.join(r['files'])}"
        + _notes(r)
    )


def _evaluation_text(e: dict | None) -> str:
    if not e:
        return ""
    text = (
        f"\nfused masks of the {e['n_images']} labelled images, as written (native size): F1 {e['f1']:.4f}  "
        f"precision {e['precision']:.4f}  recall {e['recall']:.4f}  IoU {e['iou']:.4f}"
    )
    if (at := e.get("at_prior")) is not None:
        text += (
            f"\n  expected at {_mix(at['landslide_free_share'])}: F1 {at['f1']:.4f}  precision "
            f"{at['precision']:.4f}  recall {at['recall']:.4f}"
        )
    return text


@app.command(
    "compare",
    epilog=example(
        "landslide fuse compare --image runs/segcv/oof_stats.csv --tabular runs/tab/oof.csv -o runs/compare"
    ),
)
@user_errors
def compare(
    image: Path = ImageOption,
    tabular: Path = TabularOption,
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (compare.json, compare.png, compare_oof.csv)."),
    folds: int = typer.Option(None, help="Number of folds (default: config, 5)."),
    on_missing: OnMissing = OnMissingOption,
    config: Path = ConfigOption,
    set_: list[str] = SetOption,
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """k-fold CV over regions: tabular-only vs image-only vs fused, kappa and McNemar, and a chart."""
    from .workflow import compare_regions

    r = compare_regions(image, tabular, _config(config, set_, None, folds, on_missing), out, overwrite=overwrite)
    emit(
        r,
        as_json,
        f"{r['regions']} regions ({r['positives']} landslide)\n"
        + _line(r["inputs"]["text"])
        + f"{r['text']}\nchart: {r['chart']}"
        + _notes(r),
    )


@app.command(
    "score",
    epilog=example(
        "landslide fuse score --fusion runs/fusion --run runs/seg --tabular runs/tab --data runs/new "
        "--table runs/new/regions.csv -o runs/risk-new"
    ),
)
@user_errors
def score(
    fusion: Path = typer.Option(..., help="Fusion folder from 'fuse train'."),
    run: Path = typer.Option(..., help="Segmentation run folder."),
    tabular: Path = typer.Option(..., "--tabular", help="Tabular model folder."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (risk.csv, risk.geojson, disagreements.csv)."),
    data: Path = typer.Option(None, help="Patches: images of the regions (Landslide4Sense or image folder)."),
    scene: Path = typer.Option(None, help="Map: a scene (GeoTIFF) covering the regions."),
    regions: Path = typer.Option(None, help="Map: region polygons (GeoJSON) with an id and the tabular features."),
    table: Path = typer.Option(
        None, help="Region table for the tabular model (default: descriptors of the images, or the region properties)."
    ),
    split: str = typer.Option(None, help="Split list of an image folder."),
    band_map: str = typer.Option(None, help="Map: model band <- scene band number or name (segment predict --help)."),
    on_missing: OnMissing = OnMissingOption,
    landslide_free_share: float = ShareOption,
    allow_mismatch: bool = AllowMismatchOption,
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Run both models on the regions (patches, or polygons over a scene), fuse them into risk, and
    write the landslide masks the fused decision confirms."""
    from .workflow import score_regions

    bm = comma_list(band_map)
    r = score_regions(
        fusion,
        run,
        tabular,
        out,
        data=data,
        table=table,
        split=split,
        scene=scene,
        regions=regions,
        band_map=bm,
        landslide_free_share=landslide_free_share,
        overwrite=overwrite,
        on_missing=on_missing.value if on_missing else None,
        allow_mismatch=allow_mismatch,
        progress=not as_json,
    )
    emit(r, as_json, _risk_text(r))


@app.command("describe", epilog=example("landslide fuse describe runs/new -o runs/desc.csv"))
@user_errors
def describe(
    data: Path = typer.Argument(..., help="Images (Landslide4Sense or image folder)."),
    out: Path = typer.Option(..., "--out", "-o", help="Region table to write (CSV or Parquet)."),
    split: str = typer.Option(None, help="Split list of an image folder."),
    band_set: str = typer.Option(None, help="Band set of the images (default: inferred)."),
    overwrite: bool = OverwriteOption,
    as_json: bool = JsonOption,
) -> None:
    """Per-image descriptors (band statistics, NDVI/GRVI, texture) as a tabular side for 'tabular train'."""
    from .workflow import describe_dataset

    r = describe_dataset(data, out, split=split, band_set=band_set, overwrite=overwrite)
    emit(r, as_json, f"{r['regions']} regions x {r['features']} descriptors -> {out}")
