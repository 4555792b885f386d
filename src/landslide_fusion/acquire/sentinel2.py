"""Sentinel-2 Level-2A facts, each applied in one place.

**Scaling.** L2A stores bottom-of-atmosphere reflectance as digital numbers with
``QUANTIFICATION_VALUE = 10000``: ``rho = (DN + BOA_ADD_OFFSET) / 10000``; ``DN = 0`` is nodata.

**Processing baseline 04.00 (25 January 2022) and later** add ``BOA_ADD_OFFSET = -1000``:
DNs carry +1000 so dark surfaces keep their noise. Catalogs that have not harmonised the data
(Planetary Computer) need the 1000 removed for items with ``s2:processing_baseline >= 04.00``;
Earth Search marks items it harmonised with ``earthsearch:boa_offset_applied: true``
(ESA, "Sentinel-2 L2A products: processing baseline 04.00"; Planetary Computer,
"sentinel-2-l2a: Baseline Change"; Element 84 earth-search issues #9 and #66 on the flag).
Items with no baseline property are treated as older than 04.00.

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

from typing import Any, Mapping

import numpy as np

__all__ = ["QUANTIFICATION", "BOA_OFFSET", "MASKED_SCL", "B10_FILL", "boa_offset", "to_reflectance", "clear_mask",
           "HARMONISED_COLLECTIONS"]

QUANTIFICATION = 10000.0
BOA_OFFSET = 1000
#: SCL classes turned into nodata (see the module docstring).
MASKED_SCL = (0, 1, 3, 8, 9, 10)
#: Reflectance written into the B10 slot of an L2A scene.
B10_FILL = 0.0
#: Collections whose DNs are already harmonised to the pre-04.00 scale.
HARMONISED_COLLECTIONS = ("sentinel-2-c1-l2a",)


def _baseline(properties: Mapping[str, Any]) -> float:
    value = properties.get("s2:processing_baseline") or properties.get("sentinel:processing_baseline")
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def boa_offset(properties: Mapping[str, Any], collection: str | None = None) -> int:
    """DN offset to subtract from an item's bands: 1000 for baseline >= 04.00 unless harmonised."""
    if collection in HARMONISED_COLLECTIONS:
        return 0
    if properties.get("earthsearch:boa_offset_applied") or properties.get("sentinel:boa_offset_applied"):
        return 0
    return BOA_OFFSET if _baseline(properties) >= 4.0 else 0


def to_reflectance(dn: np.ndarray, offset: int = 0) -> np.ndarray:
    """``(DN - offset) / 10000`` as float32, with ``DN == 0`` (nodata) as NaN; negative values
    (dark pixels after removing the offset) clip to 0."""
    x = np.asarray(dn, dtype=np.float32)
    out = np.maximum(x - offset, 0.0) / QUANTIFICATION
    return np.where(x == 0, np.float32(np.nan), out).astype(np.float32)


def clear_mask(scl: np.ndarray) -> np.ndarray:
    """True where the scene classification says the pixel is clear (not in :data:`MASKED_SCL`)."""
    return ~np.isin(np.asarray(scl), MASKED_SCL)
