"""Segmentation: band engineering, the RAU-Net family, losses, training and prediction."""

from .config import SegmentConfig
from .engineer import PRESETS, BandEngineer, list_presets
from .infer import SegmentationRun, predict_proba
from .losses import create_loss, list_losses
from .metrics import ConfusionMatrix
from .models import count_parameters, create_model, list_models
from .train import train_segmentation

__all__ = [
    "SegmentConfig",
    "PRESETS",
    "BandEngineer",
    "list_presets",
    "SegmentationRun",
    "predict_proba",
    "create_loss",
    "list_losses",
    "ConfusionMatrix",
    "count_parameters",
    "create_model",
    "list_models",
    "train_segmentation",
]
