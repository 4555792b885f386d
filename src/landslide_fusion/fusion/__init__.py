"""Fusion: per-region mask statistics + tabular scores -> one landslide decision and a risk score."""

from ..lazy import lazy_exports
from ..moved import alias_moved_modules

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".compare": ["CompareResult", "compare_fusion", "mcnemar"],
        ".component_filter": ["ComponentFilter"],
        ".components": ["component_features"],
        ".config": ["FusionConfig"],
        ".crosscheck": ["CrossCheckFusion"],
        ".descriptors": ["describe_samples", "image_descriptors"],
        ".join": ["join_regions"],
        "..regions": ["region_stats"],
        ".methods": ["create_method", "get_method", "list_methods", "method_from_dict", "register_method"],
        ".risk": ["risk_classes"],
        ".stacking": ["IMAGE_FEATURES", "TABULAR_COLUMN", "StackingFusion"],
        ".texture": ["texture_descriptors"],
    },
)

#: Module paths of earlier releases -> where the module lives now (importing an old path warns).
MOVED = {f"{__name__}.run": f"{__name__}.workflow"}  # "run" already names a segmentation run
alias_moved_modules(MOVED)
__all__ += ["MOVED"]
