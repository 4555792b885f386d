"""The registry of fusion methods: each method is a class registered under its name.

A fusion method is a scikit-learn style classifier over the joined region frame (tabular
probability + image statistics) with four more members:

* ``name`` (class attribute): the registered name, what ``method = "..."`` in the config picks;
* ``from_config(cfg)`` (classmethod): an unfitted estimator from a :class:`FusionConfig`;
* ``to_dict()``: the fitted state as plain numbers (``{"method": name, ...}``), no pickle;
* ``from_dict(d)`` (classmethod): the fitted estimator back from :meth:`to_dict`'s output.

Nothing outside a method's own module names it: :func:`create_method`, :func:`method_from_dict`
and the CLI's choices (:func:`list_methods`) all go through this registry, in the style of
timm's ``create_model``/``list_models``. A new method is one decorated class::

    @register_method
    class MyFusion(ClassifierMixin, BaseEstimator):
        name = "mine"
        ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..errors import ConfigError
from ..registry import Registry

if TYPE_CHECKING:
    from .config import FusionConfig

__all__ = ["FusionMethod", "register_method", "get_method", "list_methods", "create_method", "method_from_dict"]


class FusionMethod(Protocol):
    """What a registered fusion method provides (see the module docstring)."""

    name: str
    threshold_: float

    @classmethod
    def from_config(cls, cfg: "FusionConfig") -> "FusionMethod": ...

    @classmethod
    def from_dict(cls, d: dict) -> "FusionMethod": ...

    def fit(self, X: Any, y: Any = None) -> "FusionMethod": ...

    def predict_proba(self, X: Any) -> Any: ...

    def predict(self, X: Any) -> Any: ...

    def to_dict(self) -> dict: ...


_REGISTRY: Registry[type] = Registry("fusion method", ConfigError)
C = TypeVar("C", bound=type)


def register_method(cls: C | None = None, *, replace: bool = False) -> Any:
    """Class decorator: register ``cls`` under ``cls.name``, as ``@register_method`` or
    ``@register_method(replace=True)`` (to take over a registered name).

    Raises:
        TypeError: ``cls`` has no ``name`` or lacks a member of :class:`FusionMethod`.
        ConfigError: the name holds another class and ``replace`` is False.
    """

    def add(c: C) -> C:
        name = getattr(c, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{c.__name__} needs a class attribute 'name' to be registered as a fusion method")
        for member in ("from_config", "from_dict", "to_dict", "fit", "predict_proba"):
            if not callable(getattr(c, member, None)):
                raise TypeError(f"{c.__name__} lacks {member}(); see landslide_fusion.fusion.methods")
        return _REGISTRY.register(name, c, replace=replace)

    return add if cls is None else add(cls)


def list_methods() -> list[str]:
    """Registered fusion method names, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def get_method(name: str) -> type:
    """The class registered under ``name``; an unknown name is an error listing the valid ones."""
    _load_builtins()
    return _REGISTRY.lookup(name)


def create_method(cfg: "FusionConfig") -> FusionMethod:
    """The unfitted estimator of ``cfg.method``, built from the config."""
    return get_method(cfg.method).from_config(cfg)


def method_from_dict(d: dict) -> FusionMethod:
    """A fitted estimator back from ``to_dict()`` output (its ``method`` entry picks the class)."""
    if not isinstance(d, dict) or "method" not in d:
        raise ConfigError(
            "fitted fusion state has no 'method' entry; the fusion folder is damaged, re-run 'fuse train'"
        )
    return get_method(d["method"]).from_dict(d)


def _load_builtins() -> None:
    """Register the built-in methods, on the first lookup: they live in their own modules, which
    import scikit-learn and pandas, so ``landslide --help`` stays light."""
    from .crosscheck import CrossCheckFusion
    from .stacking import StackingFusion

    for cls in (CrossCheckFusion, StackingFusion):
        register_method(cls)
