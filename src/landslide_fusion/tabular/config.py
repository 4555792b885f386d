"""Tabular configuration (``configs/tabular.toml``)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["GBMConfig", "CVConfig", "TabularConfig"]


@dataclass(frozen=True)
class GBMConfig:
    n_estimators: int = 1500
    learning_rate: float = 0.02
    num_leaves: int = 7
    min_child_samples: int = 50
    subsample: float = 0.8
    colsample_bytree: float = 0.6
    reg_lambda: float = 1.0
    class_weight: str = "balanced"
    early_stopping_rounds: int = 150
    validation_fraction: float = 0.15
    calibration: str = "auto"
    calibration_folds: int = 3
    threshold_rule: str = "f1"
    target_recall: float = 0.9
    random_state: int = 0


@dataclass(frozen=True)
class CVConfig:
    splitter: str = "stratified"
    folds: int = 5
    block_size: float = 1000.0
    group: str = ""


@dataclass(frozen=True)
class TabularConfig:
    """``label``: the 0/1 column; ``id``: region id (never a feature); ``coords``: x/y columns
    (used by spatial CV; features only if ``coords_as_features``); ``categorical``: columns to
    treat as categories; ``exclude``: id-like or leaking columns to drop."""

    label: str = "landslide"
    id: str = ""
    coords: tuple[str, ...] = ()
    coords_as_features: bool = False
    categorical: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    gbm: GBMConfig = field(default_factory=GBMConfig)
    cv: CVConfig = field(default_factory=CVConfig)
