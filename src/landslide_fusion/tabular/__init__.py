"""Tabular landslide classification: LightGBM with calibration, honest CV and SHAP."""

from ..lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".config": ["TabularConfig"],
        ".cv": ["cross_validate_model", "leakage_report"],
        ".explain": ["shap_importance", "shap_values", "top_contributions"],
        ".model": ["LandslideGBM"],
        ".splits": ["SpatialBlockKFold", "make_splitter"],
    },
)
