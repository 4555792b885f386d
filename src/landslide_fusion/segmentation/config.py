"""Segmentation configuration (``configs/*.toml`` map onto these dataclasses)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

from ..config import names_of, setting

__all__ = [
    "NETWORK_MULTIPLE",
    "DataConfig",
    "FeatureConfig",
    "ModelConfig",
    "AugmentConfig",
    "TrainConfig",
    "PostConfig",
    "SceneConfig",
    "SegmentConfig",
]

#: Window sizes are multiples of this (the networks downsample 4 times): a training crop is the
#: window its run predicts with, so ``data.crop`` is declared with it.
NETWORK_MULTIPLE = 16


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
    val_fraction: float = setting(0.2, gt=0, lt=1)
    size: int = setting(0, ge=0)
    crop: int = setting(0, ge=0, multiple_of=NETWORK_MULTIPLE)
    cache: bool = (
        False  # true: keep resized patches in memory after their first read (resize mode; memory grows with the set)
    )
    normalization: str = setting("standard", choices=names_of("landslide_fusion.stats", "Normalization"))
    nan_policy: str = setting("raise", choices=names_of("landslide_fusion.io.validate", "NanPolicy"))


@dataclass(frozen=True)
class FeatureConfig:
    """Band engineering (:class:`~landslide_fusion.engineering.BandEngineer`): ``source`` bands to a ``preset``.

    ``median``: ``"exact"`` (the float median, the paper; the default, which also keeps runs made
    before the setting existed predicting as they did) or ``"uint8"`` (the authors' 8-bit median,
    computed by OpenCV on a CPU; with ``median_kernel = 15`` and ``blur = "box"`` it follows
    their code). ``docs/design.md`` gives the reasons for the default.
    """

    source: str = setting("l4s14", choices=names_of("landslide_fusion.bands", "BAND_SETS"))
    preset: str = setting("l4s23", choices=names_of("landslide_fusion.engineering.engineer", "PRESETS"))
    gaussian_kernel: int = setting(10, ge=1)
    median_kernel: int = setting(10, ge=1)
    blur: str = setting("gaussian", choices=names_of("landslide_fusion.engineering.derived", "BLURS"))
    median: str = setting("exact", choices=names_of("landslide_fusion.engineering.derived", "MEDIANS"))


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
    cutmix_prob: float = setting(0.5, ge=0, le=1)
    cutmix_max: int = setting(2, ge=0)
    jitter: float = setting(0.0, ge=0)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation. ``workers``: DataLoader worker processes (0 = read in the training process);
    ``negative_fraction``: share of landslide-free patches drawn per epoch (negative = as they
    occur in the training set); ``ema``: decay of an exponential moving average of the weights
    used for validation and the saved model (0 = off, e.g. 0.99); ``monitor``: the validation
    score that picks the best epoch and drives ``patience``: ``best_f1`` (landslide F1 at the best
    threshold of a sweep, the criterion the final threshold tuning maximises) or ``f1`` (at 0.5).
    ``final``: the run a k-fold (``--folds``) writes at its root for prediction: ``ensemble`` (its
    fold models averaged, the models its estimates measured;
    :mod:`~landslide_fusion.segmentation.inference.ensemble`) or ``refit`` (one more model trained
    on every image for ``epochs``).
    """

    epochs: int = setting(30, ge=1)
    batch_size: int = setting(16, ge=1)
    lr: float = setting(1e-3, gt=0)
    weight_decay: float = setting(1e-4, ge=0)
    optimizer: str = setting("adamw", choices=names_of("landslide_fusion.segmentation.training.train", "OPTIMIZERS"))
    scheduler: str = setting("cosine", choices=names_of("landslide_fusion.segmentation.training.train", "SCHEDULERS"))
    warmup_epochs: int = setting(1, ge=0)
    loss: str = "focal+iou"
    grad_clip: float = setting(1.0, ge=0)
    patience: int = setting(10, ge=1)
    seed: int = 0
    amp: bool = True
    channels_last: bool = True
    threads: int = setting(0, ge=0)
    workers: int = setting(0, ge=0)
    negative_fraction: float = setting(-1.0, le=1)
    ema: float = setting(0.0, ge=0, lt=1)
    monitor: str = setting("best_f1", choices=names_of("landslide_fusion.segmentation.training.train", "MONITORS"))
    max_seconds: float = setting(
        0.0, ge=0
    )  # time budget in seconds (0: none): the schedule spans it, training stops when it is spent; epochs: a bound
    final: str = setting("ensemble", choices=("ensemble", "refit"))
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass(frozen=True)
class PostConfig:
    """Post-processing of the probabilities into masks (chosen on validation by :mod:`.evaluation.tuning`).

    ``tta``: ``none``, ``rot90`` (4 views) or ``d4`` (8 views). ``tune_threshold``: sweep the
    pixel threshold on validation (else ``threshold``). ``tune_gate``: also sweep the image gate
    (else ``gate``; 0 = off): an image or patch keeps its mask only if its peak probability
    reaches the gate. ``landslide_free_share``: the share of landslide-free images or regions
    expected where the run will be used; the choice maximises F1 for that mix (negative: the
    validation split's own mix). ``opening``/``closing``: square sizes of the mask's
    morphology (0: off).
    """

    tta: str = setting("rot90", choices=names_of("landslide_fusion.segmentation.inference.infer", "TTA_MODES"))
    tune_threshold: bool = True
    threshold: float = setting(0.5, gt=0, lt=1)
    tune_gate: bool = False
    gate: float = setting(0.0, ge=0, le=1)
    landslide_free_share: float = setting(-1.0, lt=1)
    opening: int = setting(0, ge=0)
    closing: int = setting(0, ge=0)


@dataclass(frozen=True)
class SceneConfig:
    """Scene prediction (``segment predict --input scene.tif``).

    ``window``: sliding-window size in pixels (0: the training patch size, ``data.size``, or 128);
    ``overlap``: fraction of the window shared by neighbouring windows, blended with a cosine
    taper; ``band_map``: which input band feeds each model band, as ``"MODEL=INPUT"`` with INPUT a
    1-based band number or a band description (empty: by description, else in order);
    ``nodata``: input value marking missing pixels (default: the file's nodata).
    """

    window: int = setting(0, ge=0)
    overlap: float = setting(0.25, ge=0, lt=1)
    batch_size: int = setting(8, ge=1)
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
