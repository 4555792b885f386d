"""Tabular configuration (``configs/tabular.toml``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import names_of, setting

__all__ = ["GBMConfig", "CVConfig", "TabularConfig"]


@dataclass(frozen=True)
class GBMConfig:
    n_estimators: int = setting(1500, ge=1)
    learning_rate: float = setting(0.02, gt=0)
    num_leaves: int = setting(7, ge=2)
    min_child_samples: int = setting(50, ge=1)
    subsample: float = setting(0.8, gt=0, le=1)
    colsample_bytree: float = setting(0.6, gt=0, le=1)
    reg_lambda: float = setting(1.0, ge=0)
    class_weight: str = setting("balanced", choices=("balanced", "none"))
    early_stopping_rounds: int = setting(150, ge=1)
    validation_fraction: float = setting(0.15, gt=0, lt=1)
    calibration: str = setting("auto", choices=names_of("landslide_fusion.tabular.calibration", "CALIBRATIONS"))
    calibration_folds: int = setting(3, ge=2)
    threshold_rule: str = setting("f1", choices=("f1", "recall"))
    target_recall: float = setting(0.9, gt=0, le=1)
    random_state: int = 0
    threads: int = setting(0, ge=-1)  # LightGBM threads: 0 by table size (1 below 20,000 rows), -1 every core


@dataclass(frozen=True)
class CVConfig:
    splitter: str = setting("stratified", choices=names_of("landslide_fusion.tabular.splits", "SPLITTERS"))
    folds: int = setting(5, ge=2)
    block_size: float = setting(1000.0, gt=0)
    group: str = ""


@dataclass(frozen=True)
class TabularConfig:
    """``label``: the class column (0/1, true/false, yes/no, or any two classes with
    ``positive``); ``positive``: the label of the landslide class, e.g. ``wet`` (empty: 1/true/yes);
    ``id``: region id (never a feature); ``coords``: x/y columns (used by spatial CV; features
    only if ``coords_as_features``); ``categorical``: columns to treat as categories; ``exclude``:
    id-like or leaking columns to drop."""

    label: str = "landslide"
    positive: str = ""
    id: str = ""
    coords: tuple[str, ...] = ()
    coords_as_features: bool = False
    categorical: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    gbm: GBMConfig = field(default_factory=GBMConfig)
    cv: CVConfig = field(default_factory=CVConfig)
