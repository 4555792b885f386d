"""Evaluate a saved run on labelled data, scoring the masks exactly as ``segment predict`` writes them.

Each image is predicted at its own size through :func:`~landslide_fusion.segmentation.inference.predict.predict_region`
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
from ...io.atomic import output_dir
from ...io.open import open_dataset
from ...io.sample import Sample
from ..inference.infer import SegmentationRun
from ..inference.predict import RegionPrediction, predict_regions
from .scores import Scores

__all__ = ["evaluate_run", "Scores"]


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
    from ...prior import check_share
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
