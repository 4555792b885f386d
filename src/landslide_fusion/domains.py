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
fix, where none exists. A band outside ``l4s14`` (``RED`` of ``rgbn``) takes the divisor of the
``l4s14`` band with its spectral role (``B4``).

**An input's domain.** Every prediction checks its input with :func:`input_factors`: the scale
the input declares (:func:`declared_scale`: a GeoTIFF's ``DOMAIN_SCALE`` tag, written by
``landslide fetch``; 8-bit pixels are ``uint8``; Landslide4Sense HDF5 files are ``l4s``) is
converted to the run's, or refused. An input that declares nothing is taken to be on the run's
scale, and its values are compared with the run's training statistics (:func:`check_values`):
values :data:`VALUE_FACTOR` times above anything seen in training, or far below its means, in
most bands, are refused. That catches scale mix-ups of a factor of 20 or more (8-bit or DN values
given to a reflectance or Landslide4Sense run, reflectance given to a DN run), not the closer
pairs (Landslide4Sense values and reflectance differ by 5-20x per band). A scale with hard
bounds (:data:`SCALE_BOUNDS`: ``uint8`` is 0-255) also refuses an undeclared input with values
beyond them, whatever the training values (:func:`check_bounds`): 12-bit values in a 16-bit PNG
given to a run trained on 8-bit images sit only 10-14x above its training values.

**A run's domain.** Training takes the scale its first training file declares, else the band
set's default (:data:`DEFAULT_SCALE`), checked against the bounds (:func:`training_domain`):
16-bit RGB images declaring no scale are refused rather than recorded as ``uint8``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import numpy as np

from .bands import DEM, L4S14, SENTINEL2_BANDS, SLOPE, get_band_set
from .errors import BandError
from .names import SCALES

if TYPE_CHECKING:
    from .stats import BandStats

__all__ = [
    "Domain",
    "SCALES",
    "SCALE_NAMES",
    "L4S_MEANS",
    "DomainError",
    "band_factors",
    "can_convert",
    "convert",
    "run_domain",
    "DEFAULT_SCALE",
    "SCALE_TAG",
    "BAND_SET_TAG",
    "declared_scale",
    "input_factors",
    "check_values",
    "VALUE_FACTOR",
    "SCALE_BOUNDS",
    "check_bounds",
    "training_domain",
]

#: What each scale holds, for messages.
SCALE_NAMES: Mapping[str, str] = {
    "reflectance": "Sentinel-2 reflectance 0-1",
    "s2-dn": "Sentinel-2 digital numbers, reflectance x 10000",
    "l4s": "Landslide4Sense values, each band / its mean",
    "uint8": "8-bit values 0-255",
}

#: Scales whose values cannot leave these bounds (8-bit display values).
SCALE_BOUNDS: Mapping[str, tuple[float, float]] = {"uint8": (0.0, 255.0)}

#: GeoTIFF tags (dataset level) that declare a file's domain; ``landslide fetch`` writes both.
SCALE_TAG, BAND_SET_TAG = "DOMAIN_SCALE", "DOMAIN_BAND_SET"

#: :func:`check_values` refuses an input whose values sit this many times outside the training values.
VALUE_FACTOR = 20.0
#: Pixels per band that :func:`check_values` looks at (a regular sample of larger inputs).
_PROBE_PIXELS = 65536

#: Landslide4Sense's per-band divisors, B1..B12, SLOPE, DEM (source in the module docstring).
L4S_MEANS: Mapping[str, float] = dict(
    zip(
        SENTINEL2_BANDS + (SLOPE, DEM),
        (
            1111.81236406,
            824.63171476,
            663.41636217,
            445.17289745,
            645.8582926,
            1547.73508126,
            1960.44401001,
            1941.32229668,
            674.07572865,
            9.04787384,
            1113.98338755,
            519.90397929,
            20.29228266,
            772.83144788,
        ),
    )
)

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


