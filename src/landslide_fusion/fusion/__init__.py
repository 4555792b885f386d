"""Fusion: per-region mask statistics + tabular scores -> one landslide decision and a risk score."""

from .compare import CompareResult, compare_fusion, mcnemar
from .config import FusionConfig
from .crosscheck import CrossCheckFusion
from .descriptors import describe_samples, image_descriptors
from .join import join_regions
from ..regions import region_stats
from .methods import create_method, get_method, list_methods, method_from_dict, register_method
from .risk import risk_classes
from .stacking import IMAGE_FEATURES, TABULAR_COLUMN, StackingFusion

__all__ = [
    "CompareResult",
    "compare_fusion",
    "mcnemar",
    "FusionConfig",
    "CrossCheckFusion",
    "describe_samples",
    "image_descriptors",
    "join_regions",
    "create_method",
    "get_method",
    "list_methods",
    "method_from_dict",
    "register_method",
    "region_stats",
    "risk_classes",
    "IMAGE_FEATURES",
    "TABULAR_COLUMN",
    "StackingFusion",
]
