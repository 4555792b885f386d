"""Derived bands: one small registered function each, with its formula and source.

A derived band turns a batch's source bands, asked for by spectral role, into one more band
(B, H, W); it may build on other derived bands, asked for by name (GAUSS blurs GRAY). The
registry is open, as torchgeo's index transforms are one class per index: a new index is a
pure addition, one decorated function, then any preset may append it::

    @derived_band("SAVI", Role.NIR, Role.RED)
    def savi(bands: Bands) -> torch.Tensor:
        \"\"\"SAVI = 1.5 (NIR - RED) / (NIR + RED + 0.5) (Huete, 1988).\"\"\"
        nir, red = bands[Role.NIR], bands[Role.RED]
        return 1.5 * (nir - red) / (nir + red + 0.5)

    register_preset(Preset("l4s22", "l4s14", ("NDVI", "NDMI", "NBR", "GRAY", "SAVI")))

:data:`DERIVED_BANDS` is the registry's read-only live view, in registration order. The
built-in bands follow the RAU-Net paper (Dang et al.): min-max scaled RGB, NDVI, NDMI, NBR, the
gray band and its Gaussian, median, Sobel and Canny filters. The filters read their sizes and
thresholds from :class:`FilterOptions` (``bands.options``).

Safety: a normalised difference is ``(a - b) / (a + b)`` with a denominator smaller than 1e-6
in magnitude moved to ±1e-6 (sign kept) and the result clipped to [-1, 1], and min-max scaling
of a constant band gives 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from ..bands import BandSet, Role
from ..errors import BandError
from ..registry import Registry
from .filters import box_blur, canny_edges, gaussian_blur, median_blur, median_blur_uint8, sobel

__all__ = [
    "BLURS",
    "MEDIANS",
    "FilterOptions",
    "Bands",
    "DerivedBand",
    "DERIVED_BANDS",
    "derived_band",
    "register_derived_band",
    "get_derived_band",
    "normalized_difference",
    "minmax_scale",
    "gray",
]

EPS = 1e-6

BLURS: tuple[str, ...] = ("gaussian", "box")
"""GAUSS filters: ``gaussian`` (the paper) or ``box`` (``cv2.blur``, the authors' code)."""

MEDIANS: tuple[str, ...] = ("exact", "uint8")
"""MEDIAN filters: ``exact`` (:func:`.filters.median_blur`) or ``uint8`` (:func:`.filters.median_blur_uint8`)."""


@dataclass(frozen=True)
class FilterOptions:
    """Sizes and thresholds of the filter bands (defaults: the paper's 10x10 kernels).

    Raises:
        BandError: ``blur`` not in :data:`BLURS` or ``median`` not in :data:`MEDIANS`.
    """

    gaussian_kernel: int = 10
    median_kernel: int = 10
    blur: str = "gaussian"
    median: str = "exact"
    canny_low: float = 0.1
    canny_high: float = 0.2

    def __post_init__(self) -> None:
        for key, value, valid in (("blur", self.blur, BLURS), ("median", self.median, MEDIANS)):
            if value not in valid:
                raise BandError(f"{key} must be one of {', '.join(map(repr, valid))}, not {value!r}")


class Bands:
    """What a derived band reads: ``bands[Role.NIR]`` is a source band, ``bands["GRAY"]`` another
    derived band (computed once per batch), ``bands.options`` the filter settings; each is (B, H, W)."""

    def __init__(self, x: torch.Tensor, source: BandSet, options: FilterOptions) -> None:
        self._x = x
        self.source = source
        self.options = options
        self._derived: dict[str, torch.Tensor] = {}

    def __getitem__(self, key: Role | str) -> torch.Tensor:
        if isinstance(key, Role):
            return self._x[:, self.source.index(self.source.band_for(key))]
        if key not in self._derived:
            self._derived[key] = get_derived_band(key).compute(self)
        return self._derived[key]


Compute = Callable[[Bands], torch.Tensor]


@dataclass(frozen=True)
class DerivedBand:
    """A derived band: its ``name``, what it ``reads`` (roles and other derived bands' names) and
    ``compute(bands) -> (B, H, W)``."""

    name: str
    reads: tuple[Role | str, ...]
    compute: Compute

    def roles(self) -> tuple[Role, ...]:
        """Every source role it needs, directly or through the derived bands it reads."""
        found: dict[Role, None] = {}
        for r in self.reads:
            found.update(dict.fromkeys((r,) if isinstance(r, Role) else get_derived_band(r).roles()))
        return tuple(found)


_REGISTRY: Registry[DerivedBand] = Registry("derived band", BandError)
DERIVED_BANDS: Mapping[str, DerivedBand] = _REGISTRY.view
"""Registered derived bands by name, in registration order (read-only live view)."""


def get_derived_band(name: str) -> DerivedBand:
    """The derived band registered as ``name``; the error lists the valid names."""
    return _REGISTRY.lookup(name)


def register_derived_band(band: DerivedBand, *, replace: bool = False) -> DerivedBand:
    """Add ``band`` under ``band.name``; the derived bands it reads must be registered already.

    Raises:
        BandError: a name in ``band.reads`` is not a role nor a registered derived band, or the
            name is taken by a different band and ``replace`` is False.
    """
    for r in band.reads:
        if not isinstance(r, Role) and (r == band.name or r not in _REGISTRY):
            raise BandError(
                f"derived band {band.name!r} reads {r!r}, which is neither a Role nor a registered "
                f"derived band; valid: {_REGISTRY.valid()}"
            )
    return _REGISTRY.register(band.name, band, replace=replace)


def derived_band(name: str, *reads: Role | str) -> Callable[[Compute], Compute]:
    """Decorator: register ``compute(bands) -> (B, H, W)`` as derived band ``name`` reading ``reads``."""

    def add(compute: Compute) -> Compute:
        register_derived_band(DerivedBand(name, tuple(reads), compute))
        return compute

    return add


def normalized_difference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``clip((a - b) / d, -1, 1)`` where ``d = a + b`` moved to ``±1e-6`` when ``|a + b| < 1e-6``.

    The sign of ``a + b`` is kept (``+1e-6`` when ``a + b`` is exactly 0), so a tiny negative
    denominator stays negative. The clip only acts where the denominator was moved or the inputs
    have mixed signs (for reflectances ``a, b >= 0`` the ratio is already in [-1, 1]).
    """
    den = a + b
    size = den.abs().clamp_min(EPS)
    return ((a - b) / torch.where(den < 0, -size, size)).clamp_(-1.0, 1.0)


def minmax_scale(x: torch.Tensor) -> torch.Tensor:
    """Per image and channel ``(x - min) / (max - min)``; a constant channel maps to 0."""
    lo = x.amin(dim=(-2, -1), keepdim=True)
    hi = x.amax(dim=(-2, -1), keepdim=True)
    return (x - lo) / (hi - lo).clamp_min(EPS)


def gray(red: torch.Tensor, green: torch.Tensor, blue: torch.Tensor) -> torch.Tensor:
    """Unweighted brightness ``(R + G + B) / 3`` as in the RAU-Net paper."""
    return (red + green + blue) / 3.0


# --- built-in bands, in the order presets append them ----------------------------------------


@derived_band("RED_MM", Role.RED)
def red_mm(bands: Bands) -> torch.Tensor:
    """RED min-max scaled per image to [0, 1] (:func:`minmax_scale`; RAU-Net's scaled RGB)."""
    return minmax_scale(bands[Role.RED])


@derived_band("GREEN_MM", Role.GREEN)
def green_mm(bands: Bands) -> torch.Tensor:
    """GREEN min-max scaled per image to [0, 1]."""
    return minmax_scale(bands[Role.GREEN])


@derived_band("BLUE_MM", Role.BLUE)
def blue_mm(bands: Bands) -> torch.Tensor:
    """BLUE min-max scaled per image to [0, 1]."""
    return minmax_scale(bands[Role.BLUE])


@derived_band("NDVI", Role.NIR, Role.RED)
def ndvi(bands: Bands) -> torch.Tensor:
    """NDVI = (NIR - RED) / (NIR + RED) (Rouse et al., 1974), safe as :func:`normalized_difference`."""
    return normalized_difference(bands[Role.NIR], bands[Role.RED])


@derived_band("NDMI", Role.NIR, Role.SWIR1)
def ndmi(bands: Bands) -> torch.Tensor:
    """NDMI = (NIR - SWIR1) / (NIR + SWIR1) (Gao, 1996, as NDWI), safe as :func:`normalized_difference`."""
    return normalized_difference(bands[Role.NIR], bands[Role.SWIR1])


@derived_band("NBR", Role.NIR, Role.SWIR2)
def nbr(bands: Bands) -> torch.Tensor:
    """NBR = (NIR - SWIR2) / (NIR + SWIR2) (Key & Benson, 2006), safe as :func:`normalized_difference`."""
    return normalized_difference(bands[Role.NIR], bands[Role.SWIR2])


@derived_band("GRAY", Role.RED, Role.GREEN, Role.BLUE)
def gray_band(bands: Bands) -> torch.Tensor:
    """GRAY = (RED + GREEN + BLUE) / 3 (:func:`gray`)."""
    return gray(bands[Role.RED], bands[Role.GREEN], bands[Role.BLUE])


def _filter(f: Callable[..., torch.Tensor], band: torch.Tensor, *args: object) -> torch.Tensor:
    """Apply a (B, C, H, W) filter to one (B, H, W) band."""
    return f(band[:, None], *args)[:, 0]


@derived_band("GAUSS", "GRAY")
def gauss(bands: Bands) -> torch.Tensor:
    """GRAY blurred over ``gaussian_kernel`` pixels: :func:`.filters.gaussian_blur` (the paper's
    Gaussian) or, with ``blur="box"``, :func:`.filters.box_blur` (``cv2.blur``, the authors' code)."""
    o = bands.options
    return _filter(gaussian_blur if o.blur == "gaussian" else box_blur, bands["GRAY"], o.gaussian_kernel)


@derived_band("MEDIAN", "GRAY")
def median(bands: Bands) -> torch.Tensor:
    """Median of GRAY over ``median_kernel`` pixels: :func:`.filters.median_blur` (exact, float)
    or, with ``median="uint8"``, :func:`.filters.median_blur_uint8` (8-bit, the authors' recipe)."""
    o = bands.options
    return _filter(median_blur if o.median == "exact" else median_blur_uint8, bands["GRAY"], o.median_kernel)


@derived_band("SOBEL_X", "GRAY")
def sobel_x(bands: Bands) -> torch.Tensor:
    """d(GRAY)/dx by the 3x3 Sobel kernel (``cv2.Sobel(GRAY, -1, 1, 0)``)."""
    return sobel(bands["GRAY"][:, None])[0][:, 0]


@derived_band("SOBEL_Y", "GRAY")
def sobel_y(bands: Bands) -> torch.Tensor:
    """d(GRAY)/dy by the 3x3 Sobel kernel (``cv2.Sobel(GRAY, -1, 0, 1)``)."""
    return sobel(bands["GRAY"][:, None])[1][:, 0]


@derived_band("CANNY", "GRAY")
def canny(bands: Bands) -> torch.Tensor:
    """Canny edges (0/1) of GRAY min-max scaled per image, thresholds ``canny_low``/``canny_high`` (kornia)."""
    o = bands.options
    return _filter(canny_edges, minmax_scale(bands["GRAY"]), o.canny_low, o.canny_high)
