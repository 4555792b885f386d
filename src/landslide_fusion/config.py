"""Typed configuration: frozen dataclasses loaded from TOML, with dotted overrides.

Each task defines its own dataclasses (``segmentation.config``, ``tabular.config``,
``fusion.config``); this module loads any of them::

    cfg = load_config(SegmentConfig, "configs/rau-net.toml", ["train.epochs=3"])

Unknown keys and wrong types are errors that name the key, the file and the valid keys.
Optional values are written as absent keys (TOML has no null).

Every numeric or named setting declares its valid values where it is defined, with
:func:`setting`::

    lr: float = setting(1e-3, gt=0)
    nan_policy: str = setting("raise", choices=("raise", "zero"))
    crop: int = setting(0, ge=0, multiple_of=16)

and :func:`check_ranges` checks them all when a config is loaded, naming the key, the value,
the range, a valid value (the default) and where the value came from (the file, or the ``--set``
the user typed). A value of the wrong type is blamed the same way: on the ``--set`` as typed when
it came from one, else on the file. Values given by the command line's own options (paths, ids)
are passed as ``(key, value)`` pairs, never pasted into TOML text, so a backslash or a tab in a
path stays what it is.

Where values came from is known while :func:`build_config` builds a config (a context variable,
so a table checked by its owner while it is built, e.g. ``[model.options]`` by the model
registry, blames the same ``--set`` or file: :func:`origin_of`).
"""

from __future__ import annotations

import contextvars
import dataclasses
import importlib
import json
import math
import os
import tomllib
import types
import typing
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, TypeVar

import tomli_w

from .errors import ConfigError
from .io.atomic import write_text

__all__ = [
    "load_config",
    "from_dict",
    "to_dict",
    "save_config",
    "apply_overrides",
    "apply_values",
    "setting",
    "names_of",
    "Range",
    "check_ranges",
    "check_folds",
    "build_config",
    "origin_of",
    "config_source",
    "override_origins",
]

T = TypeVar("T")

#: The config being built: its file (or "config") and where values came from (dotted key -> e.g.
#: ``from --set train.lr=-1``); set by :func:`build_config`.
_BUILDING: contextvars.ContextVar[tuple[str, Mapping[str, str]]] = contextvars.ContextVar(
    "config_building", default=("", {})
)


def config_source() -> str | None:
    """The file (or ``config``) of the config being built; None outside :func:`build_config`."""
    return _BUILDING.get()[0] or None


def origin_of(key: str) -> str | None:
    """Where the value of dotted ``key`` of the config being built came from: ``from --set ...``,
    else ``in FILE``; None outside :func:`build_config`."""
    where, origins = _BUILDING.get()
    return origins.get(key) or (f"in {where}" if where else None)


def _blamed(where: str, key: str, message: str) -> str:
    """``message`` about ``key``, blamed on the ``--set`` that gave the value, else on ``where``."""
    origin = _BUILDING.get()[1].get(key)
    return f"{key}: {message} ({origin})" if origin else f"{where}: {message}"


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) < len(typing.get_args(tp)) and len(args) == 1:
            return args[0], True
    return tp, False