def _l4s_band(band: str, band_sets: tuple[str, ...]) -> str | None:
    """The ``l4s14`` band whose divisor ``band`` takes: itself, else the one with its spectral role
    in the first of ``band_sets`` that names it."""
    if band in L4S_MEANS:
        return band
    for name in band_sets:
        try:
            roles = {b: r for r, b in get_band_set(name).roles.items()}
        except BandError:  # a band set this version does not register
            continue
        if band in roles and L4S14.has(roles[band]):
            return L4S14.band_for(roles[band])
    return None


def band_factors(bands: tuple[str, ...], src: Domain, dst: Domain) -> np.ndarray:
    """Per-band multipliers taking ``src`` values to ``dst`` (both scales linear through zero)."""
    if not can_convert(src.scale, dst.scale):
        raise DomainError(
            f"input is {src} ({SCALE_NAMES[src.scale]}) but the run was trained on {dst} "
            f"({SCALE_NAMES[dst.scale]}), and no documented conversion exists between the two; "
            f"give inputs on the {dst.scale} scale or use a run trained on {src.scale} data"
        )
    if src.scale == dst.scale:
        return np.ones(len(bands), np.float32)
    names = [_l4s_band(b, (src.band_set, dst.band_set)) if "l4s" in (src.scale, dst.scale) else b for b in bands]
    unknown = [b for b, n in zip(bands, names) if n is None]
    if unknown:
        raise DomainError(
            f"bands {', '.join(unknown)} have no Landslide4Sense divisor; "
            f"the l4s scale covers {', '.join(L4S_MEANS)} and the bands with their roles"
        )
    return np.array(
        [_to_reflectance_factor(n, src.scale) / _to_reflectance_factor(n, dst.scale) for n in names], np.float32
    )


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


def declared_scale(tags: Mapping[str, str], dtype: str, source: str) -> str | None:
    """The value scale a raster declares: its :data:`SCALE_TAG` tag, else ``uint8`` for 8-bit
    pixels; None when it declares nothing (then the run's scale is assumed and checked, see
    :func:`input_factors`)."""
    scale = tags.get(SCALE_TAG)
    if scale is None:
        return "uint8" if dtype == "uint8" else None
    if scale not in SCALES:
        raise DomainError(
            f"{source}: tag {SCALE_TAG}={scale!r} is not a value scale; valid: {', '.join(SCALES)}; "
            f"correct it, e.g. gdal_edit.py -mo {SCALE_TAG}=reflectance {source}"
        )
    return scale


