"""Catalog conventions: which asset key holds which Sentinel-2 band, per public STAC catalog.

Earth Search (Element 84, ``https://earth-search.aws.element84.com/v1``) names assets by
colour (``coastal, blue, green, red, rededge1-3, nir, nir08, nir09, swir16, swir22, scl``);
Microsoft Planetary Computer (``https://planetarycomputer.microsoft.com/api/stac/v1``) names them
by band (``B01 ... B12, B8A, SCL``) and serves signed URLs only (the optional
``planetary-computer`` package signs them). Both hold Level-2A, which has no ``B10`` (see
:mod:`.sentinel2`). DEM collections (Copernicus DEM GLO-30, ``cop-dem-glo-30``) hold one asset,
``data``, in metres.

A convention is registered by name; :func:`get_convention` lists the valid names in its error.
:func:`choose_convention` looks at every item found: the convention whose keys most items carry
in full wins; items that lack some of its keys are skipped (the caller warns, naming them), and
the request is refused only when no item is usable.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

from ..errors import ConfigError, DataError
from ..registry import Registry

__all__ = [
    "Convention",
    "EARTH_SEARCH",
    "PLANETARY_COMPUTER",
    "CONVENTIONS",
    "register_convention",
    "get_convention",
    "choose_convention",
    "missing_assets",
    "sign_items",
]


@dataclass(frozen=True)
class Convention:
    """Asset keys of one catalog.

    Args:
        name: registry name.
        url: the public STAC API root.
        collection: the Sentinel-2 Level-2A collection id.
        dem_collection: the DEM collection id.
        bands: Sentinel-2 band name (``B01`` ... ``B12``) -> asset key.
        scl: asset key of the scene classification layer.
        dem: asset key of the DEM collection's height raster.
        signed: whether asset URLs must be signed before reading.
    """

    name: str
    url: str
    collection: str
    dem_collection: str
    bands: Mapping[str, str]
    scl: str
    dem: str = "data"
    signed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "bands", MappingProxyType(dict(self.bands)))

    def keys(self, bands: Sequence[str]) -> list[str]:
        """Asset keys of ``bands`` and of the SCL layer: what an item needs for the composite."""
        return [self.asset(b) for b in bands] + [self.scl]

    def asset(self, band: str) -> str:
        """Asset key of ``band``; raises naming the bands this catalog has."""
        try:
            return self.bands[band]
        except KeyError:
            raise DataError(
                f"catalog convention {self.name!r} has no asset for band {band}; it has {', '.join(self.bands)}"
            ) from None


EARTH_SEARCH = Convention(
    name="earth-search",
    url="https://earth-search.aws.element84.com/v1",
    collection="sentinel-2-l2a",
    dem_collection="cop-dem-glo-30",
    bands={
        "B01": "coastal",
        "B02": "blue",
        "B03": "green",
        "B04": "red",
        "B05": "rededge1",
        "B06": "rededge2",
        "B07": "rededge3",
        "B08": "nir",
        "B8A": "nir08",
        "B09": "nir09",
        "B11": "swir16",
        "B12": "swir22",
    },
    scl="scl",
)
PLANETARY_COMPUTER = Convention(
    name="planetary-computer",
    url="https://planetarycomputer.microsoft.com/api/stac/v1",
    collection="sentinel-2-l2a",
    dem_collection="cop-dem-glo-30",
    bands={b: b for b in ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")},
    scl="SCL",
    signed=True,
)
_REGISTRY: Registry[Convention] = Registry("catalog convention", ConfigError)
CONVENTIONS: Mapping[str, Convention] = _REGISTRY.view
"""Read-only view of the registered conventions by name."""


def register_convention(convention: Convention, *, replace: bool = False) -> Convention:
    """Register the asset keys of another catalog under ``convention.name`` and return it: it is
    then detected from items and accepted by ``--convention``.

    Raises:
        ConfigError: the name holds another convention and ``replace`` is False.
    """
    return _REGISTRY.register(convention.name, convention, replace=replace)


register_convention(EARTH_SEARCH)
register_convention(PLANETARY_COMPUTER)


def get_convention(name: str) -> Convention:
    """The registered convention ``name``; the error lists the valid names."""
    return _REGISTRY.lookup(name)


def missing_assets(item: object, keys: Sequence[str]) -> list[str]:
    """The ``keys`` that ``item`` (a ``pystac.Item``) has no asset for."""
    return [k for k in keys if k not in item.assets]  # type: ignore[attr-defined]


def choose_convention(
    items: Sequence, bands: Sequence[str], requested: str | None, source: str
) -> tuple[Convention, list, dict[str, list[str]]]:
    """(convention, usable items, skipped item id -> missing keys) over all ``items``.

    The ``requested`` convention, else the one whose keys for ``bands`` + SCL most items carry
    in full (registry order breaks ties). Raises when no item is usable, naming what they lack.
    """
    candidates = [get_convention(requested)] if requested else list(CONVENTIONS.values())
    scored = []
    for conv in candidates:
        keys = conv.keys(bands)
        missing = {it.id: missing_assets(it, keys) for it in items}
        scored.append((sum(not m for m in missing.values()), conv, missing))
    n_usable, conv, missing = max(scored, key=lambda t: t[0])  # max keeps the first of equals
    if n_usable == 0:
        lacks = "; ".join(
            f"{i} lacks {', '.join(m[:4])}{' ...' if len(m) > 4 else ''}" for i, m in list(missing.items())[:3]
        )
        hint = (
            "pass another --convention"
            if requested
            else f"their asset keys match no known catalog convention ({', '.join(CONVENTIONS)}); pass --convention"
        )
        raise DataError(f"{source}: no item has the assets of convention {conv.name!r} ({lacks}); {hint}")
    usable = [it for it in items if not missing[it.id]]
    return conv, usable, {i: m for i, m in missing.items() if m}


def sign_items(items: list, convention: Convention) -> list:
    """Sign asset URLs for catalogs that need it (Planetary Computer, through the optional
    ``planetary-computer`` package: ``pip install planetary-computer``)."""
    if not convention.signed:
        return items
    try:
        import planetary_computer  # type: ignore[import-not-found]
    except ImportError:
        raise ConfigError(
            "the Planetary Computer serves signed URLs only; install the signer with 'pip install planetary-computer'"
        ) from None
    sign: Callable = planetary_computer.sign
    return [sign(item) for item in items]
