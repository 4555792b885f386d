"""Band engineering: raw bands to the RAU-Net paper's derived band sets, batched on any device.

Each derived band is one small function below with its formula and source. ``BandEngineer``
maps a (B, C, H, W) batch of a source band set to a preset's output bands with no per-image
Python loop, so it runs on the GPU inside the training step.

Presets (Dang et al., RAU-Net, band tables; Ghorbanzadeh et al., 2022 for the 14 raw bands):

========  =================================================================================
l4s14     B1..B12, SLOPE, DEM (raw)
l4s17     + min-max scaled RGB (per image)
l4s21     + NDVI (B8, B4), NDMI (B8, B11), NBR (B8, B12), GRAY = (B2 + B3 + B4) / 3
l4s23     + Gaussian blur and median blur of GRAY
l4s25     + Sobel x and y of GRAY
l4s26     + Canny edges of GRAY
rgb3 ...  the same steps for RGB sources (rgb3, rgb7, rgb9, rgb12) and RGB+NIR
          sources (rgbn4, rgbn9, rgbn11, rgbn14), which add NDVI but have no SWIR indices
========  =================================================================================

Presets are a registry (:mod:`landslide_fusion.registry`): ``register_preset(Preset(name,
source, derived))`` adds one for any registered band set whose roles the derived bands need
(``DERIVED_BANDS`` lists them), so a new sensor needs no edit here.

Kernel sizes: the paper states 10x10 Gaussian and median filters (the defaults here); the
authors' released code used ``cv2.blur`` 10x10 (a *box* blur) and ``cv2.medianBlur`` 15x15. Set
``blur="box"`` and ``median_kernel=15`` to follow the code rather than the paper: GAUSS then
equals ``cv2.blur(GRAY, (10, 10))`` everywhere, and MEDIAN equals ``cv2.medianBlur`` except
within 7 pixels of the border, where OpenCV's median replicates the edge pixel and this one
mirrors like every other filter here (:mod:`.filters` gives each filter's exact reference).

Safety: a normalised difference is ``(a - b) / (a + b)`` with a denominator smaller than 1e-6
in magnitude moved to ±1e-6 (sign kept) and the result clipped to [-1, 1], min-max scaling of a
constant band gives 0, and NaN/inf inputs are replaced by 0 before any derived band is computed,
so outputs are always finite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch
from torch import nn

from ..bands import BandSet, Role, get_band_set
from ..errors import BandError
from ..registry import Registry
from .filters import box_blur, canny_edges, gaussian_blur, median_blur, sobel

__all__ = [
    "BandEngineer",
    "PRESETS",
    "Preset",
    "DERIVED_BANDS",
    "register_preset",
    "list_presets",
    "normalized_difference",
    "minmax_scale",
    "gray",
]

EPS = 1e-6


def normalized_difference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``clip((a - b) / d, -1, 1)`` where ``d = a + b`` moved to ``±1e-6`` when ``|a + b| < 1e-6``.

    The sign of ``a + b`` is kept (``+1e-6`` when ``a + b`` is exactly 0), so a tiny negative
    denominator stays negative. The clip only acts where the denominator was moved or the inputs
    have mixed signs (for reflectances ``a, b >= 0`` the ratio is already in [-1, 1]).

    NDVI = ND(NIR, RED) (Rouse et al., 1974); NDMI = ND(NIR, SWIR1) (Gao, 1996, as NDWI);
    NBR = ND(NIR, SWIR2) (Key & Benson, 2006).
    """
    den = a + b
    eps = torch.full_like(den, EPS)
    den = torch.where(den.abs() < EPS, torch.where(den < 0, -eps, eps), den)
    return ((a - b) / den).clamp(-1.0, 1.0)


def minmax_scale(x: torch.Tensor) -> torch.Tensor:
    """Per image and channel ``(x - min) / (max - min)``; a constant channel maps to 0."""
    lo = x.amin(dim=(-2, -1), keepdim=True)
    hi = x.amax(dim=(-2, -1), keepdim=True)
    return (x - lo) / (hi - lo).clamp_min(EPS)