def _probe(x: np.ndarray) -> np.ndarray:
    """``x`` (C, ...) as (C, n) float64, every k-th pixel so that n <= :data:`_PROBE_PIXELS`."""
    flat = np.asarray(x).reshape(np.shape(x)[0], -1)
    return flat[:, :: max(1, flat.shape[1] // _PROBE_PIXELS)].astype(np.float64)


def check_values(
    x: np.ndarray, bands: tuple[str, ...], stats: BandStats, run: Domain, declared: Domain | None, source: str
) -> None:
    """Refuse ``x`` (C, ...), channels ``bands`` already on the ``run``'s scale, when its values
    are clearly on another scale than the run's training values ``stats`` (``band_stats.json``).

    In each band the non-zero finite values (zero is fill as often as data) are compared with
    the training values: a median :data:`VALUE_FACTOR` times above the largest training value, or
    a 99th percentile that many times below the training mean, marks the band; the input is
    refused when more than half of the bands it can judge are marked the same way. Bands the
    statistics do not hold, or with fewer than 16 such values, are not judged. ``declared`` is
    the domain the input declares (None: none; the message then says how to declare one)."""
    if not all(b in stats.bands for b in bands):
        return
    judged, above, below = 0, [], []
    for band, v in zip(bands, np.abs(_probe(x))):
        j = stats.bands.index(band)
        top, mean = max(abs(stats.min[j]), abs(stats.max[j])), abs(stats.mean[j])
        v = v[np.isfinite(v) & (v > 0)]
        if len(v) < 16 or not (np.isfinite(top) and top > 0 and np.isfinite(mean) and mean > 0):
            continue
        judged += 1
        median, p99 = np.percentile(v, [50, 99])
        if median > VALUE_FACTOR * top:
            above.append(f"{band}: median {median:.4g}, training at most {top:.4g}")
        elif p99 < mean / VALUE_FACTOR:
            below.append(f"{band}: 99 % of values under {p99:.4g}, training mean {mean:.4g}")
    if declared is None:
        why = (
            f"the input declares no scale, so the run's was assumed; convert the input to the run's scale, or "
            f"declare its own with the {SCALE_TAG} tag (gdal_edit.py -mo {SCALE_TAG}=<{'|'.join(SCALES)}> FILE) "
            "so it is converted"
        )
    else:
        converted = f", converted to {run}" if declared.scale != run.scale else ""
        why = f"the input declares {declared}{converted}; check that scale, and the domain in the run's run.json"
    for marked, where in ((above, "far above"), (below, "far below")):
        if 2 * len(marked) > judged:
            raise DomainError(
                f"{source}: input values are {where} the run's training values in {len(marked)} of "
                f"{judged} bands ({marked[0]}), so not on the run's scale, {run} "
                f"({SCALE_NAMES[run.scale]}); {why}"
            )


def _beyond(x: np.ndarray, scale: str) -> float | None:
    """The most extreme finite value of ``x`` outside the bounds of ``scale``, or None."""
    lo, hi = SCALE_BOUNDS.get(scale, (-np.inf, np.inf))
    v = np.asarray(x, np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    top, bottom = float(v.max()), float(v.min())
    return top if top > hi else bottom if bottom < lo else None


def check_bounds(x: np.ndarray, run: Domain, source: str) -> None:
    """Refuse an input declaring no scale, taken to be on the ``run``'s, whose values ``x`` leave
    that scale's bounds (:data:`SCALE_BOUNDS`)."""
    value = _beyond(x, run.scale)
    if value is not None:
        lo, hi = SCALE_BOUNDS[run.scale]
        raise DomainError(
            f"{source}: input values reach {value:g}, beyond the {lo:g}-{hi:g} of the run's scale {run} "
            f"({SCALE_NAMES[run.scale]}), which an input declaring no scale is taken to be on (a "
            "16-bit image given to a run trained on 8-bit images?); convert it to the run's scale, or "
            "use a run trained on such images"
        )


def training_domain(band_set: str, declared: str | None, x: np.ndarray, source: str) -> Domain:
    """The domain a run trains on: the scale its training files declare (``declared``), else the
    documented default of ``band_set`` (:func:`run_domain`), refused when the training values
    ``x`` (those of the first file, ``source``) leave that default's bounds."""
    if declared:
        return Domain(band_set, declared)
    default = run_domain({}, band_set)
    value = _beyond(x, default.scale)
    if value is not None:
        lo, hi = SCALE_BOUNDS[default.scale]
        raise DomainError(
            f"{source}: values reach {value:g}, beyond the {lo:g}-{hi:g} of {default.scale} "
            f"({SCALE_NAMES[default.scale]}), the scale assumed for band set {band_set} when images "
            f"declare none (16-bit images?); write them as GeoTIFFs declaring their scale "
            f"({SCALE_TAG}, e.g. s2-dn), or convert them to 8-bit"
        )
    return default


def input_factors(
    x: np.ndarray, bands: tuple[str, ...], scale: str | None, run: Domain, stats: BandStats | None, source: str
) -> np.ndarray:
    """Per-band multipliers taking input ``x`` (C, ...; channels ``bands``, the run's) from the
    ``scale`` it declares to the ``run``'s domain; raises :class:`DomainError`, naming ``source``,
    both domains and the fix, where no conversion exists, or where the converted values are not
    on the run's scale (:func:`check_values` against the run's training ``stats``). ``scale``
    None (undeclared) is taken to be the run's. Every prediction's input passes here (scenes
    with a sample of their pixels)."""
    declared = Domain(run.band_set, scale) if scale else None
    try:
        factors = band_factors(tuple(bands), declared or run, run)
    except DomainError as e:
        raise DomainError(f"{source}: {e}") from None
    if declared is None:
        check_bounds(_probe(x), run, source)
    if stats is not None:
        check_values(_probe(x) * factors[:, None], bands, stats, run, declared, source)
    return factors
