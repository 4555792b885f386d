"""Fusion configuration (``configs/fusion.toml``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .stacking import IMAGE_FEATURES

__all__ = ["StackingConfig", "CrossCheckConfig", "RiskConfig", "FusionConfig"]


@dataclass(frozen=True)
class StackingConfig:
    """``meta``: ``logistic`` or ``lightgbm``; see :class:`~landslide_fusion.fusion.StackingFusion`."""

    meta: str = "logistic"
    C: float = 1.0
    calibration: str = "sigmoid"
    folds: int = 5
    threshold_rule: str = "f1"
    target_recall: float = 0.9


@dataclass(frozen=True)
class CrossCheckConfig:
    """``policy``: ``both``, ``either`` or ``weighted``; ``weight``: the tabular share; the
    model thresholds are tuned by max F1 on the training regions."""

    policy: str = "weighted"
    weight: float = 0.5
    image_column: str = "max_probability"


@dataclass(frozen=True)
class RiskConfig:
    edges: tuple[float, ...] = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class FusionConfig:
    """``method``: a registered fusion method (:func:`~landslide_fusion.fusion.methods.list_methods`;
    each reads its own section, ``[stacking]`` or ``[crosscheck]``). Region files join on ``id``; labels come from
    a ``label`` column of either side. ``on_missing``: ``error`` or ``drop`` for ids present on
    one side only. ``folds``: folds of ``fuse compare``."""

    method: str = "stacking"
    id: str = "id"
    label: str = "label"
    image_columns: tuple[str, ...] = IMAGE_FEATURES
    on_missing: str = "error"
    folds: int = 5
    seed: int = 0
    stacking: StackingConfig = field(default_factory=StackingConfig)
    crosscheck: CrossCheckConfig = field(default_factory=CrossCheckConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
