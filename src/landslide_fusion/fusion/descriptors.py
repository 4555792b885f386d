"""Region descriptors computed from the imagery itself: a tabular side when no table exists.

For every band: mean, standard deviation and the 10th/50th/90th percentiles
(``{band}_mean``, ``{band}_std``, ``{band}_p10`` ...). Where the roles exist, the same five
statistics of:

* NDVI = (NIR - RED) / (NIR + RED) (Rouse et al., 1974), needs NIR and RED;
* GRVI = (GREEN - RED) / (GREEN + RED), the green-red vegetation index (Tucker, 1979;
  Motohashi et al., 2010), needs GREEN and RED: the RGB stand-in for NDVI;
* gradient magnitude of gray = (R + G + B) / 3 (3x3 Sobel), a texture measure: landslide
  scars are smoother than vegetated slopes around them;
* texture and shape of that gray image (:mod:`~landslide_fusion.fusion.texture`): orientation
  coherence, local contrast, coarse gradients, local binary patterns and the shape of the bright
  patches, which tell a scar from bare ground that only looks like one (fields, terraces, cuts).

Slope and DEM bands, when present, are covered by the per-band statistics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..bands import BAND_SETS, BandSet, Role, get_band_set
from ..errors import BandError
from ..io.sample import Sample
from ..regions import has_landslide
from ..engineering.engineer import gray, normalized_difference
from ..engineering.filters import sobel
from .summary import summary
from .texture import texture_descriptors

__all__ = ["image_descriptors", "describe_samples"]


def image_descriptors(image: np.ndarray, bands: BandSet | str) -> dict[str, float]:
    """Descriptors of one (C, H, W) image with named bands (see the module docstring)."""
    bands = get_band_set(bands) if isinstance(bands, str) else bands
    if image.ndim != 3 or image.shape[0] != len(bands):
        raise BandError(f"image has shape {image.shape}; band set {bands.name!r} needs ({len(bands)}, H, W)")
    out: dict[str, float] = {}
    for i, name in enumerate(bands.bands):
        out |= summary(name.lower(), image[i])
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))

    def band(role: Role) -> torch.Tensor:
        return t[bands.index(bands.band_for(role))]

    if bands.has(Role.NIR, Role.RED):
        out |= summary("ndvi", normalized_difference(band(Role.NIR), band(Role.RED)).numpy())
    if bands.has(Role.GREEN, Role.RED):
        out |= summary("grvi", normalized_difference(band(Role.GREEN), band(Role.RED)).numpy())
    if bands.has(Role.RED, Role.GREEN, Role.BLUE):
        g = gray(band(Role.RED), band(Role.GREEN), band(Role.BLUE))[None, None]
        gx, gy = sobel(g)
        out |= summary("gradient", torch.hypot(gx, gy)[0, 0].numpy())
        out |= texture_descriptors(g[0, 0].numpy())
    return out


def describe_samples(samples, band_set: BandSet | str | None = None, label: str = "landslide") -> pd.DataFrame:
    """One row per sample: ``id``, the descriptors, and ``label`` (1 if the mask has any
    landslide pixel) when the samples carry masks."""
    rows = []
    for s in samples:
        s: Sample
        bs = band_set or _band_set_of(s)
        row = {"id": s.id, **image_descriptors(s.image, bs)}
        if s.mask is not None:
            row[label] = int(has_landslide(s.mask))
        rows.append(row)
    return pd.DataFrame(rows)


def _band_set_of(sample: Sample) -> BandSet:
    for bs in BAND_SETS.values():
        if bs.bands == tuple(sample.bands):
            return bs
    raise BandError(f"sample {sample.id}: bands {sample.bands} match no band set; pass band_set")