def gray(red: torch.Tensor, green: torch.Tensor, blue: torch.Tensor) -> torch.Tensor:
    """Unweighted brightness ``(R + G + B) / 3`` as in the RAU-Net paper."""
    return (red + green + blue) / 3.0


_MM = ("RED_MM", "GREEN_MM", "BLUE_MM")
_L4S_INDICES = ("NDVI", "NDMI", "NBR", "GRAY")
_BLUR = ("GAUSS", "MEDIAN")
_SOBEL = ("SOBEL_X", "SOBEL_Y")
_RGB = (Role.RED, Role.GREEN, Role.BLUE)
_NEEDS: Mapping[str, tuple[Role, ...]] = {
    **{d: _RGB for d in _MM + ("GRAY",) + _BLUR + _SOBEL + ("CANNY",)},
    "NDVI": (Role.NIR, Role.RED),
    "NDMI": (Role.NIR, Role.SWIR1),
    "NBR": (Role.NIR, Role.SWIR2),
}
DERIVED_BANDS: tuple[str, ...] = tuple(_NEEDS)
"""Every derived band a preset may append (see the module docs)."""


@dataclass(frozen=True)
class Preset:
    """A named output band set: the registered band set it reads and the derived bands it appends.

    Raises:
        BandError: an unknown derived band (the message lists :data:`DERIVED_BANDS`).
    """

    name: str
    source: str
    derived: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = [d for d in self.derived if d not in DERIVED_BANDS]
        if unknown:
            raise BandError(
                f"preset {self.name!r}: unknown derived band(s) {', '.join(unknown)}; valid: {', '.join(DERIVED_BANDS)}"
            )


_REGISTRY: Registry[Preset] = Registry("preset", BandError)
PRESETS: Mapping[str, Preset] = _REGISTRY.view
"""Registered presets by name, in registration order (read-only live view)."""


def register_preset(preset: Preset, *, replace: bool = False) -> Preset:
    """Add ``preset`` under ``preset.name``; its source must be a registered band set.

    The source must also have the roles its derived bands read (RED, GREEN and BLUE for the
    min-max, gray and filter bands, NIR with RED / SWIR1 / SWIR2 for NDVI / NDMI / NBR);
    :class:`BandEngineer` checks them when it is built.
    """
    get_band_set(preset.source)
    return _REGISTRY.register(preset.name, preset, replace=replace)


def _chain(source: str, names: tuple[str, ...], steps: tuple[tuple[str, ...], ...]) -> None:
    derived: tuple[str, ...] = ()
    for name, step in zip(names, steps):
        derived = derived + step
        register_preset(Preset(name, source, derived))


_chain("l4s14", ("l4s14", "l4s17", "l4s21", "l4s23", "l4s25", "l4s26"), ((), _MM, _L4S_INDICES, _BLUR, _SOBEL, ("CANNY",)))
_chain("rgb", ("rgb3", "rgb7", "rgb9", "rgb12"), ((), _MM + ("GRAY",), _BLUR, _SOBEL + ("CANNY",)))
_chain("rgbn", ("rgbn4", "rgbn9", "rgbn11", "rgbn14"), ((), _MM + ("NDVI", "GRAY"), _BLUR, _SOBEL + ("CANNY",)))


def list_presets(source: str | None = None) -> list[str]:
    """Preset names, optionally only those reading ``source``."""
    return [p.name for p in PRESETS.values() if source is None or p.source == source]


