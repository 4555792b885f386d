"""Tabular landslide classification: LightGBM with calibration, honest CV and SHAP."""

from .config import TabularConfig
from .cv import cross_validate_model, leakage_report
from .explain import shap_importance, shap_values, top_contributions
from .model import LandslideGBM
from .splits import SpatialBlockKFold, make_splitter

__all__ = [
    "TabularConfig",
    "cross_validate_model",
    "leakage_report",
    "shap_importance",
    "shap_values",
    "top_contributions",
    "LandslideGBM",
    "SpatialBlockKFold",
    "make_splitter",
]
