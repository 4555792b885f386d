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
from ..regions import has_landslide
from .infer import SegmentationRun
from .metrics import ConfusionMatrix
from .predict import RegionPrediction, predict_regions

__all__ = ["evaluate_run", "Scores"]


@dataclass
class Scores:
    """Running counts of an evaluation (see the module docstring)."""

    pixels: ConfusionMatrix = field(default_factory=ConfusionMatrix)
    landslide_pixels: ConfusionMatrix = field(default_factory=ConfusionMatrix)
    images: ConfusionMatrix = field(default_factory=ConfusionMatrix)
    free_images: int = 0
    free_pixels: int = 0
    free_false_positives: int = 0
    free_images_with_false_positives: int = 0

    def update(self, truth: np.ndarray, pred: RegionPrediction) -> None:
        """Add one image: native-size 0/1 ground truth and its prediction."""
        t = torch.from_numpy(np.asarray(truth)[pred.valid] == 1)
        self.add(ConfusionMatrix().update(torch.from_numpy(pred.mask[pred.valid] == 1), t), has_landslide(truth))

    def add(self, counts: ConfusionMatrix, positive: bool) -> None:
        """Add one image by its pixel counts and its label (any landslide pixel in the truth)."""
        self.pixels += counts
        if positive:
            self.landslide_pixels += counts
        detected = counts.tp + counts.fp > 0
        self.images.update(torch.tensor([detected]), torch.tensor([positive]))
        if not positive:
            self.free_images += 1
            self.free_pixels += counts.fp + counts.tn
            self.free_false_positives += counts.fp
            self.free_images_with_false_positives += int(counts.fp > 0)

    def as_dict(self) -> dict:
        n = max(self.free_images, 1)
        image = self.images.as_dict()
        return {
            **self.pixels.as_dict(),
            "landslide_images": {"n": self.images.tp + self.images.fn, **self.landslide_pixels.as_dict()},
            "landslide_free_images": {
                "n": self.free_images,
                "false_positive_fraction": self.free_false_positives / max(self.free_pixels, 1),
                "images_with_false_positives": self.free_images_with_false_positives / n,
                "mean_false_positive_pixels": self.free_false_positives / n,
            },
            "image_detection": {k: image[k] for k in ("precision", "recall", "f1", "tp", "fp", "fn", "tn")},
        }


def evaluate_run(
    run: str | os.PathLike[str] | SegmentationRun, data: str | os.PathLike[str], split: str | None = None,
    tta: str | None = None, nan_policy: str = "raise", overlays: str | os.PathLike[str] | None = None,
    max_overlays: int = 16, progress: bool = False,
) -> dict:
    """Metrics of ``run`` on labelled ``data`` at native size (see the module docstring); with
    ``overlays``, PNG overlays of the first ``max_overlays`` images go there."""
    from .plots import write_overlays

    run = run if isinstance(run, SegmentationRun) else SegmentationRun.load(run)
    ds = open_dataset(data, split=split, band_set=run.config.features.source, require_masks=True, nan_policy=nan_policy)
    scores = Scores()
    drawn: list[tuple[Sample, RegionPrediction]] = []

    def score(sample: Sample, pred: RegionPrediction) -> None:
        scores.update(sample.mask, pred)
        if overlays is not None and len(drawn) < max_overlays:
            drawn.append((sample, pred))

    frame = predict_regions(run, ds, str(data), tta=tta, each=score, progress=progress)
    post = run.config.post
    result = {"run": str(run.path), "data": str(data), "split": split, "n_images": len(frame),
              "threshold": run.threshold, "gate": run.gate, "tta": tta or post.tta, "opening": post.opening, "closing": post.closing,
              "scored_at": "native size, masks as 'segment predict' writes them", **scores.as_dict()}
    if overlays is not None:
        with output_dir(overlays, overwrite=False) as tmp:
            for sample, pred in drawn:
                write_overlays(sample.image[None], sample.mask[None], pred.probability[None], pred.mask[None],
                               [sample.id], run.config.features.source, tmp)
        result["overlays"] = str(overlays)
    return result
