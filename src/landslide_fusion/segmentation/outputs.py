"""Write predictions: a folder of images, or one scene, to an output folder (``segment predict``).

A folder: every image predicted at its own size through
:func:`~landslide_fusion.segmentation.inference.predict.predict_regions`, written as ``masks/ID.png``
(0/255, the masks the region statistics count), ``probabilities/ID.tif`` (float32, NaN where
the image has no data, georeferenced when the input is) and ``predictions.csv`` (the region
statistics of each image: the image side of fusion). A file: the scene path
(:func:`~landslide_fusion.segmentation.inference.scene.predict_scene`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..io.atomic import output_dir, write_json
from ..prior import check_share, declared_share
from ..io.open import open_dataset, refuse_table
from ..io.raster import write_geotiff
from ..io.sample import Sample
from ..io.tables import write_table
from .inference.infer import SegmentationRun
from .inference.predict import RegionPrediction, predict_regions

__all__ = ["predict_dataset", "predict_input", "prior_of"]


def predict_dataset(
    run: str | os.PathLike[str] | SegmentationRun,
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    split: str | None = None,
    tta: str | None = None,
    overwrite: bool = False,
    nan_policy: str = "raise",
    progress: bool = False,
) -> dict:
    """Predict every image of ``data`` at its own size into ``out`` (see the module docstring)."""
    run = run if isinstance(run, SegmentationRun) else SegmentationRun.load(run)
    ds = open_dataset(data, split=split, band_set=run.config.features.source, nan_policy=nan_policy)
    with output_dir(out, overwrite) as tmp:
        (tmp / "probabilities").mkdir()
        (tmp / "masks").mkdir()

        def save(sample: Sample, pred: RegionPrediction) -> None:
            write_geotiff(tmp / "probabilities" / f"{sample.id}.tif", pred.probability, sample.geo)
            Image.fromarray(pred.mask.astype(np.uint8) * 255).save(tmp / "masks" / f"{sample.id}.png")

        stats = predict_regions(run, ds, str(data), tta=tta, each=save, progress=progress)
        write_table(stats.reset_index(), tmp / "predictions.csv")
        write_json(
            tmp / "prediction.json",
            {
                "run": str(Path(run.path)),
                "data": str(data),
                "split": split,
                "threshold": run.threshold,
                "gate": run.gate,
                "landslide_free_share": prior_of(run),
                "n_patches": len(stats),
            },
        )
    return {
        "kind": "folder",
        "out": str(out),
        "n_patches": len(stats),
        "threshold": run.threshold,
        "gate": run.gate,
        "landslide_free_share": prior_of(run),
        "landslide_patches": int((stats["n_components"] > 0).sum()),
    }


def prior_of(run: SegmentationRun) -> float | None:
    """The share of landslide-free regions the run's threshold and gate are chosen for (None: its
    tuning data's own mix)."""
    return declared_share(run.config.post.landslide_free_share)


def predict_input(
    run: str | os.PathLike[str],
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    split: str | None = None,
    tta: str | None = None,
    band_map: tuple[str, ...] | None = None,
    window: int | None = None,
    overlap: float | None = None,
    nodata: float | None = None,
    polygons: bool = True,
    engine: str = "torch",
    landslide_free_share: float | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> dict:
    """``segment predict``: a dataset folder (:func:`predict_dataset`) or one scene file of any size
    (:func:`~landslide_fusion.segmentation.inference.scene.predict_scene`); the result's ``kind`` says which.
    With ``landslide_free_share`` the run's threshold and gate are chosen again for that share
    (:func:`~.evaluation.tuning.run_for_share`)."""
    from .evaluation.tuning import run_for_share

    refuse_table(source)
    check_share(landslide_free_share)
    loaded = run_for_share(SegmentationRun.load(run, engine=engine), landslide_free_share)
    from .inference.scene import SCENE_SUFFIXES, predict_scene

    source = Path(source)  # a missing file named like a scene is reported as a missing scene, not a folder
    if source.is_file() or (not source.is_dir() and source.suffix.lower() in SCENE_SUFFIXES):
        r = predict_scene(
            loaded,
            source,
            out,
            band_map=band_map,
            window=window,
            overlap=overlap,
            tta=tta,
            nodata=nodata,
            polygons=polygons,
            engine=engine,
            overwrite=overwrite,
            progress=progress,
        )
        return {"kind": "scene", **r, "landslide_free_share": prior_of(loaded)}
    return predict_dataset(loaded, source, out, split=split, tta=tta, overwrite=overwrite, progress=progress)
