"""Segmentation: the RAU-Net family (models/), its prediction (inference/), scoring and tuning
(evaluation/) and training (training/).

Inside the package, imports point down this map (``tests/test_layers.py`` checks it as it checks
the package's layers)::

    cli.py                          segment commands
    training/  outputs.py           training, k-fold and its out-of-fold maps, ablation; what segment predict writes
    evaluation/                     metrics, scores, threshold and gate tuning, evaluate, plots
    inference/                      a saved run: pipeline, windows, images, scenes, ONNX, Dask
    config.py                       a run's settings
    models/                         the networks
    blocks.py names.py patches.py weight_files.py
"""

from ..lazy import lazy_exports
from ..moved import alias_moved_modules

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".config": ["SegmentConfig"],
        "..engineering.engineer": ["PRESETS", "BandEngineer", "list_presets"],
        ".inference.infer": ["SegmentationRun", "predict_proba"],
        ".training.losses": ["create_loss", "list_losses", "register_loss"],
        ".evaluation.metrics": ["ConfusionMatrix"],
        ".models": ["count_parameters", "create_model", "list_models"],
        ".training.train": ["train_segmentation"],
    },
)

#: Module paths of earlier releases -> where the module lives now (importing an old path warns).
MOVED = {
    f"{__name__}.{old}": f"landslide_fusion.{new}"
    for old, new in {
        "engineer": "engineering.engineer",
        "derived": "engineering.derived",
        "filters": "engineering.filters",
        "sortnet": "engineering.sortnet",
        "opencv": "engineering.opencv",
        "data": "segmentation.patches",
        "weights": "segmentation.weight_files",
        "models.weights": "segmentation.models.initial_weights",
        "infer": "segmentation.inference.infer",
        "pipeline": "segmentation.inference.pipeline",
        "tiling": "segmentation.inference.tiling",
        "predict": "segmentation.inference.predict",
        "scene": "segmentation.inference.scene",
        "onnx": "segmentation.inference.onnx",
        "export": "segmentation.inference.export",
        "distributed": "segmentation.inference.dask_scenes",
        "metrics": "segmentation.evaluation.metrics",
        "scores": "segmentation.evaluation.scores",
        "tuning": "segmentation.evaluation.tuning",
        "evaluate": "segmentation.evaluation.evaluate",
        "plots": "segmentation.evaluation.plots",
        "train": "segmentation.training.train",
        "dataset": "segmentation.training.dataset",
        "augment": "segmentation.training.augment",
        "losses": "segmentation.training.losses",
        "checkpoint": "segmentation.training.checkpoint",
        "ablate": "segmentation.training.ablate",
    }.items()
}
alias_moved_modules(MOVED)
__all__ += ["MOVED"]
