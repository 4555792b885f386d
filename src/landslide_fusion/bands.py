"""Named bands and band sets.

A band set describes what a source holds: an ordered tuple of band names plus the spectral
*roles* (RED, NIR, SWIR1, ...) that derived bands ask for. Downstream code never indexes bands by
number; it asks a :class:`BandSet` for the position of a name or role.

Band sets live in a registry (like timm's model registry): ``register_band_set(BandSet(...))``
adds one, :data:`BAND_SETS` is a read-only live view of it in registration order, and
``get_band_set(name)`` looks one up with an error that lists the registered names. A new sensor
is a pure addition; readers infer a band set from the channel count by walking the registry.

Sentinel-2 band names follow ESA's product definitions (B1 coastal aerosol 443 nm, B2 blue 490 nm,
B3 green 560 nm, B4 red 665 nm, B5-B7 red edge, B8 NIR 842 nm, B9 water vapour, B10 cirrus,
B11 SWIR 1610 nm, B12 SWIR 2190 nm). Landslide4Sense (Ghorbanzadeh et al., 2022) stacks B1-B12,
then slope and DEM from ALOS PALSAR, giving 14 bands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Mapping

from .errors import BandError
from .registry import Registry

__all__ = [
    "Role",
    "BandSet",
    "L4S14",
    "RGB",
    "RGBN",
    "BAND_SETS",
    "get_band_set",
    "register_band_set",
    "SENTINEL2_BANDS",
    "SLOPE",
    "DEM",
]

SENTINEL2_BANDS: tuple[str, ...] = tuple(f"B{i}" for i in range(1, 13))
SLOPE = "SLOPE"
DEM = "DEM"


class Role(str, Enum):
    """What a band measures, independent of the sensor's naming."""

    COASTAL = "coastal"
    BLUE = "blue"
    GREEN = "green"
    RED = "red"
    NIR = "nir"
    SWIR1 = "swir1"
    SWIR2 = "swir2"
    SLOPE = "slope"
    DEM = "dem"


@dataclass(frozen=True)
class BandSet:
    """An ordered set of named bands with optional spectral roles.

    Args:
        name: registry name, e.g. ``"l4s14"``.
        bands: band names in storage order (channel axis order).
        roles: which band plays which :class:`Role`.
    """

    name: str
    bands: tuple[str, ...]
    roles: Mapping[Role, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(set(self.bands)) != len(self.bands):
            raise BandError(f"band set {self.name!r} repeats a band name: {self.bands}")
        for role, band in self.roles.items():
            if band not in self.bands:
                raise BandError(f"band set {self.name!r}: role {role.value} names unknown band {band!r}")
        object.__setattr__(self, "roles", MappingProxyType(dict(self.roles)))

    def __len__(self) -> int:
        return len(self.bands)

    def index(self, band: str) -> int:
        """Channel position of ``band``; raises :class:`BandError` listing valid names."""
        try:
            return self.bands.index(band)
        except ValueError:
            raise BandError(
                f"band {band!r} is not in band set {self.name!r}; valid bands: {', '.join(self.bands)}"
            ) from None

    def band_for(self, role: Role) -> str:
        """Band name that plays ``role``; raises :class:`BandError` if the set lacks it."""
        if role not in self.roles:
            have = ", ".join(r.value for r in self.roles) or "none"
            raise BandError(
                f"band set {self.name!r} has no {role.value} band (roles it has: {have}); "
                "choose a preset that does not need it"
            )
        return self.roles[role]

    def has(self, *roles: Role) -> bool:
        """True when every role in ``roles`` is available."""
        return all(r in self.roles for r in roles)


L4S14 = BandSet(
    name="l4s14",
    bands=SENTINEL2_BANDS + (SLOPE, DEM),
    roles={
        Role.COASTAL: "B1",
        Role.BLUE: "B2",
        Role.GREEN: "B3",
        Role.RED: "B4",
        Role.NIR: "B8",
        Role.SWIR1: "B11",
        Role.SWIR2: "B12",
        Role.SLOPE: SLOPE,
        Role.DEM: DEM,
    },
)
RGB = BandSet(
    name="rgb",
    bands=("RED", "GREEN", "BLUE"),
    roles={Role.RED: "RED", Role.GREEN: "GREEN", Role.BLUE: "BLUE"},
)
RGBN = BandSet(
    name="rgbn",
    bands=("RED", "GREEN", "BLUE", "NIR"),
    roles={Role.RED: "RED", Role.GREEN: "GREEN", Role.BLUE: "BLUE", Role.NIR: "NIR"},
)

_REGISTRY: Registry[BandSet] = Registry("band set", BandError)
BAND_SETS: Mapping[str, BandSet] = _REGISTRY.view
"""Registered band sets by name, in registration order (read-only live view)."""


def register_band_set(band_set: BandSet, *, replace: bool = False) -> BandSet:
    """Add ``band_set`` to the registry under ``band_set.name`` and return it.

    Raises:
        BandError: the name is taken by a different band set and ``replace`` is False.
    """
    if not isinstance(band_set, BandSet):
        raise BandError(f"register_band_set takes a BandSet, not {type(band_set).__name__}")
    return _REGISTRY.register(band_set.name, band_set, replace=replace)


def get_band_set(name: str) -> BandSet:
    """Look up a registered band set by name; the error lists the valid names."""
    return _REGISTRY.lookup(name)


for _builtin in (L4S14, RGB, RGBN):
    register_band_set(_builtin)
del _builtin
