"""Segmentation: band engineering, the RAU-Net family, losses, training and prediction."""

from ..lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".config": ["SegmentConfig"],
        ".engineer": ["PRESETS", "BandEngineer", "list_presets"],
        ".infer": ["SegmentationRun", "predict_proba"],
        ".losses": ["create_loss", "list_losses", "register_loss"],
        ".metrics": ["ConfusionMatrix"],
        ".models": ["count_parameters", "create_model", "list_models"],
        ".train": ["train_segmentation"],
    },
)
