"""Post-processing chosen on validation: the pixel threshold and the image gate, for the share of
landslide-free regions a run will see.

Every validation image is predicted once, exactly as ``segment predict`` will
(:func:`~..inference.predict.predict_regions` with the run's TTA), and :class:`PostSweep` keeps per image the
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

import json
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ...config import save_config
from ...errors import DataError
from ...io.atomic import output_dir, write_json, write_text, writes_output
from ...io.open import open_dataset
from ...prior import check_share, declared_share, prior_weight, weighted_f1
from ...regions import has_landslide, landslide_mask, region_peak
from ..config import SegmentConfig
from .interval import bootstrap_interval
from .scores import Scores
from ..inference.infer import SegmentationRun
from .metrics import THRESHOLDS, ConfusionMatrix
from ..inference.predict import predict_regions

__all__ = [
    "PostChoice",
    "PostSweep",
    "GATES",
    "SWEEP_FILE",
    "choose_post",
    "cross_fitted",
    "sweep_run",
    "run_sweep",
    "run_for_share",
    "post_for_share",
    "tune_run",
]

NO_LANDSLIDE_IMAGES = (
    "none of the {n} labelled images holds a landslide, so no threshold or gate can be chosen on "
    "them; choose on images that include landslides"
)
#: The per-image mask counts a run's threshold and gate were chosen on, kept in its folder.
SWEEP_FILE = "sweep.csv"
GATES = np.concatenate([[0.0], THRESHOLDS, [0.97, 0.99, 0.995, 0.999]])  # peaks crowd near 1
_COUNTS = ("tp", "fp", "fn", "tn")


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
        self.ids: list[str] = []
        self.counts: list[np.ndarray] = []  # per image: (thresholds, 4) as tp, fp, fn, tn
        self.peaks: list[float] = []
        self.positive: list[bool] = []

    def update(
        self, probability: np.ndarray, truth: np.ndarray, valid: np.ndarray, id: str = "", peak: float | None = None
    ) -> None:
        """Add one image: probabilities (H, W), native 0/1 ground truth, valid pixels, its id, and
        the peak its gate compares (default: the map's; a prediction's ``peak``)."""
        t = torch.from_numpy(np.asarray(truth)[valid] == 1)
        rows = []
        for th in self.thresholds:
            m = landslide_mask(probability, float(th), self.opening, self.closing, valid)[valid] == 1
            cm = ConfusionMatrix().update(torch.from_numpy(m), t)
            rows.append((cm.tp, cm.fp, cm.fn, cm.tn))
        counts = np.array(rows, dtype=np.int64).reshape(len(self.thresholds), 4)
        self.add(id, counts, region_peak(probability, valid) if peak is None else peak, has_landslide(truth))

    def add(self, id: str, counts: np.ndarray, peak: float, positive: bool) -> None:
        """Add one image already counted: its (thresholds, 4) TP, FP, FN, TN, peak and label."""
        self.ids.append(str(id))
        self.counts.append(np.asarray(counts, np.int64))
        self.peaks.append(float(peak))
        self.positive.append(bool(positive))

    @classmethod
    def concat(cls, sweeps: list["PostSweep"]) -> "PostSweep":
        """The images of several sweeps over the same thresholds, in order (e.g. the folds of a k-fold)."""
        out = cls(sweeps[0].thresholds, sweeps[0].opening, sweeps[0].closing)
        for sw in sweeps:
            if not np.array_equal(sw.thresholds, out.thresholds):
                raise DataError("sweeps over different thresholds cannot be pooled")
            for name in ("ids", "counts", "peaks", "positive"):
                getattr(out, name).extend(getattr(sw, name))
        return out

    def kept(self, keep: np.ndarray) -> np.ndarray:
        """(images, thresholds, 4) counts with the masks of the images not kept emptied."""
        c = np.stack(self.counts)
        shut = ~np.asarray(keep, bool)
        c[shut, :, 2] += c[shut, :, 0]  # their landslide pixels are missed
        c[shut, :, 3] += c[shut, :, 1]  # their false positives become true negatives
        c[shut, :, :2] = 0
        return c

    def subset(self, images: np.ndarray) -> "PostSweep":
        """The sweep of some of the images (indices in update order)."""
        out = PostSweep(self.thresholds, self.opening, self.closing)
        for name in ("ids", "counts", "peaks", "positive"):
            setattr(out, name, [getattr(self, name)[i] for i in images])
        return out

    def scores(
        self, threshold: float, gate: float, into: Scores | None = None, image_scores: np.ndarray | None = None
    ) -> Scores:
        """The scores at one (threshold, gate) pair (added to ``into``); the threshold must be a
        candidate. An image keeps its mask when its score (default: its peak) reaches ``gate``."""
        return (Scores() if into is None else into).add_images(
            self.counts_at(threshold, gate, image_scores), self.positive
        )

    def counts_at(self, threshold: float, gate: float, image_scores: np.ndarray | None = None) -> np.ndarray:
        """(images, 4) pixel counts TP, FP, FN, TN of each image's mask at one (threshold, gate)
        pair (see :meth:`scores`)."""
        i = int(np.argmin(np.abs(self.thresholds - threshold)))
        keep = np.asarray(self.peaks if image_scores is None else image_scores) >= gate
        return self.kept(keep)[:, i]

    def choose(
        self, landslide_free_share: float | None, cuts: np.ndarray, image_scores: np.ndarray | None = None
    ) -> tuple[float, float, float]:
        """``(threshold, cut, F1_pi)`` of the highest ``F1_pi`` where an image keeps its mask when
        its score (default: its peak) reaches the cut. Ties go to the smaller cut, then to the
        threshold closest to 0.5."""
        pos = np.array(self.positive, dtype=bool)
        w = prior_weight(landslide_free_share, int(pos.sum()), int((~pos).sum()))
        scores = np.asarray(self.peaks if image_scores is None else image_scores, float)
        best = None
        for g in np.asarray(cuts, float):
            c = self.kept(scores >= g)
            f1 = weighted_f1(c[pos, :, 0].sum(0), c[pos, :, 1].sum(0), c[~pos, :, 1].sum(0), c[pos, :, 2].sum(0), w)
            for i, t in enumerate(self.thresholds):
                key = (round(float(f1[i]), 9), -float(g), -abs(float(t) - 0.5), float(t), float(g))
                best = key if best is None or key > best else best
        return best[3], best[4], best[0]

    def best(self, landslide_free_share: float | None = None, gates: np.ndarray | None = None) -> PostChoice:
        """The (threshold, gate) pair of highest ``F1_pi`` over ``gates`` (default: no gate)."""
        share = declared_share(landslide_free_share)
        threshold, gate, f1 = self.choose(share, np.zeros(1) if gates is None else gates)
        pos = np.array(self.positive, dtype=bool)
        metrics = {
            **self.scores(threshold, gate).as_dict(),
            "threshold": threshold,
            "gate": gate,
            "landslide_free_share": -1.0 if share is None else share,
            "prior_weight": prior_weight(share, int(pos.sum()), int((~pos).sum())),
            "tuned_f1": f1,
        }
        return PostChoice(threshold, gate, metrics)

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per image and threshold (``id, label, peak, threshold, tp, fp, fn, tn``)."""
        n, k = len(self.ids), len(self.thresholds)
        c = np.stack(self.counts).reshape(n * k, 4) if n else np.zeros((0, 4), np.int64)
        return pd.DataFrame(
            {
                "id": np.repeat(self.ids, k),
                "label": np.repeat(np.array(self.positive, int), k),
                "peak": np.repeat(self.peaks, k),
                "threshold": np.tile(self.thresholds, n),
                **{name: c[:, j] for j, name in enumerate(_COUNTS)},
            }
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, opening: int = 0, closing: int = 0) -> "PostSweep":
        """The sweep back from :meth:`to_frame`'s table (images in their order of appearance)."""
        thresholds = np.unique(frame["threshold"].to_numpy(float))
        out = cls(thresholds, opening, closing)
        for id_, rows in frame.groupby("id", sort=False):
            rows = rows.sort_values("threshold")
            if len(rows) != len(thresholds):
                raise DataError(f"sweep table: image {id_} has {len(rows)} threshold rows, expected {len(thresholds)}")
            out.ids.append(str(id_))
            out.counts.append(rows[list(_COUNTS)].to_numpy(np.int64))
            out.peaks.append(float(rows["peak"].iloc[0]))
            out.positive.append(bool(rows["label"].iloc[0]))
        return out

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_frame` as CSV (atomically)."""
        return write_text(path, self.to_frame().to_csv(index=False))

    @classmethod
    def load(cls, path: str | os.PathLike[str], opening: int = 0, closing: int = 0) -> "PostSweep":
        return cls.from_frame(pd.read_csv(path, dtype={"id": str}), opening, closing)


def cross_fitted(
    sweep: PostSweep,
    landslide_free_share: float | None = None,
    gates: np.ndarray | None = None,
    folds: int = 5,
    seed: int = 0,
    image_scores: np.ndarray | None = None,
) -> dict | None:
    """The scores of choices made on other images, expected at ``landslide_free_share``: the
    images are split into ``folds`` stratified folds (fewer when a class has fewer images; None
    below 2), the pair is chosen on all folds but one and that fold is scored with it, and the
    held-out counts are summed, landslide-free images weighted to the share
    (:meth:`Scores.as_dict`). Choosing and scoring on the same images is optimistic; this is the
    figure to expect on unseen images of the same kind at that mix (cross-fitting). ``interval``
    is how far it moves with the images it was made on (:func:`~.interval.bootstrap_interval`)."""
    from sklearn.model_selection import StratifiedKFold

    share = declared_share(landslide_free_share)
    pos = np.array(sweep.positive, dtype=bool)
    k = min(folds, int(pos.sum()), int((~pos).sum()))
    if k < 2:
        return None
    scores = None if image_scores is None else np.asarray(image_scores, float)
    held_out = np.zeros((len(pos), 4), np.int64)
    for fit, held in StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(pos)), pos):
        t, g, _ = sweep.subset(fit).choose(
            share, np.zeros(1) if gates is None else gates, None if scores is None else scores[fit]
        )
        held_out[held] = sweep.subset(held).counts_at(t, g, None if scores is None else scores[held])
    total = Scores().add_images(held_out, pos)
    w = prior_weight(share, int(pos.sum()), int((~pos).sum()))
    return {"folds": k, **total.as_dict(share), "interval": bootstrap_interval(held_out, pos, w, seed=seed)}


def _gates(cfg: SegmentConfig) -> np.ndarray:
    return GATES if cfg.post.tune_gate else np.array([cfg.post.gate])


def choose_post(sweep: PostSweep, cfg: SegmentConfig) -> PostChoice:
    """The run's post-processing from ``cfg.post``: tuned threshold (and gate, with
    ``post.tune_gate``) for ``post.landslide_free_share``, or the fixed ``post.threshold`` and
    ``post.gate``. The metrics are those of the sweep's own mix, then under ``at_prior`` the same
    expected at the declared share, and under ``cross_fitted`` those of choices made on other folds,
    scored at that share: the estimate for unseen images."""
    p = cfg.post
    if not any(sweep.positive):  # every choice would tie: keep the configured values, and say so
        return PostChoice(
            p.threshold,
            p.gate,
            {
                "n_images": len(sweep.peaks),
                "threshold": p.threshold,
                "gate": p.gate,
                **sweep.scores(p.threshold, p.gate).as_dict(),
                "warning": NO_LANDSLIDE_IMAGES.format(n=len(sweep.peaks)),
            },
        )
    share = declared_share(p.landslide_free_share)
    c = sweep.best(share, _gates(cfg))
    about = {"n_images": len(sweep.peaks), "tta": p.tta, "opening": p.opening, "closing": p.closing}
    at_prior = sweep.scores(c.threshold, c.gate).as_dict(share) if share is not None else None
    held_out = cross_fitted(sweep, share, _gates(cfg)) if p.tune_threshold or p.tune_gate else None
    return replace(c, metrics={**about, **c.metrics, "at_prior": at_prior, "cross_fitted": held_out})


def sweep_run(run: SegmentationRun, samples, source: str, *, progress: bool = False) -> PostSweep:
    """Predict every labelled sample as ``segment predict`` does (:func:`~..inference.predict.predict_regions`:
    the run's bands, input domain and TTA) and count its masks; ``source`` names the data in errors."""
    p = run.config.post
    sweep = PostSweep(THRESHOLDS if p.tune_threshold else np.array([p.threshold]), p.opening, p.closing)
    predict_regions(
        run,
        samples,
        source,
        tta=p.tta,
        progress=progress,
        each=lambda sample, pred: sweep.update(pred.probability, sample.mask, pred.valid, sample.id, pred.peak),
    )
    return sweep


def run_sweep(run: SegmentationRun) -> PostSweep:
    """The sweep a run's threshold and gate were chosen on (``SWEEP_FILE`` in its folder)."""
    path = Path(run.path) / SWEEP_FILE
    if not path.is_file():
        raise DataError(
            f"{run.path}: no {SWEEP_FILE} (the run predates choices for a declared prior); choose again "
            f"with 'landslide segment tune --run {run.path} --data LABELLED -o NEW'"
        )
    return PostSweep.load(path, run.config.post.opening, run.config.post.closing)


def post_for_share(folder: str | os.PathLike[str], landslide_free_share: float | None) -> tuple[float, float]:
    """``(threshold, gate)`` of the run in ``folder`` for a share of landslide-free regions: its own
    for None or the share it was tuned for, else chosen again on its sweep (no weights are loaded)."""
    from ...config import load_config

    folder = Path(folder)
    cfg = load_config(SegmentConfig, folder / "config.toml")
    info = json.loads((folder / "run.json").read_text())
    share = check_share(landslide_free_share)
    if share is None or share == declared_share(cfg.post.landslide_free_share):
        return float(info["threshold"]), float(info.get("gate", 0.0))
    if not (folder / SWEEP_FILE).is_file():
        raise DataError(
            f"{folder}: no {SWEEP_FILE} (the run predates choices for a declared prior); choose again "
            f"with 'landslide segment tune --run {folder} --data LABELLED -o NEW'"
        )
    c = PostSweep.load(folder / SWEEP_FILE).best(share, _gates(cfg))
    return c.threshold, c.gate


def run_for_share(run: SegmentationRun, landslide_free_share: float | None) -> SegmentationRun:
    """``run`` with its threshold and gate chosen again, on its own sweep, for another share of
    landslide-free regions (None, or the share it was tuned for: the run as it is)."""
    share = check_share(landslide_free_share)
    if share is None or share == declared_share(run.config.post.landslide_free_share):
        return run
    threshold, gate = post_for_share(run.path, share)
    cfg = replace(run.config, post=replace(run.config.post, landslide_free_share=share))
    return replace(run, config=cfg, threshold=threshold, info={**run.info, "threshold": threshold, "gate": gate})


@writes_output("out")  # an existing -o is refused before anything is predicted, and held to the commit
def tune_run(
    run: str | os.PathLike[str],
    data: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    *,
    split: str | None = None,
    landslide_free_share: float | None = None,
    tune_gate: bool | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> PostChoice:
    """Choose a trained run's threshold and gate again (e.g. for another expected share of
    landslide-free regions) on labelled ``data``, or, without ``data``, on the sweep the run was
    tuned on (its ``SWEEP_FILE``: nothing is predicted), and write the retuned run to ``out``: the
    same weights; ``post``, ``run.json`` and the sweep updated. The source run is left as it is."""
    share = check_share(landslide_free_share)
    src = SegmentationRun.load(run)
    post = src.config.post
    post = replace(
        post,
        landslide_free_share=post.landslide_free_share if share is None else share,
        tune_gate=post.tune_gate if tune_gate is None else tune_gate,
    )
    cfg = replace(src.config, post=post)
    src = replace(src, config=cfg)
    if data is None:
        sweep = run_sweep(src)
    else:
        ds = open_dataset(
            data, split=split, band_set=cfg.features.source, require_masks=True, nan_policy=cfg.data.nan_policy
        )
        sweep = sweep_run(src, ds, str(data), progress=progress)
    if not any(sweep.positive):
        raise DataError(f"{data if data is not None else run}: " + NO_LANDSLIDE_IMAGES.format(n=len(sweep.peaks)))
    choice = choose_post(sweep, cfg)
    tuned_on = {"data": str(data), "split": split} if data is not None else src.info.get("tuned_on", "its sweep")
    info = {
        **src.info,
        "threshold": choice.threshold,
        "gate": choice.gate,
        "metrics": choice.metrics,
        "tuned_on": tuned_on,
    }
    with output_dir(Path(out), overwrite) as tmp:
        for f in Path(run).iterdir():
            if f.is_file() and f.name not in ("config.toml", "run.json", "metrics.json", SWEEP_FILE):
                shutil.copy2(f, tmp / f.name)
        save_config(cfg, tmp / "config.toml")
        write_json(tmp / "run.json", info)
        write_json(tmp / "metrics.json", choice.metrics)
        sweep.save(tmp / SWEEP_FILE)
    return choice
