"""Segmentation configuration (``configs/*.toml`` map onto these dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DataConfig", "FeatureConfig", "ModelConfig", "AugmentConfig", "TrainConfig", "PostConfig", "SceneConfig", "SegmentConfig"]


@dataclass(frozen=True)
class DataConfig:
    """Where the patches come from and how they are split.

    ``train_split``/``val_split`` name split lists of an image folder (``splits/NAME.txt``);
    without ``val_split`` a stratified ``val_fraction`` of the training set is held out (the
    research's 80/20). ``size`` resizes every patch to ``size`` x ``size`` (needed when sizes vary).
    ``crop`` (pixels, 0 = off) trains instead on random ``crop`` x ``crop`` windows of each image
    at its own resolution (images smaller than the crop are reflect-padded, mask included), and
    validates on whole images at their own size; it replaces ``size``.
    """

    root: str = ""
    train_split: str = ""
    val_split: str = ""
    val_fraction: float = 0.2
    size: int = 0
    crop: int = 0
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
    name: str = "rau-net-small"
    attention: str = "mha"
    heads: str = "multi"
    widths: tuple[int, ...] = ()


@dataclass(frozen=True)
class AugmentConfig:
    rotate: bool = True
    cutmix_prob: float = 0.5
    cutmix_max: int = 2
    jitter: float = 0.0


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation. ``workers``: DataLoader worker processes (0 = read in the training process);
    ``negative_fraction``: share of landslide-free patches drawn per epoch (negative = as they
    occur in the training set); ``ema``: decay of an exponential moving average of the weights
    used for validation and the saved model (0 = off, e.g. 0.99); ``monitor``: the validation
    score that picks the best epoch and drives ``patience``: ``best_f1`` (landslide F1 at the best
    threshold of a sweep, the criterion the final threshold tuning maximises) or ``f1`` (at 0.5).
    """

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
    workers: int = 0
    negative_fraction: float = -1.0
    ema: float = 0.0
    monitor: str = "best_f1"
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
