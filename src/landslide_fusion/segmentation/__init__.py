"""Segmentation: the RAU-Net family, losses, training and prediction."""

from ..lazy import lazy_exports
from ..moved import alias_moved_modules

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".config": ["SegmentConfig"],
        "..engineering.engineer": ["PRESETS", "BandEngineer", "list_presets"],
        ".infer": ["SegmentationRun", "predict_proba"],
        ".losses": ["create_loss", "list_losses", "register_loss"],
        ".metrics": ["ConfusionMatrix"],
        ".models": ["count_parameters", "create_model", "list_models"],
        ".train": ["train_segmentation"],
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
    }.items()
}
alias_moved_modules(MOVED)
