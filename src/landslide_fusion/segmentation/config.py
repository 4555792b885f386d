"""Segmentation configuration (``configs/*.toml`` map onto these dataclasses)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

__all__ = ["DataConfig", "FeatureConfig", "ModelConfig", "AugmentConfig", "TrainConfig", "PostConfig", "SceneConfig", "SegmentConfig"]


@dataclass(frozen=True)
class DataConfig:
    """Where the patches come from and how they are split.

    ``train_split``/``val_split`` name split lists of an image folder (``splits/NAME.txt``);
    without ``val_split`` a stratified ``val_fraction`` of the training set is held out (the
    research's 80/20). ``size`` resizes every patch to ``size`` x ``size`` (needed when sizes vary).
    """

    root: str = ""
    train_split: str = ""
    val_split: str = ""
    val_fraction: float = 0.2
    size: int = 0
    normalization: str = "standard"
    nan_policy: str = "raise"


@dataclass(frozen=True)
class FeatureConfig:
    source: str = "l4s14"
    preset: str = "l4s23"
    gaussian_kernel: int = 10
    median_kernel: int = 10
    blur: str = "gaussian"


@dataclass(frozen=True)
class ModelConfig:
    """The network: ``name`` (``landslide segment models`` lists them) and ``options``, the
    ``[model.options]`` table checked against that model's options dataclass (unknown keys list
    the model's valid keys); stored complete (defaults filled in) so a run records them all.

    ``init_from``: a local state dict (``torch.save(model.state_dict())``, or a run's
    ``model.pt``) to start training from, read with ``weights_only=True``, keys and shapes checked.
    ``attention``, ``heads``, ``widths``: the former top-level keys of the U-Net family, still
    accepted (moved into ``options``) so older configs and run folders load.
    """

    name: str = "rau-net-small"
    options: dict[str, Any] = field(default_factory=dict)
    init_from: str = ""
    attention: str | None = None
    heads: str | None = None
    widths: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        from .models import parse_options

        legacy = {k: getattr(self, k) for k in ("attention", "heads", "widths") if getattr(self, k) is not None}
        if legacy.get("widths") == ():  # old runs wrote widths = [] for "the model's default"
            del legacy["widths"]
        both = sorted(set(legacy) & set(self.options))
        if both:
            raise ConfigError(f"model.{both[0]} and model.options.{both[0]} are both set; keep model.options.{both[0]}")
        opts = parse_options(self.name, {**self.options, **legacy})
        object.__setattr__(self, "options", dataclasses.asdict(opts))
        for k in ("attention", "heads", "widths"):
            object.__setattr__(self, k, None)


@dataclass(frozen=True)
class AugmentConfig:
    rotate: bool = True
    cutmix_prob: float = 0.5
    cutmix_max: int = 2
    jitter: float = 0.0


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    scheduler: str = "cosine"
    warmup_epochs: int = 1
    loss: str = "focal+iou"
    grad_clip: float = 1.0
    patience: int = 10
    seed: int = 0
    amp: bool = True
    channels_last: bool = True
    threads: int = 0
    max_seconds: float = 0.0  # stop after the epoch that passes this many seconds of training (0: no limit)
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass(frozen=True)
class PostConfig:
    """Post-processing: ``tta`` is ``none``, ``rot90`` (4 views) or ``d4`` (8 views)."""

    tta: str = "rot90"
    tune_threshold: bool = True
    threshold: float = 0.5
    opening: int = 0
    closing: int = 0


@dataclass(frozen=True)
class SceneConfig:
    """Scene prediction (``segment predict --input scene.tif``).

    ``window``: sliding-window size in pixels (0: the training patch size, ``data.size``, or 128);
    ``overlap``: fraction of the window shared by neighbouring windows, blended with a cosine
    taper; ``band_map``: which input band feeds each model band, as ``"MODEL=INPUT"`` with INPUT a
    1-based band number or a band description (empty: by description, else in order);
    ``nodata``: input value marking missing pixels (default: the file's nodata).
    """

    window: int = 0
    overlap: float = 0.25
    batch_size: int = 8
    band_map: tuple[str, ...] = ()
    nodata: float | None = None


@dataclass(frozen=True)
class SegmentConfig:
    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    post: PostConfig = field(default_factory=PostConfig)
    scene: SceneConfig = field(default_factory=SceneConfig)
