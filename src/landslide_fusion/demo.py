"""``landslide demo``: the whole pipeline on generated data, on CPU, within 2 minutes of CPU time.

Steps: generate Landslide4Sense-like patches and their region table (:mod:`landslide_fusion.synth`:
imagery misses faint landslides and flags look-alikes, the conditioning factors explain another
part of the risk); train a small RAU-Net (23 engineered bands) with 2-fold cross-validation, so
every patch gets out-of-fold region statistics; train the LightGBM region model with spatial
cross-validation against a logistic baseline, with SHAP plots (its out-of-fold probabilities are
the tabular side); fuse both views by stacking, compare tabular-only, image-only and fused by
5-fold CV over regions, and write the region risk table and the disagreement report.

The sizes below keep the demo's CPU time (user + sys, all threads) within 2 minutes on 2 cores;
``python benchmarks/bench_demo.py`` measures it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from .config import load_config
from .fusion.config import FusionConfig
from .fusion.workflow import predict_fusion, train_fusion
from .io.atomic import output_dir, write_json
from .progress import stage
from .segmentation.config import SegmentConfig
from .segmentation.training.train import train_segmentation
from .synth import write_synth_l4s
from .tabular.config import TabularConfig
from .tabular.train import explain_tabular, train_tabular

__all__ = ["run_demo", "PATCHES", "PATCH_SIZE", "EPOCHS", "FOLDS", "WIDTHS"]

#: Generated patches (= regions) and their size in pixels.
PATCHES, PATCH_SIZE = 200, 32
#: Training epochs of each fold of the segmentation k-fold, and its folds.
EPOCHS, FOLDS = 6, 2
#: rau-net-small narrowed for 32 px patches (~0.4 M parameters instead of 2.6 M): cheaper, and on
#: 100 patches it learns in fewer epochs than the full width.
WIDTHS = (8, 16, 32, 64, 128)


def run_demo(out: str | os.PathLike[str], *, seed: int = 0, overwrite: bool = False, progress: bool = True) -> dict:
    """Run the demo into ``out`` and return a summary (with a ``text`` entry for people)."""
    out = Path(out)

    def say(message: str) -> None:
        stage(message, progress)

    with output_dir(out, overwrite) as tmp:
        say(f"1/4 generating {PATCHES} Landslide4Sense-like patches ({PATCH_SIZE} px) and their region table")
        synth = write_synth_l4s(tmp / "data", n=PATCHES, size=PATCH_SIZE, seed=seed)
        say(f"2/4 training a small RAU-Net on 23 engineered bands, {FOLDS}-fold CV (out-of-fold region statistics)")
        cfg = load_config(
            SegmentConfig,
            None,
            [  # data.size: same-size patches, validated in batches
                f"data.size={PATCH_SIZE}",
                f"model.widths={list(WIDTHS)}",
                f"train.epochs={EPOCHS}",
                "train.lr=3e-3",
                "train.batch_size=16",
                f"train.seed={seed}",
                "train.threads=1",  # 32 px patches: one thread is faster than two waiting on each other
                'post.tta="none"',
            ],
            {"data.root": tmp / "data"},
        )
        seg = train_segmentation(cfg, tmp / "segmentation", folds=FOLDS, progress=progress)
        say("3/4 training the LightGBM region model (spatial 5-fold CV, logistic baseline, SHAP)")
        tcfg = load_config(
            TabularConfig,
            None,
            [
                'label="landslide"',
                'id="region_id"',
                'coords=["x", "y"]',
                'cv.splitter="spatial"',
                "cv.block_size=2560.0",
                "gbm.n_estimators=300",
                "gbm.learning_rate=0.05",
                "gbm.min_child_samples=10",
                f"gbm.random_state={seed}",
            ],
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tab = train_tabular(synth.table, tcfg, tmp / "tabular", progress=progress)
            explain_tabular(tmp / "tabular", synth.table, tmp / "tabular" / "explain")
        say("4/4 fusing both views (stacking), comparing tabular vs image vs fused, scoring region risk")
        image, tabular = tmp / "segmentation" / "oof_stats.csv", tmp / "tabular" / "oof.csv"
        fcfg = load_config(FusionConfig, None, [f"seed={seed}"])
        fused = train_fusion(image, tabular, fcfg, tmp / "fusion", progress=progress)
        risk = predict_fusion(tmp / "fusion", image, tabular, tmp / "risk")
        summary = {
            "out": str(out),
            "patches": synth.n_patches,
            "segmentation": {k: seg.metrics[k] for k in ("precision", "recall", "f1", "iou", "mean_f1")},
            "tabular": {"gbm": tab["gbm"]["mean"], "logistic": tab["logistic_baseline"]["mean"]},
            "fusion": fused["compare"],
            "risk": {k: risk[k] for k in ("regions", "landslide", "disagreements", "risk_classes")},
        }
        write_json(tmp / "summary.json", summary)
    s, t, f, r = summary["segmentation"], summary["tabular"], summary["fusion"]["mean"], summary["risk"]
    summary["text"] = (
        f"demo outputs in {out}/\n"
        f"  data/                generated patches (img/, mask/) and regions.csv\n"
        f"  segmentation/        RAU-Net, {FOLDS}-fold CV: landslide F1 {s['f1']:.3f}, IoU {s['iou']:.3f}; "
        "oof_stats.csv\n"
        f"  tabular/             LightGBM: spatial-CV ROC-AUC {t['gbm']['roc_auc']:.3f} "
        f"(logistic {t['logistic']['roc_auc']:.3f}); SHAP plots in tabular/explain/\n"
        f"  fusion/              5-fold CV over regions, ROC-AUC: tabular {f['tabular']['roc_auc']:.3f}, "
        f"image {f['image']['roc_auc']:.3f}, fused {f['fused']['roc_auc']:.3f}; chart fusion/compare.png\n"
        f"  risk/                risk.csv and risk.geojson of the training regions, from their out-of-fold inputs "
        f"({r['landslide']} of {r['regions']} regions landslide; "
        + ", ".join(f"{k} {v}" for k, v in r["risk_classes"].items())
        + f"); disagreements.csv ({r['disagreements']} regions)\n"
        f"  summary.json"
    )
    return summary
