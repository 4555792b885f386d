"""Input domains: which bands a model was fed and on which value scale.

A run is only valid on inputs of its own domain. A :class:`Domain` pairs a band set name
(:mod:`.bands`) with a value scale:

* ``reflectance``: Sentinel-2 surface/top-of-atmosphere reflectance in 0-1, slope in degrees,
  DEM in metres (what ``landslide fetch`` writes);
* ``s2-dn``: Sentinel-2 digital numbers, reflectance x 10000 (L1C/L2A products, the
  ``sentinel2_geotiff`` tiles); slope and DEM as above;
* ``l4s``: Landslide4Sense's pre-scaled values, each band divided by the dataset's mean vector
  (see :data:`L4S_MEANS`);
* ``uint8``: 8-bit display values 0-255 (PNG / JPEG imagery such as Bijie); no physical meaning.

**Landslide4Sense.** The dataset's authors state that "the 14 bands of the data are simply
divided by a mean vector" and give that vector (Y. Xu, iarai/Landslide4Sense-2022 GitHub
issues #2 and #4, 2022). The public samples confirm it exactly: each sample value multiplied by
its band's mean is an integer (Sentinel-2 DNs, slope in whole degrees, DEM in whole metres;
``tests/test_domains.py`` checks this on ``../shared/data/l4s_samples``). So
``l4s = DN / mean = reflectance * 10000 / mean`` for B1-B12, ``slope_deg / 20.29`` and
``dem_m / 772.83``. The samples' B10 (mean 9 DN) shows the bands were taken from Level-1C
(top-of-atmosphere) products; an L2A (surface) scene converted this way is close to, not equal
to, the training distribution.

Conversions exist between ``reflectance``, ``s2-dn`` and ``l4s`` (linear, per band); none into
or out of ``uint8`` (its stretch is unknown). :func:`convert` refuses, naming both domains and the
fix, where none exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .bands import DEM, SENTINEL2_BANDS, SLOPE
from .errors import BandError

__all__ = ["Domain", "SCALES", "L4S_MEANS", "DomainError", "band_factors", "can_convert", "convert", "run_domain",
           "DEFAULT_SCALE"]

SCALES = ("reflectance", "s2-dn", "l4s", "uint8")

#: Landslide4Sense's per-band divisors, B1..B12, SLOPE, DEM (source in the module docstring).
L4S_MEANS: Mapping[str, float] = dict(zip(
    SENTINEL2_BANDS + (SLOPE, DEM),
    (1111.81236406, 824.63171476, 663.41636217, 445.17289745, 645.8582926, 1547.73508126, 1960.44401001,
     1941.32229668, 674.07572865, 9.04787384, 1113.98338755, 519.90397929, 20.29228266, 772.83144788),
))

#: The scale a run is assumed to have been trained on when its ``run.json`` records none:
#: Landslide4Sense patches for ``l4s14``, 8-bit imagery for ``rgb``, DNs for ``rgbn``.
DEFAULT_SCALE: Mapping[str, str] = {"l4s14": "l4s", "rgb": "uint8", "rgbn": "s2-dn"}

_TERRAIN = (SLOPE, DEM)


class DomainError(BandError):
    """An input's domain differs from a run's and no conversion exists."""


@dataclass(frozen=True)
class Domain:
    """A band set name and a value scale (one of :data:`SCALES`)."""

    band_set: str
    scale: str

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise DomainError(f"unknown value scale {self.scale!r}; valid: {', '.join(SCALES)}")

    def __str__(self) -> str:
        return f"{self.band_set}/{self.scale}"

    def to_dict(self) -> dict[str, str]:
        return {"band_set": self.band_set, "scale": self.scale}


def _to_reflectance_factor(band: str, scale: str) -> float:
    """Multiplier taking ``band`` from ``scale`` to the ``reflectance`` scale."""
    if scale == "reflectance":
        return 1.0
    if scale == "s2-dn":
        return 1.0 if band in _TERRAIN else 1e-4
    if scale == "l4s":
        return L4S_MEANS[band] * (1.0 if band in _TERRAIN else 1e-4)
    raise DomainError(f"no conversion from the {scale} scale")


def can_convert(src: str, dst: str) -> bool:
    """True when a documented conversion takes values on scale ``src`` to ``dst``."""
    return src == dst or ("uint8" not in (src, dst))


def band_factors(bands: tuple[str, ...], src: Domain, dst: Domain) -> np.ndarray:
    """Per-band multipliers taking ``src`` values to ``dst`` (both scales linear through zero)."""
    if not can_convert(src.scale, dst.scale):
        raise DomainError(f"input domain {src} cannot be converted to the run's domain {dst} "
                          f"(no documented conversion between {src.scale} and {dst.scale}); "
                          f"predict with inputs on the {dst.scale} scale or train a run on {src.scale} data")
    unknown = [b for b in bands if src.scale != dst.scale and "l4s" in (src.scale, dst.scale) and b not in L4S_MEANS]
    if unknown:
        raise DomainError(f"bands {', '.join(unknown)} have no Landslide4Sense divisor; "
                          f"the l4s scale covers {', '.join(L4S_MEANS)}")
    if src.scale == dst.scale:
        return np.ones(len(bands), np.float32)
    return np.array([_to_reflectance_factor(b, src.scale) / _to_reflectance_factor(b, dst.scale) for b in bands],
                    np.float32)


def convert(x: np.ndarray, bands: tuple[str, ...], src: Domain, dst: Domain) -> np.ndarray:
    """``x`` (C, ...) with channels ``bands`` moved from ``src`` to ``dst`` (float32)."""
    f = band_factors(tuple(bands), src, dst)
    x = np.asarray(x, np.float32)
    return x * f.reshape((-1,) + (1,) * (x.ndim - 1))


def run_domain(info: Mapping, band_set: str) -> Domain:
    """The domain a run records in ``run.json`` (key ``domain``), else the documented default
    for its band set (:data:`DEFAULT_SCALE`, ``reflectance`` for others)."""
    d = info.get("domain") if isinstance(info, Mapping) else None
    if isinstance(d, Mapping) and "scale" in d:
        return Domain(str(d.get("band_set", band_set)), str(d["scale"]))
    return Domain(band_set, DEFAULT_SCALE.get(band_set, "reflectance"))
