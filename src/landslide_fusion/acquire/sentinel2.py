"""Sentinel-2 Level-2A facts, each applied in one place.

**Scaling.** L2A stores bottom-of-atmosphere reflectance as digital numbers,
``rho = (DN + BOA_ADD_OFFSET) / QUANTIFICATION_VALUE`` with ``QUANTIFICATION_VALUE = 10000``;
here ``rho = (DN - dn_offset) * scale``. **DN 0 is nodata, and so is SCL class 0**, whatever an
item says (Planetary Computer items declare no ``raster:bands`` nodata at all).

**Processing baseline 04.00 (25 January 2022) and later** add ``BOA_ADD_OFFSET = -1000``: DNs
carry +1000 so dark surfaces keep their noise (ESA, "Sentinel-2 L2A products: processing baseline
04.00"). Catalogs differ in whether they removed it, and say so in different ways.
:func:`decide_scaling` reads, per item, in this order:

1. ``earthsearch:boa_offset_applied`` (Earth Search ``sentinel-2-l2a``; ``sentinel:`` before it):
   ``true`` means Element 84 removed the offset from the COGs (``dn_offset = 0``); ``false`` means
   the DNs are ESA's (offset 1000 from baseline 04.00 on). When the flag is present the item's
   ``raster:bands`` offset is not used: Earth Search writes ``offset: -0.1`` on items whose offset
   it removed (Element84/earth-search#9: "the boa_offset_applied is the truth").
2. ``raster:bands`` ``scale`` / ``offset`` of the band assets (Earth Search
   ``sentinel-2-c1-l2a``, whose COGs keep ESA's DNs and declare ``offset: -0.1``,
   Element84/earth-search#41): ``dn_offset = -offset / scale``. It must agree with the baseline
   rule below when the item has a baseline, else the item is refused.
3. the baseline rule, ``dn_offset = 1000`` for ``s2:processing_baseline >= 04.00`` (Planetary
   Computer items carry only this); items with no baseline are taken to be older.

The flag is known to be wrong on some items in both directions of time (Element84/earth-search
#66 for 2022, #71 for 2025: ``false`` on COGs whose offset was removed). :mod:`.plan` therefore
checks every item whose DNs should carry the offset against its pixels: when more than
:data:`MAX_BELOW_OFFSET` of its clear blue-band DNs lie below the offset (negative reflectance,
which the offset exists to prevent), the request is refused naming the items. The reverse error
(the offset left in, the flag saying it was removed) cannot be told from bright ground and is
not checked.

**No B10.** B10 (cirrus, 1375 nm) is a top-of-atmosphere band used only to detect cirrus; the
L2A product drops it. The ``l4s14`` layout (Landslide4Sense, built from Level-1C) has a B10
slot, which a fetched L2A scene fills with ``0`` reflectance: at 1375 nm water vapour absorbs
almost all light from the ground, so a clear-sky L1C B10 is near zero (Landslide4Sense's B10
mean is 9 DN = 0.0009). The band's description stays ``B10`` and its tag ``SOURCE=filled``
says it was not measured. A model that leans on B10 should be trained on L1C instead.

**Scene classification (SCL)** classes that become nodata: 0 no data, 1 saturated or defective,
3 cloud shadow, 8 cloud medium probability, 9 cloud high probability, 10 thin cirrus
(ESA Sen2Cor L2A product definition).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..errors import DataError

__all__ = [
    "QUANTIFICATION",
    "BOA_OFFSET",
    "MASKED_SCL",
    "B10_FILL",
    "NODATA_DN",
    "MAX_BELOW_OFFSET",
    "Scaling",
    "decide_scaling",
    "baseline",
    "to_reflectance",
    "clear_mask",
]

QUANTIFICATION = 10000.0
BOA_OFFSET = 1000
#: DN (and SCL class) that is nodata in every Sentinel-2 L2A product.
NODATA_DN = 0
#: SCL classes turned into nodata (see the module docstring).
MASKED_SCL = (0, 1, 3, 8, 9, 10)
#: Reflectance written into the B10 slot of an L2A scene.
B10_FILL = 0.0
#: Largest share of an item's clear blue DNs allowed below its offset before it is refused.
MAX_BELOW_OFFSET = 0.05
_FLAGS = ("earthsearch:boa_offset_applied", "sentinel:boa_offset_applied")
_BASELINES = ("s2:processing_baseline", "sentinel:processing_baseline")


@dataclass(frozen=True)
class Scaling:
    """``rho = (DN - dn_offset) * scale``, and the metadata that decided it."""

    scale: float
    dn_offset: float
    source: str

    def describe(self) -> str:
        return f"(DN - {self.dn_offset:g}) x {self.scale:g} from {self.source}"


def baseline(properties: Mapping[str, Any]) -> float | None:
    """The item's processing baseline as a number (``"05.09"`` -> 5.09), None when absent or unreadable."""
    for key in _BASELINES:
        try:
            return float(properties[key])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _declared(item_id: str, bands: Mapping[str, Mapping[str, Any]]) -> tuple[float, float] | None:
    """The one (scale, offset) that the band assets' ``raster:bands`` declare, None when none does."""
    found: dict[tuple[float, float], list[str]] = {}
    for key, asset in bands.items():
        rb = (asset.get("raster:bands") or [{}])[0]
        if "scale" in rb or "offset" in rb:
            found.setdefault((float(rb.get("scale", 1 / QUANTIFICATION)), float(rb.get("offset", 0.0))), []).append(key)
    if len(found) > 1:
        parts = "; ".join(f"{', '.join(k)}: scale {s:g} offset {o:g}" for (s, o), k in found.items())
        raise DataError(
            f"STAC item {item_id}: its band assets declare different raster:bands scaling ({parts}); "
            "one composite needs one scaling per item: pass --boa-offset to set the offset"
        )
    return next(iter(found), None)


