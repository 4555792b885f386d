"""The model registry: each architecture registers a builder with its own options dataclass.

A new architecture is one file plus one decorator::

    @dataclass(frozen=True)
    class MyOptions(HeadOptions):
        width: int = 32

    @register_model("my-net", options=MyOptions, description="what it is, its paper")
    def my_net(in_channels: int, options: MyOptions) -> nn.Module: ...

``create_model(name, in_channels, **options)`` checks ``options`` against that dataclass
(unknown key: an error listing the model's valid keys; wrong type: an error naming the key), and
unknown names get an error listing the registered ones (the smp/timm convention).

Each option declares its valid values where it is defined, like every other setting
(:func:`~landslide_fusion.config.setting`: ``width: float = setting(0.9, gt=0)``,
``decoder: tuple[int, ...] = setting(..., ge=1, length=5)``); rules between options (a width
divisible by a head count) go in the dataclass's :meth:`HeadOptions.check`. Both are checked
whenever options are parsed, so a bad value is one line naming ``model.options.KEY``, the value,
the range and a valid value, before any model is built.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, NamedTuple

from torch import nn

from ...config import check_ranges, config_source, from_dict, origin_of
from ...errors import ConfigError
from ...registry import Registry

__all__ = [
    "HEADS",
    "HeadOptions",
    "option_error",
    "ModelEntry",
    "register_model",
    "list_models",
    "describe_model",
    "options_class",
    "parse_options",
    "create_model",
    "count_parameters",
    "describe_models",
]

HEADS = ("mono", "multi", "dual")
#: The dotted prefix of model options in a segmentation config.
PREFIX = "model.options."


def option_error(key: str, value: Any, problem: str) -> ConfigError:
    """``model.options.KEY = VALUE PROBLEM (from --set ...)``: a rule between options broken."""
    origin = origin_of(PREFIX + key)
    shown = list(value) if isinstance(value, tuple) else value
    return ConfigError(f"{PREFIX}{key} = {shown!r} {problem}" + (f" ({origin})" if origin else ""))


@dataclass(frozen=True)
class HeadOptions:
    """Base of every options dataclass: the ``heads`` option, checked against the heads the
    architecture supports (``supported_heads``, a class variable), and :meth:`check`."""

    supported_heads: ClassVar[tuple[str, ...]] = HEADS
    heads: str = "mono"

    def __post_init__(self) -> None:
        if self.heads not in self.supported_heads:
            raise option_error(
                "heads", self.heads, f"is not supported by this model; valid: {', '.join(self.supported_heads)}"
            )

    def check(self) -> None:
        """Rules between options, checked after each option's declared range (none here);
        raise :func:`option_error`."""


class ModelEntry(NamedTuple):
    builder: Callable[[int, Any], nn.Module]
    options: type
    description: str


_REGISTRY: Registry[ModelEntry] = Registry("model", ConfigError)


def register_model(
    name: str, *, options: type, description: str
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator adding ``builder(in_channels, options)`` under ``name`` with its options dataclass."""
    if not dataclasses.is_dataclass(options):
        raise TypeError(f"register_model({name!r}): options must be a dataclass, got {options!r}")

    def deco(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _REGISTRY.register(name, ModelEntry(fn, options, description))
        return fn

    return deco


def _lookup(name: str) -> ModelEntry:
    return _REGISTRY.lookup(name)


def list_models() -> list[str]:
    """Registered model names, in registration order."""
    return list(_REGISTRY)


def describe_model(name: str) -> str:
    """One-line description of a registered model."""
    return _lookup(name).description


def options_class(name: str) -> type:
    """The options dataclass of a registered model."""
    return _lookup(name).options


def parse_options(name: str, options: dict[str, Any]) -> Any:
    """``options`` checked against model ``name``'s dataclass: unknown keys, types, each option's
    declared range, then the rules between options (:meth:`HeadOptions.check`)."""
    where = f"model.options (model {name!r})"
    opts = from_dict(_lookup(name).options, dict(options), where, PREFIX)
    check_ranges(opts, config_source() or where, prefix=PREFIX)
    opts.check()
    return opts


def create_model(name: str, in_channels: int, **options: Any) -> nn.Module:
    """Build a registered model for ``in_channels`` input bands; ``options`` are its dataclass's
    fields (``landslide segment models`` lists the models)."""
    if in_channels < 1:
        raise ConfigError(f"in_channels must be >= 1, got {in_channels}")
    entry = _lookup(name)
    return entry.builder(in_channels, parse_options(name, options))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def describe_models(in_channels: int = 23) -> list[dict[str, Any]]:
    """Name, parameter count (default options, ``in_channels`` bands) and description of every model."""
    return [
        {"name": n, "parameters": count_parameters(create_model(n, in_channels)), "description": e.description}
        for n, e in _REGISTRY.view.items()
    ]
