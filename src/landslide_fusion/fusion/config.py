"""Fusion configuration (``configs/fusion.toml``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import names_of, setting

from .stacking import IMAGE_FEATURES

__all__ = ["StackingConfig", "CrossCheckConfig", "ComponentsConfig", "RiskConfig", "FusionConfig"]


@dataclass(frozen=True)
class StackingConfig:
    """``meta``: ``logistic`` or ``lightgbm``; see :class:`~landslide_fusion.fusion.StackingFusion`.
    ``inputs``: which of ``image_columns`` the stacker takes (:mod:`~landslide_fusion.fusion.inputs`)."""

    meta: str = setting("logistic", choices=names_of("landslide_fusion.fusion.stacking", "META_LEARNERS"))
    C: float = setting(1.0, gt=0)
    inputs: str = setting("one-se", choices=names_of("landslide_fusion.fusion.inputs", "INPUT_RULES"))
    calibration: str = setting("sigmoid", choices=names_of("landslide_fusion.tabular.calibration", "CALIBRATIONS"))
    folds: int = setting(5, ge=2)
    threshold_rule: str = setting("f1", choices=("f1", "recall"))
    target_recall: float = setting(0.9, gt=0, le=1)


@dataclass(frozen=True)
class CrossCheckConfig:
    """``policy``: ``both``, ``either`` or ``weighted``; ``weight``: the tabular share; the
    model thresholds are tuned by max F1 on the training regions."""

    policy: str = setting("weighted", choices=names_of("landslide_fusion.fusion.crosscheck", "POLICIES"))
    weight: float = setting(0.5, ge=0, le=1)
    image_column: str = "max_probability"


@dataclass(frozen=True)
class ComponentsConfig:
    """``filter``: learn the component filter of the fused masks when the image side is a k-fold
    whose images are found (:mod:`~landslide_fusion.fusion.component_filter`); false keeps every
    landslide area of a confirmed region."""

    filter: bool = True


@dataclass(frozen=True)
class RiskConfig:
    edges: tuple[float, ...] = setting((0.25, 0.5, 0.75), gt=0, lt=1, increasing=True)


@dataclass(frozen=True)
class FusionConfig:
    """``method``: a registered fusion method (:func:`~landslide_fusion.fusion.methods.list_methods`;
    each reads its own section, ``[stacking]`` or ``[crosscheck]``). Region files join on ``id``; labels come from
    a ``label`` column of either side. ``on_missing``: ``error`` or ``drop`` for ids present on
    one side only. ``folds``: folds of ``fuse compare``. ``landslide_free_share``: the share of
    landslide-free regions expected where the fusion is used; decisions, risk scores and fused
    masks are made for it (:mod:`landslide_fusion.prior`; negative: the training regions' own mix),
    and ``fuse predict``/``fuse score``/``assess`` may declare another."""

    method: str = setting("stacking", choices=names_of("landslide_fusion.fusion.methods", "list_methods"))
    landslide_free_share: float = setting(-1.0, lt=1)
    id: str = "id"
    label: str = "label"
    image_columns: tuple[str, ...] = IMAGE_FEATURES
    on_missing: str = setting("error", choices=names_of("landslide_fusion.fusion.join", "ON_MISSING"))
    folds: int = setting(5, ge=2)
    seed: int = 0
    stacking: StackingConfig = field(default_factory=StackingConfig)
    crosscheck: CrossCheckConfig = field(default_factory=CrossCheckConfig)
    components: ComponentsConfig = field(default_factory=ComponentsConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