def decide_scaling(
    item_id: str, properties: Mapping[str, Any], bands: Mapping[str, Mapping[str, Any]], override: int | None = None
) -> Scaling:
    """The item's scaling from its own metadata (see the module docstring); ``bands`` are the
    band assets' fields (``raster:bands``). Raises naming the item when its metadata contradict."""
    declared = _declared(item_id, bands)
    scale = declared[0] if declared else 1 / QUANTIFICATION
    if override is not None:
        return Scaling(scale, float(override), "--boa-offset")
    base = baseline(properties)
    rule = None if base is None else (BOA_OFFSET if base >= 4.0 else 0)
    flag = next((properties[k] for k in _FLAGS if properties.get(k) is not None), None)
    if flag is not None:
        name = next(k for k in _FLAGS if properties.get(k) is not None)
        return Scaling(scale, 0.0 if flag else float(rule or 0), f"{name}={str(bool(flag)).lower()}")
    if declared is not None:
        dn_offset = -declared[1] / declared[0] if declared[0] else math.nan
        if rule is not None and not math.isclose(dn_offset, rule, abs_tol=0.5):
            raise DataError(
                f"STAC item {item_id}: raster:bands offset {declared[1]:g} (DN offset {dn_offset:g}) "
                f"contradicts s2:processing_baseline {base:05.2f} (DN offset {rule}); the catalog's "
                "metadata disagree: pass --boa-offset with the offset its DNs carry"
            )
        return Scaling(scale, dn_offset, "raster:bands")
    if rule is not None:
        return Scaling(scale, float(rule), f"s2:processing_baseline {base:05.2f}")
    return Scaling(scale, 0.0, "no baseline (taken as before 04.00)")


def to_reflectance(dn: np.ndarray, scaling: Scaling) -> np.ndarray:
    """``(DN - dn_offset) * scale`` as float32, with ``DN == 0`` (nodata) as NaN; negative values
    (noise of dark pixels once the offset is removed) clip to 0."""
    x = np.asarray(dn, dtype=np.float32)
    out = np.maximum(x - np.float32(scaling.dn_offset), 0.0) * np.float32(scaling.scale)
    return np.where(x == NODATA_DN, np.float32(np.nan), out).astype(np.float32)


def clear_mask(scl: np.ndarray) -> np.ndarray:
    """True where the scene classification says the pixel is clear (not in :data:`MASKED_SCL`)."""
    return ~np.isin(np.asarray(scl), MASKED_SCL)
