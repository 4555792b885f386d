"""Segmentation networks: one file per architecture, each registered with its options dataclass.

``list_models()`` names them; ``create_model(name, in_channels, **options)`` builds one;
``landslide segment models`` prints them with parameter counts. All are native PyTorch in the
project's block vocabulary (``segmentation/blocks.py``; see docs/design.md, "Model zoo", for why
not timm/smp). Every model takes any band count and input size and follows the contract of
:mod:`.heads`: eval-mode logits (B, 1, H, W) at input size, :class:`HeadOutputs` in train mode.
"""

from __future__ import annotations

from . import unet  # noqa: F401 (registers first: the RAU-Net family heads the list)
from . import deeplab, mobilenet, efficientnet, vnet, squeeze_unet, swin_unet, segformer  # noqa: F401,I001
from .heads import HeadOutputs, SegmentationNet, pad_to_multiple
from .registry import (
    HEADS,
    HeadOptions,
    count_parameters,
    create_model,
    describe_model,
    describe_models,
    list_models,
    options_class,
    parse_options,
    register_model,
)
from .unet import Decoder, Encoder, SegmentationModel
from .initial_weights import load_initial_weights

__all__ = [
    "HEADS",
    "HeadOptions",
    "HeadOutputs",
    "SegmentationNet",
    "SegmentationModel",
    "Encoder",
    "Decoder",
    "pad_to_multiple",
    "count_parameters",
    "create_model",
    "describe_model",
    "describe_models",
    "list_models",
    "options_class",
    "parse_options",
    "register_model",
    "load_initial_weights",
]
