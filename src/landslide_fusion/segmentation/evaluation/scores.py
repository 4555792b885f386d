"""Running counts of a segmentation evaluation, kept per class of image so that one set of counts
gives the figures at any mix of images with and without landslides.

With ``w`` = :func:`~landslide_fusion.prior.prior_weight` (each landslide-free image counted ``w``
times, so that the landslide-free share of the weighted set is the declared one), the pixel
confusion matrix at that mix is ``C_landslide + w * C_free`` and precision, recall and F1 follow
from it; with no share declared, ``w = 1`` (the images as they are).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from ...prior import prior_weight
from ...regions import has_landslide
from .metrics import ConfusionMatrix

if TYPE_CHECKING:
    from ..inference.predict import RegionPrediction

__all__ = ["Scores"]


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

    def add_images(self, counts: np.ndarray, positive: Iterable[bool]) -> "Scores":
        """Add images by their (images, 4) pixel counts TP, FP, FN, TN and labels; returns self."""
        for row, label in zip(np.asarray(counts), positive):
            self.add(ConfusionMatrix(*(int(v) for v in row)), bool(label))
        return self

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
