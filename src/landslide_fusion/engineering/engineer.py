"""Band engineering: raw bands to the RAU-Net paper's derived band sets, batched on any device.

Each derived band is one small registered function in :mod:`.derived` with its formula and
source. ``BandEngineer`` maps a (B, C, H, W) batch of a source band set to a preset's output bands with no per-image
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
source, derived))`` adds one for any registered band set whose roles the derived bands need,
so a new sensor needs no edit here. Each derived band is a small registered function in
:mod:`.derived` (:data:`DERIVED_BANDS` lists them), so a new index needs no edit here either.

Kernel sizes: the paper states 10x10 Gaussian and median filters (the defaults here); the
authors' released code used ``cv2.blur`` 10x10 (a *box* blur) and ``cv2.medianBlur`` 15x15 on an
8-bit image. Set ``blur="box"``, ``median="uint8"`` and ``median_kernel=15`` to follow the code
rather than the paper: GAUSS then equals ``cv2.blur(GRAY, (10, 10))`` and MEDIAN equals
``cv2.medianBlur`` of GRAY quantised to 8 bits from each patch's range, mapped back to GRAY's
units (:func:`.filters.median_blur_uint8` defines it, even sizes included). The default
``median="exact"`` is the exact float median, which agrees with ``cv2.medianBlur`` only away from
the border (:mod:`.filters` gives each filter's exact reference).

NaN/inf inputs are replaced by 0 before any derived band is computed, so outputs are always
finite (see :mod:`.derived` for the safe index formulas).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch
from torch import nn

from ..bands import BandSet, get_band_set
from ..errors import BandError
from ..registry import Registry
from .derived import DERIVED_BANDS, Bands, FilterOptions, get_derived_band, gray, minmax_scale, normalized_difference

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
]  # the index formulas live in .derived; their names stay importable from here


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
                f"preset {self.name!r}: unknown derived band(s) {', '.join(unknown)}; "
                f"valid: {', '.join(DERIVED_BANDS)} "
                "(add one with landslide_fusion.engineering.derived.derived_band)"
            )


_REGISTRY: Registry[Preset] = Registry("preset", BandError)
PRESETS: Mapping[str, Preset] = _REGISTRY.view
"""Registered presets by name, in registration order (read-only live view)."""


def register_preset(preset: Preset, *, replace: bool = False) -> Preset:
    """Add ``preset`` under ``preset.name``; its source must be a registered band set.

    The source must also have the roles its derived bands read (:meth:`.DerivedBand.roles`: RED,
    GREEN and BLUE for the min-max, gray and filter bands, NIR with RED / SWIR1 / SWIR2 for NDVI /
    NDMI / NBR); :class:`BandEngineer` checks them when it is built.
    """
    get_band_set(preset.source)
    return _REGISTRY.register(preset.name, preset, replace=replace)


_MM = ("RED_MM", "GREEN_MM", "BLUE_MM")
_L4S_INDICES = ("NDVI", "NDMI", "NBR", "GRAY")
_BLUR = ("GAUSS", "MEDIAN")
_SOBEL = ("SOBEL_X", "SOBEL_Y")


def _chain(source: str, names: tuple[str, ...], steps: tuple[tuple[str, ...], ...]) -> None:
    derived: tuple[str, ...] = ()
    for name, step in zip(names, steps):
        derived = derived + step
        register_preset(Preset(name, source, derived))


_chain(
    "l4s14", ("l4s14", "l4s17", "l4s21", "l4s23", "l4s25", "l4s26"), ((), _MM, _L4S_INDICES, _BLUR, _SOBEL, ("CANNY",))
)
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
        median: ``"exact"`` (float median, the paper) or ``"uint8"`` (8-bit median, the authors'
            code; on CPU computed by OpenCV, see :func:`.filters.median_blur_uint8`).
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
        median: str = "exact",
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
        self.options = FilterOptions(gaussian_kernel, median_kernel, blur, median, canny_low, canny_high)
        self.source: BandSet = get_band_set(source)
        for role in dict.fromkeys(r for d in self.preset.derived for r in get_derived_band(d).roles()):
            self.source.band_for(role)  # a missing role fails here, naming the roles the set has

    @property
    def out_bands(self) -> tuple[str, ...]:
        return self.source.bands + self.preset.derived

    @property
    def in_channels(self) -> int:
        return len(self.source)

    @property
    def out_channels(self) -> int:
        return len(self.out_bands)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise BandError(
                f"BandEngineer({self.source.name!r}) expects (B, {self.in_channels}, H, W) with bands "
                f"{', '.join(self.source.bands)}; got shape {tuple(x.shape)}"
            )
        x = x.float()
        clean = {"nan": 0.0, "posinf": 0.0, "neginf": 0.0}
        if torch.jit.is_tracing() or (torch.is_grad_enabled() and x.requires_grad):
            x = torch.nan_to_num(x, **clean)  # one concatenation: a plain graph for ONNX and autograd
            bands = Bands(x, self.source, self.options)
            return torch.cat([x] + [bands[name][:, None] for name in self.preset.derived], dim=1)
        # otherwise each band is written once, into its place in the output: on a CPU the copies of
        # a concatenation cost about as much as all the derived bands together
        b, c, h, w = x.shape
        out = x.new_empty(b, self.out_channels, h, w)
        torch.nan_to_num(x, **clean, out=out[:, :c])
        bands = Bands(out[:, :c], self.source, self.options)
        for i, name in enumerate(self.preset.derived, c):
            out[:, i] = bands[name]
        return out

    def extra_repr(self) -> str:
        return f"{self.source.name} -> {self.preset.name} ({self.out_channels} bands)"
