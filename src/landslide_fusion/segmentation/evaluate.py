"""Evaluate a saved run on labelled data, scoring the masks exactly as ``segment predict`` writes them.

Each image is predicted at its own size through :func:`~landslide_fusion.segmentation.predict.predict_region`
(the run's TTA, threshold and morphology) and compared with its native-size ground truth, so the
figures are those a user gets from the written masks. Pixels that are nodata in the image are
not scored. Reported:

* set-level landslide precision, recall, F1, IoU (and mIoU, mean-of-classes F1) over all pixels;
* ``landslide_images``: the same figures over the images that hold landslides only;
* ``landslide_free_images``: on images without landslides, the fraction of their pixels predicted
  as landslide (``false_positive_fraction``), the share of those images with any false positive,
  and the mean false-positive area per image in pixels;
* ``image_detection``: precision/recall/F1 of "the image holds a landslide" (any mask pixel).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch

from ..io.atomic import output_dir
from ..io.open import open_dataset
from ..io.sample import Sample
from ..prior import prior_weight
from ..regions import has_landslide
from .infer import SegmentationRun
from .metrics import ConfusionMatrix
from .predict import RegionPrediction, predict_regions

__all__ = ["evaluate_run", "Scores"]


@dataclass
class Scores:
    """Running counts of an evaluation (see the module docstring), kept apart for images with and
    without landslides so that :meth:`as_dict` can report them at any mix of the two."""

    landslide_pixels: ConfusionMatrix = field(default_factory=ConfusionMatrix)
    free_pixels: ConfusionMatrix = field(default_factory=ConfusionMatrix)
    landslide_images: int = 0
    landslide_images_detected: int = 0
    free_images: int = 0
    free_images_detected: int = 0

    def update(self, truth: np.ndarray, pred: RegionPrediction) -> None:
        """Add one image: native-size 0/1 ground truth and its prediction."""
        t = torch.from_numpy(np.asarray(truth)[pred.valid] == 1)
        self.add(ConfusionMatrix().update(torch.from_numpy(pred.mask[pred.valid] == 1), t), has_landslide(truth))

    def add(self, counts: ConfusionMatrix, positive: bool) -> None:
        """Add one image by its pixel counts and its label (any landslide pixel in the truth)."""
        detected = int(counts.tp + counts.fp > 0)
        if positive:
            self.landslide_pixels += counts
            self.landslide_images += 1
            self.landslide_images_detected += detected
        else:
            self.free_pixels += counts
            self.free_images += 1
            self.free_images_detected += detected

    def as_dict(self, landslide_free_share: float | None = None) -> dict:
        """The figures over the images as they are, or, with ``landslide_free_share``, expected at
        that mix: every landslide-free image counts ``w`` times (:func:`~landslide_fusion.prior.prior_weight`)."""
        w = prior_weight(landslide_free_share, self.landslide_images, self.free_images)
        n = max(self.free_images, 1)
        free = self.free_pixels
        images = ConfusionMatrix(
            self.landslide_images_detected,
            w * self.free_images_detected,
            self.landslide_images - self.landslide_images_detected,
            w * (self.free_images - self.free_images_detected),
        ).as_dict()
        out = {
            **(self.landslide_pixels + free.scaled(w)).as_dict(),
            "landslide_images": {"n": self.landslide_images, **self.landslide_pixels.as_dict()},
            "landslide_free_images": {
                "n": self.free_images,
                "false_positive_fraction": free.fp / max(free.fp + free.tn, 1),
                "images_with_false_positives": self.free_images_detected / n,
                "mean_false_positive_pixels": free.fp / n,
            },
            "image_detection": {k: images[k] for k in ("precision", "recall", "f1", "tp", "fp", "fn", "tn")},
        }
        if landslide_free_share is not None:
            out.update(landslide_free_share=landslide_free_share, prior_weight=w)
        return out


def evaluate_run(
    run: str | os.PathLike[str] | SegmentationRun,
    data: str | os.PathLike[str],
    split: str | None = None,
    tta: str | None = None,
    nan_policy: str = "raise",
    overlays: str | os.PathLike[str] | None = None,
    max_overlays: int = 16,
    landslide_free_share: float | None = None,
    progress: bool = False,
) -> dict:
    """Metrics of ``run`` on labelled ``data`` at native size (see the module docstring); with
    ``overlays``, PNG overlays of the first ``max_overlays`` images go there. With
    ``landslide_free_share`` the run's threshold and gate are those for that share
    (:func:`~.tuning.run_for_share`), and ``at_prior`` holds the figures expected where that share
    of the regions hold no landslide: the data's landslide-free images weighted to it."""
    from ..prior import check_share
    from .plots import write_overlays
    from .tuning import run_for_share

    share = check_share(landslide_free_share)
    run = run if isinstance(run, SegmentationRun) else SegmentationRun.load(run)
    run = run_for_share(run, share)
    ds = open_dataset(data, split=split, band_set=run.config.features.source, require_masks=True, nan_policy=nan_policy)
    scores = Scores()
    drawn: list[tuple[Sample, RegionPrediction]] = []

    def score(sample: Sample, pred: RegionPrediction) -> None:
        scores.update(sample.mask, pred)
        if overlays is not None and len(drawn) < max_overlays:
            drawn.append((sample, pred))

    frame = predict_regions(run, ds, str(data), tta=tta, each=score, progress=progress)
    post = run.config.post
    result = {
        "run": str(run.path),
        "data": str(data),
        "split": split,
        "n_images": len(frame),
        "threshold": run.threshold,
        "gate": run.gate,
        "tta": tta or post.tta,
        "opening": post.opening,
        "closing": post.closing,
        "scored_at": "native size, masks as 'segment predict' writes them",
        **scores.as_dict(),
        "at_prior": scores.as_dict(share) if share is not None else None,
    }
    if overlays is not None:
        with output_dir(overlays, overwrite=False) as tmp:
            for sample, pred in drawn:
                write_overlays(
                    sample.image[None],
                    sample.mask[None],
                    pred.probability[None],
                    pred.mask[None],
                    [sample.id],
                    run.config.features.source,
                    tmp,
                )
        result["overlays"] = str(overlays)
    return result
