"""Inference: a saved run (bands -> BandEngineer -> Normalize -> network) predicting images and scenes."""

from ...lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".infer": ["SegmentationRun", "predict_proba"],
        ".predict": ["RegionPrediction", "predict_array", "predict_region", "predict_regions"],
        ".scene": ["predict_scene"],
    },
)