def _coerce(value: Any, tp: Any, where: str, key: str = "") -> Any:
    tp, _ = _strip_optional(tp)
    origin = typing.get_origin(tp)

    def wrong(what: str) -> ConfigError:
        return ConfigError(_blamed(where, key, f"expected {what}, got {value!r}"))

    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise wrong("a table")
        return from_dict(tp, value, where, f"{key}.")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise wrong("a list")
        args = typing.get_args(tp)
        inner = args[0] if args else Any
        return tuple(_coerce(v, inner, f"{where}[{i}]", key) for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise wrong("a table")
        return dict(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong("a number")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise wrong("a string")
        return value
    return value


def from_dict(cls: type[T], data: dict[str, Any], where: str = "config", prefix: str = "") -> T:
    """Build dataclass ``cls`` from a (nested) dict, checking keys and types; ``prefix`` is the
    dotted key of ``cls``'s table (``train.``), by which a value's origin is found."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(names))}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}", f"{prefix}{k}") for k, v in data.items()}
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict[str, Any]:
    """Nested dict of a config dataclass, with ``None`` values dropped."""

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if x is not None}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return clean(dataclasses.asdict(cfg))


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _set(data: dict[str, Any], key: str, value: Any, label: str) -> None:
    parts = key.strip().split(".")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{label}: {p!r} is a value, not a section")
    node[parts[-1]] = value


def apply_overrides(data: dict[str, Any], overrides: typing.Iterable[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (values parsed as TOML, else as strings)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item}: expected section.key=value, e.g. train.epochs=5")
        key, text = item.split("=", 1)
        _set(data, key, _parse_value(text.strip()), f"--set {item}")
    return data


def apply_values(data: dict[str, Any], values: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Set ``(dotted key, value)`` pairs as values (a path is stored as its text, unparsed)."""
    items = values.items() if isinstance(values, Mapping) else values
    for key, value in items:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        elif isinstance(value, (list, tuple)):
            value = [os.fspath(v) if isinstance(v, os.PathLike) else v for v in value]
        _set(data, key, value, key)
    return data


def _check_keys(cls: type, key: str, label: str) -> None:
    """Raise when dotted ``key`` names no setting of ``cls``, naming it as the user typed it."""
    node: Any = cls
    parts = key.strip().split(".")
    for i, part in enumerate(parts):
        if node is dict or typing.get_origin(node) is dict:
            return  # a free-form table (model.options): its owner checks its keys
        if not dataclasses.is_dataclass(node):
            raise ConfigError(f"{label}: {'.'.join(parts[:i])} is a value, not a section")
        hints = typing.get_type_hints(node)
        if part not in hints:
            section = ".".join(parts[:i]) or "the top level"
            valid = ", ".join(sorted(f.name for f in dataclasses.fields(node)))
            raise ConfigError(f"{label}: unknown key {part!r} in {section}; valid keys: {valid}")
        node = _strip_optional(hints[part])[0]


# --- declared ranges ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """Valid values of one setting: bounds (``gt``, ``ge``, ``lt``, ``le``), ``choices`` (names, or
    a callable returning them, resolved when checked), ``multiple_of`` (a number's step, e.g. a
    window the network divides: 0 passes, so 0 can still mean "off" where ``ge=0``) and, for
    lists (bounds apply to each entry), ``increasing``, ``length`` (exactly that many entries) and
    ``min_length``."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    choices: tuple[str, ...] | Callable[[], Iterable[str]] | None = None
    increasing: bool = False
    multiple_of: int | None = None
    length: int | None = None
    min_length: int | None = None

    def describe(self) -> str:
        parts = [
            f"{op} {v}" for op, v in ((">", self.gt), (">=", self.ge), ("<", self.lt), ("<=", self.le)) if v is not None
        ]
        return " and ".join(parts)

    def names(self) -> tuple[str, ...] | None:
        c = self.choices
        found = c() if callable(c) else c
        return None if found is None else tuple(getattr(v, "value", v) for v in found)

    def problem(self, value: Any) -> str | None:
        """None when ``value`` is valid, else what is wrong with it."""
        if value is None:
            return None
        if self.choices is not None:
            names = self.names()
            return None if names is None or value in names else f"is not one of {', '.join(map(str, names))}"
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if isinstance(value, (list, tuple)):
            if self.length is not None and len(values) != self.length:
                return f"must have {self.length} entries, not {len(values)}"
            if self.min_length is not None and len(values) < self.min_length:
                return f"must have at least {self.min_length} entries, not {len(values)}"
        for v in values:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                if not math.isfinite(v):
                    return "must be a finite number"
                bad = (
                    (self.gt is not None and not v > self.gt)
                    or (self.ge is not None and not v >= self.ge)
                    or (self.lt is not None and not v < self.lt)
                    or (self.le is not None and not v <= self.le)
                )
                if bad:
                    return f"must be {self.describe()}"
                if self.multiple_of and v % self.multiple_of:
                    m = self.multiple_of
                    return f"must be a multiple of {m}; try {m * max(1, round(v / m))}"
        if self.increasing and any(b <= a for a, b in zip(values, values[1:])):
            return "must be strictly increasing"
        return None


def setting(
    default: Any,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    choices: tuple[str, ...] | Callable[[], Iterable[str]] | None = None,
    increasing: bool = False,
    multiple_of: int | None = None,
    length: int | None = None,
    min_length: int | None = None,
) -> Any:
    """A dataclass field with ``default`` and its declared valid values (see :class:`Range`)."""
    rng = Range(gt, ge, lt, le, choices, increasing, multiple_of, length, min_length)
    return dataclasses.field(default=default, metadata={"range": rng})


def names_of(module: str, attribute: str) -> Callable[[], tuple[str, ...]]:
    """Choices read, when checked, from a registry ``attribute`` (a mapping or names) of ``module``
    (imported then, so a config module needs not import heavy code). A reference that no longer
    resolves raises at once (``tests/test_configs.py`` resolves every one)."""

    def names() -> tuple[str, ...]:
        found = getattr(importlib.import_module(module), attribute)
        return tuple(found() if callable(found) and not isinstance(found, type) else found)

    return names


def _example(f: dataclasses.Field, rng: Range, problem: str) -> str:
    """``, e.g. DEFAULT`` (as TOML text) when the field's default is a valid value the message
    does not already offer (a choice list or a ``try``)."""
    if f.default is dataclasses.MISSING or f.default is None or rng.choices is not None or "try" in problem:
        return ""
    if rng.problem(f.default) is not None:
        return ""
    default = list(f.default) if isinstance(f.default, tuple) else f.default
    return f", e.g. {json.dumps(default)}"


def check_ranges(cfg: Any, where: str = "config", origins: Mapping[str, str] | None = None, prefix: str = "") -> None:
    """Raise :class:`ConfigError` for the first setting of ``cfg`` outside its declared range.

    ``origins`` maps dotted keys to where their value came from (e.g. ``from --set train.lr=-1``;
    default: those of the config being built, :func:`origin_of`); other keys are reported against
    ``where`` (the file). The message names the key, the value, the range and a valid value.
    """
    origins = _BUILDING.get()[1] if origins is None else origins
    for f in dataclasses.fields(cfg):
        key = f"{prefix}{f.name}"
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            check_ranges(value, where, origins, key + ".")
            continue
        rng = f.metadata.get("range")
        problem = rng.problem(value) if rng is not None else None
        if problem:
            source = origins.get(key, f"in {where}")
            shown = list(value) if isinstance(value, tuple) else value
            raise ConfigError(f"{key} = {shown!r} {problem}{_example(f, rng, problem)} ({source})")


def check_folds(folds: int, labels: Any, key: str, what: str = "samples") -> None:
    """Refuse ``folds`` that stratified k-fold cannot make from ``labels`` (one per sample): more
    folds than samples, or than the samples of the larger class."""
    import numpy as np

    counts = np.unique(np.asarray(labels), return_counts=True)[1]
    n, most = int(counts.sum()), int(counts.max(initial=0))
    if folds > most:
        raise ConfigError(
            f"{key} = {folds} is more folds than the data allows: {n} {what}, {most} in the larger class; "
            f"use at most {max(most, 1)} folds (and at least 2), or more data"
        )


def override_origins(cls: type, overrides: Iterable[str], label: str = "--set") -> dict[str, str]:
    """``{dotted key: "from --set KEY=VALUE"}`` of ``--set`` items, each key checked against ``cls``."""
    origins: dict[str, str] = {}
    for item in overrides:
        key = item.split("=", 1)[0].strip()
        if "=" in item:
            _check_keys(cls, key, f"{label} {item}")
        origins[key] = f"from {label} {item}"
    return origins


def build_config(
    cls: type[T], data: dict[str, Any], where: str = "config", origins: Mapping[str, str] | None = None
) -> T:
    """``cls`` from the nested dict ``data`` (types, then every declared range), with errors blamed
    on ``origins`` (dotted key -> where its value came from) or else on ``where``."""
    token = _BUILDING.set((where, dict(origins or {})))
    try:
        cfg = from_dict(cls, data, where)
        check_ranges(cfg, where)
    finally:
        _BUILDING.reset(token)
    return cfg


def load_config(
    cls: type[T],
    path: str | os.PathLike[str] | None = None,
    overrides: typing.Iterable[str] = (),
    values: Mapping[str, Any] | Iterable[tuple[str, Any]] = (),
) -> T:
    """Load ``cls`` from a TOML file (or defaults when ``path`` is None), then apply ``overrides``
    (``--set section.key=value`` text) and ``values`` (``(key, value)`` pairs from command-line
    options, set as they are), then check every declared range."""
    overrides = list(overrides)
    values = list(values.items() if isinstance(values, Mapping) else values)
    origins = override_origins(cls, overrides)
    for key, _ in values:
        _check_keys(cls, key, key)
        origins[key] = "from the command line"
    data: dict[str, Any] = {}
    where = "config"
    if path is not None:
        path = Path(path)
        where = str(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found; see configs/ for examples")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: invalid TOML ({e})") from None
    data = apply_values(apply_overrides(data, overrides), values)
    return build_config(cls, data, where, origins)


def save_config(cfg: Any, path: str | os.PathLike[str]) -> Path:
    """Write a config dataclass as TOML, atomically."""
    return write_text(path, tomli_w.dumps(to_dict(cfg)))
