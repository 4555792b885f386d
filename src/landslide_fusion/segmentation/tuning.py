"""Post-processing chosen on validation: the pixel threshold and the image gate, for the share of
landslide-free regions a run will see.

Every validation image is predicted once, exactly as ``segment predict`` will
(:func:`~.predict.predict_regions` with the run's TTA), and :class:`PostSweep` keeps per image the
pixel counts of its mask (:func:`~landslide_fusion.regions.landslide_mask`: threshold, then the
run's opening and closing) at every candidate threshold ``t``, and its peak probability. Any pair
(threshold ``t``, gate ``g``) is then scored without predicting again: an image whose peak is
below ``g`` contributes an empty mask (the gate of :func:`~landslide_fusion.regions.landslide_mask`).

**The prior.** A validation split holds landslide-free images in some share (Bijie's val split:
74 of 182); the imagery a run is used on may hold another share ``pi`` of landslide-free regions,
and in a real scene most regions are (``pi`` near 1). False positives grow with the number of
landslide-free regions and true positives with the number of landslide regions, so the threshold
that maximises F1 on the validation mix is too low for a sparser one. With
``post.landslide_free_share = pi`` the counts of the landslide-free images are weighted by

    w = (pi / (1 - pi)) / (n_free / n_landslide)

(importance weighting of the two image classes to the target prior, as in Saerens, Latinne and
Decaestecker, "Adjusting the outputs of a classifier to new a priori probabilities", Neural
Computation 14, 2002), and the choice maximises the landslide F1 of the weighted counts,

    F1_pi = 2 TP / (2 TP + FP_landslide_images + w FP_free_images + FN).

TP and FN occur only on images with landslides, so only false positives are reweighted; a
negative ``pi`` keeps the validation mix (``w = 1``). The metrics returned are the validation
split's own (unweighted) at the chosen pair, in the form ``segment evaluate`` reports, and under
``cross_fitted`` those of choices made on other folds of the split (:func:`cross_fitted`), the
honest figure for unseen images. Ties go to the smaller gate (none), then to the threshold
closest to 0.5.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..config import save_config
from ..io.atomic import output_dir, write_json
from ..io.open import open_dataset
from ..regions import has_landslide, landslide_mask
from .config import SegmentConfig
from .evaluate import Scores
from .infer import SegmentationRun
from .metrics import THRESHOLDS, ConfusionMatrix
from .predict import predict_regions

__all__ = ["PostChoice", "PostSweep", "GATES", "choose_post", "cross_fitted", "prior_weight", "tune_run"]

GATES = np.concatenate([[0.0], THRESHOLDS, [0.97, 0.99, 0.995, 0.999]])  # peaks crowd near 1


@dataclass(frozen=True)
class PostChoice:
    """The chosen threshold and gate, and the validation metrics there (``segment evaluate``'s keys)."""

    threshold: float
    gate: float
    metrics: dict


class PostSweep:
    """Per-image mask counts at many thresholds, and peak probabilities (module docstring)."""

    def __init__(self, thresholds: np.ndarray = THRESHOLDS, opening: int = 0, closing: int = 0) -> None:
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        self.opening, self.closing = opening, closing
        self.counts: list[np.ndarray] = []  # per image: (thresholds, 4) as tp, fp, fn, tn
        self.peaks: list[float] = []
        self.positive: list[bool] = []

    def update(self, probability: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> None:
        """Add one image: probabilities (H, W), native 0/1 ground truth, valid pixels."""
        t = torch.from_numpy(np.asarray(truth)[valid] == 1)
        rows = []
        for th in self.thresholds:
            m = landslide_mask(probability, float(th), self.opening, self.closing, valid)[valid] == 1
            cm = ConfusionMatrix().update(torch.from_numpy(m), t)
            rows.append((cm.tp, cm.fp, cm.fn, cm.tn))
        self.counts.append(np.array(rows, dtype=np.int64).reshape(len(self.thresholds), 4))
        self.peaks.append(float(probability[valid].max()) if valid.any() else 0.0)
        self.positive.append(has_landslide(truth))

    def _gated(self, gate: float) -> np.ndarray:
        """(images, thresholds, 4) counts with the masks of images whose peak is below ``gate`` emptied."""
        c = np.stack(self.counts)
        shut = np.array(self.peaks) < gate
        c[shut, :, 2] += c[shut, :, 0]  # their landslide pixels are missed
        c[shut, :, 3] += c[shut, :, 1]  # their false positives become true negatives
        c[shut, :, :2] = 0
        return c

    def subset(self, images: np.ndarray) -> "PostSweep":
        """The sweep of some of the images (indices in update order)."""
        out = PostSweep(self.thresholds, self.opening, self.closing)
        out.counts = [self.counts[i] for i in images]
        out.peaks = [self.peaks[i] for i in images]
        out.positive = [self.positive[i] for i in images]
        return out

    def scores(self, threshold: float, gate: float, into: Scores | None = None) -> Scores:
        """The scores at one (threshold, gate) pair (added to ``into``); the threshold must be a candidate."""
        i = int(np.argmin(np.abs(self.thresholds - threshold)))
        s = Scores() if into is None else into
        for counts, positive in zip(self._gated(gate)[:, i], self.positive):
            s.add(ConfusionMatrix(*(int(v) for v in counts)), positive)
        return s

    def best(self, landslide_free_share: float = -1.0, gates: np.ndarray | None = None) -> PostChoice:
        """The (threshold, gate) pair of highest ``F1_pi`` over ``gates`` (default: no gate)."""
        pos = np.array(self.positive, dtype=bool)
        w = prior_weight(landslide_free_share, int(pos.sum()), int((~pos).sum()))
        keys = []
        for g in np.zeros(1) if gates is None else np.asarray(gates):
            c = self._gated(float(g))
            tp, fn = c[pos, :, 0].sum(0), c[pos, :, 2].sum(0)
            fp = c[pos, :, 1].sum(0) + w * c[~pos, :, 1].sum(0)
            f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1e-12), 0.0)
            keys += [(round(float(f1[i]), 9), -float(g), -abs(float(t) - 0.5), float(t), float(g))
                     for i, t in enumerate(self.thresholds)]
        best = max(keys)
        threshold, gate, f1 = best[3], best[4], best[0]
        metrics = {**self.scores(threshold, gate).as_dict(), "threshold": threshold, "gate": gate,
                   "landslide_free_share": landslide_free_share, "prior_weight": w, "tuned_f1": f1}
        return PostChoice(threshold, gate, metrics)


