"""``landslide demo``: the whole pipeline on generated data, on CPU, in a few minutes.

Steps: generate Landslide4Sense-like patches and their region table; train a small RAU-Net
(23 engineered bands) and report validation metrics; train the LightGBM region model with
spatial cross-validation against a logistic baseline, with SHAP plots. Fusion of the two views
joins the demo when the fusion package lands.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from .config import load_config
from .io.atomic import output_dir, write_json
from .segmentation.config import SegmentConfig
from .segmentation.train import train_segmentation
from .synth import write_synth_l4s
from .tabular.config import TabularConfig
from .tabular.train import explain_tabular, train_tabular

__all__ = ["run_demo"]


def run_demo(out: str | os.PathLike[str], *, seed: int = 0, overwrite: bool = False, progress: bool = True) -> dict:
    """Run the demo into ``out`` and return a summary (with a ``text`` entry for people)."""
    out = Path(out)
    say = print if progress else (lambda *a, **k: None)
    with output_dir(out, overwrite) as tmp:
        say("1/3 generating 160 Landslide4Sense-like patches (64 px) and their region table")
        synth = write_synth_l4s(tmp / "data", n=160, size=64, seed=seed)
        say("2/3 training rau-net-small on 23 engineered bands")
        cfg = load_config(SegmentConfig, None, [
            f'data.root="{tmp / "data"}"', "train.epochs=8", "train.lr=3e-3", "train.batch_size=16",
            f"train.seed={seed}", 'post.tta="rot90"'])
        seg = train_segmentation(cfg, tmp / "segmentation", progress=progress)
        say("3/3 training the LightGBM region model (spatial 5-fold CV, logistic baseline, SHAP)")
        tcfg = load_config(TabularConfig, None, [
            'label="landslide"', 'id="region_id"', 'coords=["x", "y"]', 'cv.splitter="spatial"', "cv.block_size=2560.0",
            "gbm.n_estimators=300", "gbm.learning_rate=0.05", "gbm.min_child_samples=10", f"gbm.random_state={seed}"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tab = train_tabular(synth.table, tcfg, tmp / "tabular")
            explain_tabular(tmp / "tabular", synth.table, tmp / "tabular" / "explain")
        summary = {
            "out": str(out),
            "patches": synth.n_patches,
            "segmentation": {k: seg.metrics[k] for k in ("precision", "recall", "f1", "iou", "mean_f1")} | {"threshold": seg.threshold},
            "tabular": {"gbm": tab["gbm"]["mean"], "logistic": tab["logistic_baseline"]["mean"]},
        }
        write_json(tmp / "summary.json", summary)
    s, t = summary["segmentation"], summary["tabular"]
    summary["text"] = (
        f"demo outputs in {out}/\n"
        f"  data/                generated patches (img/, mask/) and regions.csv\n"
        f"  segmentation/        RAU-Net run: validation landslide F1 {s['f1']:.3f}, IoU {s['iou']:.3f} (threshold {s['threshold']:.2f})\n"
        f"  tabular/             LightGBM: spatial-CV ROC-AUC {t['gbm']['roc_auc']:.3f} "
        f"(logistic {t['logistic']['roc_auc']:.3f}); SHAP plots in tabular/explain/\n"
        f"  summary.json"
    )
    return summary
