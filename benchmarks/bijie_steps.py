"""What each step of the chain buys on images none of its models saw, at a declared share of
landslide-free regions: the masks as a user gets them, scored at native size.

    HOLDOUT=1 OUT=runs/bijie-holdout bash benchmarks/bijie.sh     # fit on the train split, map the val split
    python benchmarks/bijie_steps.py --out runs/bijie-holdout --share 0.7

Reads what ``bijie.sh`` wrote (the segmentation run, the fusion, and ``unseen/``: every val
image's probabilities, fused decision and risk) and the val split's truth, counts every image's
mask at 19 thresholds once (:class:`~landslide_fusion.segmentation.evaluation.tuning.PostSweep`), then scores,
each choice made on the training images' out-of-fold predictions only:

1. the run's masks, threshold and gate chosen for the training images' own mix;
2. the run's masks, threshold and gate chosen for the declared share (``segment predict``; in
   steps 1 and 2 the gate compares what ``segment predict`` compares: for a fold ensemble its
   members' peaks averaged, so the val images are predicted again);
3. the fused masks, the decision alone chosen for the share (region F1) and the run's threshold;
4. the fused masks without the component filter: decision and mask threshold chosen together on
   the k-fold's own sweep, every landslide area of a confirmed image kept;
5. the fused masks as shipped, read back as ``fuse score`` wrote them (``unseen/masks``): step 4
   with the component filter, when ``fuse train`` learned one;
6. a bound: the run's masks at step 2's threshold kept on exactly the images that hold a landslide.

Each is printed over the val images as they are and expected at the share (landslide-free images
weighted, :meth:`~landslide_fusion.segmentation.evaluation.scores.Scores.as_dict`), with the estimate
``fuse train`` printed for step 5 beside it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from landslide_fusion.fusion.score import pixel_counts
from landslide_fusion.fusion.workflow import load_fusion
from landslide_fusion.io.open import open_dataset
from landslide_fusion.io.raster import read_raster
from landslide_fusion.regions import has_landslide
from landslide_fusion.segmentation.evaluation.scores import Scores
from landslide_fusion.segmentation.evaluation.tuning import GATES, PostSweep, run_sweep
from landslide_fusion.segmentation.inference.infer import SegmentationRun


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/bijie-holdout"))
    ap.add_argument("--data", type=Path, default=Path("../shared/data/bijie"))
    ap.add_argument("--split", default="val")
    ap.add_argument("--share", type=float, default=0.7)
    ap.add_argument("--json", type=Path, help="Also write the figures here.")
    a = ap.parse_args()

    run = SegmentationRun.load(a.out / "segmentation")
    fusion = load_fusion(a.out / "fusion")
    risk = pd.read_csv(a.out / "unseen" / "risk.csv")
    risk = risk.set_index(risk.columns[0])
    risk.index = risk.index.astype(str)
    post = run.config.post
    sweep = PostSweep(opening=post.opening, closing=post.closing)
    written = Scores()
    for s in open_dataset(a.data, split=a.split, band_set=run.config.features.source, require_masks=True):
        p = read_raster(a.out / "unseen" / "probabilities" / f"{s.id}.tif")[0][0].astype(np.float32)
        valid = np.isfinite(p)
        sweep.update(p, s.mask, valid, s.id)
        m = np.asarray(Image.open(a.out / "unseen" / "masks" / f"{s.id}.png")) // 255
        written.add_images([pixel_counts(m, s.mask == 1, valid)], [has_landslide(s.mask)])
    truth = np.array(sweep.positive, float)
    gate_peaks = _gate_peaks(run, a.data, a.split, sweep.ids)
    oof = run_sweep(run)  # the training images' out-of-fold counts: every choice below is made there
    own = oof.best(None, GATES)
    prior = oof.best(a.share, GATES)
    fused = fusion.scorer.decision(a.share)
    region_only = _without_sweep(fusion).choose(a.share)
    whole = _unfiltered(fusion, oof).choose(a.share)
    score = risk["risk_score"].reindex(sweep.ids).to_numpy(float)
    steps = {
        "1 run, chosen for the training mix": sweep.scores(own.threshold, own.gate, image_scores=gate_peaks),
        f"2 run, chosen for {a.share:g} landslide-free": sweep.scores(
            prior.threshold, prior.gate, image_scores=gate_peaks
        ),
        "3 fused decision (region F1), run's threshold": sweep.scores(
            _nearest(sweep, run.threshold), region_only.threshold, image_scores=score
        ),
        "4 fused decision and threshold together, every area kept": sweep.scores(
            whole.mask_threshold, whole.cut, image_scores=risk["fused_probability"].reindex(sweep.ids).to_numpy(float)
        ),
        "5 fused masks as written (with the component filter)": written,
        "6 bound: run's masks on the images that hold landslides": sweep.scores(
            prior.threshold, 0.5, image_scores=truth
        ),
    }
    rows = {}
    print(
        f"{len(sweep.ids)} {a.split} images ({int(truth.sum())} with landslides), expected at {a.share:g} "
        f"landslide-free (landslide-free images weighted), native size"
    )
    for name, s in steps.items():
        mix, at = s.as_dict(), s.as_dict(a.share)
        rows[name] = {
            "f1": mix["f1"],
            "precision": mix["precision"],
            "recall": mix["recall"],
            "f1_at_share": at["f1"],
            "precision_at_share": at["precision"],
            "recall_at_share": at["recall"],
            "image_precision_at_share": at["image_detection"]["precision"],
            "image_recall": at["image_detection"]["recall"],
        }
        print(
            f"  {name:<62} F1 {at['f1']:.3f}  P {at['precision']:.3f}  R {at['recall']:.3f}   "
            f"(as the split is: F1 {mix['f1']:.3f}  P {mix['precision']:.3f})"
        )
    est = fused.expected.get("pixels") or {}
    if est:
        print(
            f"  estimate printed by fuse train for step 5 (cross-fitted on the training images): F1 {est['f1']:.3f}  "
            f"P {est['precision']:.3f}  R {est['recall']:.3f}"
        )
    from sklearn.metrics import average_precision_score, roc_auc_score

    w = np.where(truth == 1, 1.0, _weight(truth, a.share))
    image = {
        "roc_auc": float(roc_auc_score(truth, score)),
        "pr_auc_at_share": float(average_precision_score(truth, score, sample_weight=w)),
    }
    print(
        f"  image-level ranking of the fused risk: ROC-AUC {image['roc_auc']:.3f}, PR-AUC at {a.share:g} "
        f"{image['pr_auc_at_share']:.3f}"
    )
    if a.json:
        a.json.write_text(json.dumps({"share": a.share, "steps": rows, "estimate": est, "image": image}, indent=2))


def _gate_peaks(run: SegmentationRun, data: Path, split: str, ids: list[str]) -> np.ndarray | None:
    """What the run's image gate compares for each image, as ``segment predict`` computes it: None
    (the peak of the written map) for one model; for a fold ensemble its members' peaks averaged,
    which needs each member's map, so the images are predicted again."""
    if not run.members:
        return None
    from landslide_fusion.segmentation.inference.predict import predict_regions

    peaks: dict[str, float] = {}
    samples = open_dataset(data, split=split, band_set=run.config.features.source)
    predict_regions(run, samples, str(data), each=lambda s, pred: peaks.__setitem__(str(s.id), pred.peak))
    return np.array([peaks[i] for i in ids])


def _weight(truth: np.ndarray, share: float) -> float:
    from landslide_fusion.prior import prior_weight

    return prior_weight(share, int(truth.sum()), int((1 - truth).sum()))


def _nearest(sweep: PostSweep, threshold: float) -> float:
    return float(sweep.thresholds[np.argmin(np.abs(sweep.thresholds - threshold))])


def _unfiltered(fusion, oof: PostSweep):
    """The fusion's decision rule on the k-fold's own sweep (no area dropped), as without a filter."""
    from dataclasses import replace

    rule = fusion.scorer.rule
    where = {i: k for k, i in enumerate(oof.ids)}
    return replace(rule, sweep=oof.subset(np.array([where[i] for i in rule.sweep.ids])))


def _without_sweep(fusion):
    """The fusion's decision rule without the image-side counts: the cut maximises region F1."""
    from dataclasses import replace

    return replace(fusion.scorer.rule, sweep=None, scores=None)


if __name__ == "__main__":
    main()