class BandEngineer(nn.Module):
    """Map a batch of ``source`` bands to a preset's bands: (B, C, H, W) -> (B, K, H, W).

    Args:
        source: band set name of the input (``l4s14``, ``rgb``, ``rgbn``).
        preset: output preset (see module docs); must read ``source``.
        gaussian_kernel, median_kernel: filter sizes in pixels (paper: 10 and 10).
        blur: ``"gaussian"`` (paper) or ``"box"`` (authors' code).
        canny_low, canny_high: Canny thresholds on the per-image min-max scaled gray image.
    """

    def __init__(
        self,
        source: str,
        preset: str,
        *,
        gaussian_kernel: int = 10,
        median_kernel: int = 10,
        blur: str = "gaussian",
        canny_low: float = 0.1,
        canny_high: float = 0.2,
    ) -> None:
        super().__init__()
        self.preset = _REGISTRY.lookup(preset)
        if self.preset.source != source:
            raise BandError(
                f"preset {preset!r} reads band set {self.preset.source!r}, not {source!r}; "
                f"presets for {source!r}: {', '.join(list_presets(source)) or 'none'}"
            )
        if blur not in ("gaussian", "box"):
            raise BandError(f"blur must be 'gaussian' or 'box', not {blur!r}")
        self.source: BandSet = get_band_set(source)
        for role in dict.fromkeys(r for d in self.preset.derived for r in _NEEDS[d]):
            self.source.band_for(role)  # a missing role fails here, naming the roles the set has
        self.gaussian_kernel = gaussian_kernel
        self.median_kernel = median_kernel
        self.blur = blur
        self.canny_low = canny_low
        self.canny_high = canny_high

    @property
    def out_bands(self) -> tuple[str, ...]:
        return self.source.bands + self.preset.derived

    @property
    def in_channels(self) -> int:
        return len(self.source)

    @property
    def out_channels(self) -> int:
        return len(self.out_bands)

    def _band(self, x: torch.Tensor, role: Role) -> torch.Tensor:
        return x[:, self.source.index(self.source.band_for(role))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise BandError(
                f"BandEngineer({self.source.name!r}) expects (B, {self.in_channels}, H, W) with bands "
                f"{', '.join(self.source.bands)}; got shape {tuple(x.shape)}"
            )
        x = torch.nan_to_num(x.float(), nan=0.0, posinf=0.0, neginf=0.0)
        want = set(self.preset.derived)
        if not want:
            return x
        band = self._band
        d: dict[str, torch.Tensor] = {}
        if want & set(_MM):
            rgb = torch.stack([band(x, Role.RED), band(x, Role.GREEN), band(x, Role.BLUE)], 1)
            d.update(zip(_MM, minmax_scale(rgb).unbind(1)))
        if "NDVI" in want:
            d["NDVI"] = normalized_difference(band(x, Role.NIR), band(x, Role.RED))
        if "NDMI" in want:
            d["NDMI"] = normalized_difference(band(x, Role.NIR), band(x, Role.SWIR1))
        if "NBR" in want:
            d["NBR"] = normalized_difference(band(x, Role.NIR), band(x, Role.SWIR2))
        if want & {"GRAY", *_BLUR, *_SOBEL, "CANNY"}:
            g = gray(band(x, Role.RED), band(x, Role.GREEN), band(x, Role.BLUE))[:, None]
            d["GRAY"] = g[:, 0]
            if "GAUSS" in want:
                blur = gaussian_blur if self.blur == "gaussian" else box_blur
                d["GAUSS"] = blur(g, self.gaussian_kernel)[:, 0]
            if "MEDIAN" in want:
                d["MEDIAN"] = median_blur(g, self.median_kernel)[:, 0]
            if want & set(_SOBEL):
                gx, gy = sobel(g)
                d["SOBEL_X"], d["SOBEL_Y"] = gx[:, 0], gy[:, 0]
            if "CANNY" in want:
                d["CANNY"] = canny_edges(minmax_scale(g), self.canny_low, self.canny_high)[:, 0]
        return torch.cat([x] + [d[name][:, None] for name in self.preset.derived], dim=1)

    def extra_repr(self) -> str:
        return f"{self.source.name} -> {self.preset.name} ({self.out_channels} bands)"