def cross_fitted(sweep: PostSweep, landslide_free_share: float = -1.0, gates: np.ndarray | None = None,
                 folds: int = 5, seed: int = 0) -> dict | None:
    """The scores of choices made on other images: the images are split into ``folds``
    stratified folds (fewer when a class has fewer images; None below 2), the pair is chosen on
    all folds but one and that fold is scored with it, and the held-out counts are summed.
    Choosing and scoring on the same images is optimistic; this is the figure to expect on
    unseen images of the same kind with the choice made on the rest (cross-fitting)."""
    from sklearn.model_selection import StratifiedKFold

    pos = np.array(sweep.positive, dtype=bool)
    k = min(folds, int(pos.sum()), int((~pos).sum()))
    if k < 2:
        return None
    total = Scores()
    for fit, held in StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(pos)), pos):
        c = sweep.subset(fit).best(landslide_free_share, gates)
        sweep.subset(held).scores(c.threshold, c.gate, into=total)
    return {"folds": k, **total.as_dict()}


def prior_weight(landslide_free_share: float, n_landslide: int, n_free: int) -> float:
    """``w`` of the module docstring: 1 for a negative share or a split lacking either class."""
    if landslide_free_share < 0 or n_landslide == 0 or n_free == 0:
        return 1.0
    return (landslide_free_share / (1.0 - landslide_free_share)) / (n_free / n_landslide)


def choose_post(sweep: PostSweep, cfg: SegmentConfig) -> PostChoice:
    """The run's post-processing from ``cfg.post``: tuned threshold (and gate, with
    ``post.tune_gate``) for ``post.landslide_free_share``, or the fixed ``post.threshold`` and
    ``post.gate``."""
    p = cfg.post
    gates = GATES if p.tune_gate else np.array([p.gate])
    c = sweep.best(p.landslide_free_share, gates)
    about = {"n_images": len(sweep.peaks), "tta": p.tta, "opening": p.opening, "closing": p.closing}
    held_out = cross_fitted(sweep, p.landslide_free_share, gates) if p.tune_threshold or p.tune_gate else None
    return replace(c, metrics={**about, **c.metrics, "cross_fitted": held_out})


def sweep_run(run: SegmentationRun, samples, source: str, *, progress: bool = False) -> PostSweep:
    """Predict every labelled sample as ``segment predict`` does (:func:`~.predict.predict_regions`:
    the run's bands, input domain and TTA) and count its masks; ``source`` names the data in errors."""
    p = run.config.post
    sweep = PostSweep(THRESHOLDS if p.tune_threshold else np.array([p.threshold]), p.opening, p.closing)
    predict_regions(run, samples, source, tta=p.tta, progress=progress,
                    each=lambda sample, pred: sweep.update(pred.probability, sample.mask, pred.valid))
    return sweep


def tune_run(run: str | os.PathLike[str], data: str | os.PathLike[str], out: str | os.PathLike[str], *,
             split: str | None = None, landslide_free_share: float | None = None, tune_gate: bool | None = None,
             overwrite: bool = False, progress: bool = False) -> PostChoice:
    """Choose a trained run's threshold and gate again on labelled ``data`` (e.g. for another
    expected share of landslide-free regions) and write the retuned run to ``out``: the same
    weights, ``post`` and ``run.json`` updated. The source run is left as it is."""
    src = SegmentationRun.load(run)
    post = src.config.post
    post = replace(post, landslide_free_share=post.landslide_free_share if landslide_free_share is None
                   else landslide_free_share, tune_gate=post.tune_gate if tune_gate is None else tune_gate)
    cfg = replace(src.config, post=post)
    src = replace(src, config=cfg)
    ds = open_dataset(data, split=split, band_set=cfg.features.source, require_masks=True,
                      nan_policy=cfg.data.nan_policy)
    choice = choose_post(sweep_run(src, ds, str(data), progress=progress), cfg)
    info = {**src.info, "threshold": choice.threshold, "gate": choice.gate, "metrics": choice.metrics,
            "tuned_on": {"data": str(data), "split": split}}
    with output_dir(Path(out), overwrite) as tmp:
        for f in Path(run).iterdir():
            if f.is_file() and f.name not in ("config.toml", "run.json", "metrics.json"):
                shutil.copy2(f, tmp / f.name)
        save_config(cfg, tmp / "config.toml")
        write_json(tmp / "run.json", info)
        write_json(tmp / "metrics.json", choice.metrics)
    return choice
