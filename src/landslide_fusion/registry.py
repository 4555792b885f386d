"""Named registries (as in timm and smp): register by name, look up with an error listing valid names.

Band sets (:mod:`.bands`), dataset readers (:mod:`.io.readers`) and band-engineering presets
(:mod:`.engineering.engineer`) each keep one :class:`Registry`; adding a sensor, a layout or a
preset is then a call to its ``register_*`` function, never an edit of a closed list. The CLI
builds its choices from the same registries (:func:`landslide_fusion.clitools.choices`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Generic, TypeVar

from .errors import LandslideError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Items by name, in registration order.

    Args:
        kind: what an item is, for messages (``"band set"``).
        error: the exception raised for unknown or conflicting names.
        describe: ``describe(name, item)`` for the list of valid names (default: the name).
    """

    def __init__(
        self,
        kind: str,
        error: type[LandslideError] = LandslideError,
        describe: Callable[[str, T], str] | None = None,
    ) -> None:
        self.kind = kind
        self.error = error
        self._describe = describe or (lambda name, _: name)
        self._items: dict[str, T] = {}
        self.view: Mapping[str, T] = MappingProxyType(self._items)
        """Read-only live view of the items."""

    def register(self, name: str, item: T, *, replace: bool = False) -> T:
        """Add ``item`` under ``name`` and return it; registering an equal item again is a no-op.

        Raises:
            error: ``name`` holds a different item and ``replace`` is False.
        """
        if name in self._items and self._items[name] != item and not replace:
            raise self.error(
                f"{self.kind} {name!r} is already registered ({self._describe(name, self._items[name])}); "
                "choose another name or pass replace=True"
            )
        self._items[name] = item
        return item

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for plug-ins that undo their registration, and tests)."""
        self.lookup(name)
        del self._items[name]

    def lookup(self, name: str) -> T:
        """The item registered as ``name``; the error lists the valid names."""
        try:
            return self._items[name]
        except KeyError:
            raise self.error(f"unknown {self.kind} {name!r}; valid: {self.valid()}") from None

    def valid(self) -> str:
        """Comma-separated descriptions of the registered items, for messages."""
        return ", ".join(self._describe(n, item) for n, item in self._items.items()) or "none registered"

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
