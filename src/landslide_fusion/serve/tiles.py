"""Map tiles of a job's COGs (rio-tiler, Web Mercator ``z/x/y``, 256 px PNG).

Layers: ``composite`` (the 8-bit true-colour COG with its alpha band, as it is) and
``probability`` (landslide probability 0..1 through the ``magma`` colour map, transparent where
the probability is below ``_SHOW_FROM`` or missing, so the composite shows through where nothing
is predicted). A tile outside the job's box is ``None`` (the API answers 204).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["LAYERS", "render_tile"]

#: Layer -> COG in the job's results folder.
LAYERS = {"composite": "composite.tif", "probability": "probability.tif"}
_SHOW_FROM = 0.05


def render_tile(results: Path, layer: str, z: int, x: int, y: int) -> bytes | None:
    """PNG bytes of tile ``z/x/y`` of ``layer`` (a key of :data:`LAYERS`), or None outside the data."""
    from rio_tiler.colormap import cmap
    from rio_tiler.errors import TileOutsideBounds
    from rio_tiler.io import Reader
    from rio_tiler.utils import render

    with Reader(str(results / LAYERS[layer])) as src:
        try:  # the composite's alpha band is its mask, not a fourth colour
            img = src.tile(x, y, z, tilesize=256, indexes=(1, 2, 3) if layer == "composite" else 1)
        except TileOutsideBounds:
            return None
    if layer == "composite":
        return img.render(img_format="PNG")
    p = img.array.data[0].astype(np.float32)
    show = ~np.ma.getmaskarray(img.array)[0] & np.isfinite(p) & (p >= _SHOW_FROM)
    idx = np.clip(np.nan_to_num(p) * 255, 0, 255).astype(np.uint8)
    colours = cmap.get("magma")
    rgba = np.array([colours[i] for i in range(256)], np.uint8)[idx]
    rgba[..., 3] = np.where(show, 200, 0)
    return render(np.moveaxis(rgba[..., :3], -1, 0), mask=rgba[..., 3], img_format="PNG")
