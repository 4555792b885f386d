"""Cloud-Optimised GeoTIFFs of a job's results, for links and map tiles.

``probability.tif``: assess's probability raster copied by GDAL's COG driver (tiles of 512 px,
overviews by averaging, DEFLATE). ``composite.tif``: the true-colour picture of the scene as
``map.png`` shows it (B4, B3, B2 as reflectance, stretched between the 2nd and 98th
percentiles: :mod:`landslide_fusion.riskmap`), as 8-bit RGB with an alpha band that is 0 where
the scene has no data. Source of the layout: GDAL's COG driver documentation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["write_cogs"]

_COG = {"driver": "COG", "compress": "DEFLATE", "blocksize": 512, "overview_resampling": "average"}


def _composite(scene: Path, out: Path) -> None:
    import rasterio
    from rasterio.io import MemoryFile

    from ..riskmap import true_colour  # the one true-colour stretch (map.png's)

    with rasterio.open(scene) as src:
        profile = {"crs": src.crs, "transform": src.transform, "width": src.width, "height": src.height}
        valid = np.isfinite(src.read(src.descriptions.index("B4") + 1))
    rgb = true_colour(scene)[0]
    bands = np.concatenate([np.moveaxis(np.round(rgb * 255), -1, 0), 255 * valid[None]]).astype(np.uint8)
    with MemoryFile() as mem:
        with mem.open(driver="GTiff", count=4, dtype="uint8", photometric="RGB", **profile) as tmp:
            tmp.write(bands)
            tmp.colorinterp = [
                rasterio.enums.ColorInterp.red,
                rasterio.enums.ColorInterp.green,
                rasterio.enums.ColorInterp.blue,
                rasterio.enums.ColorInterp.alpha,
            ]
        with mem.open() as tmp:
            rasterio.shutil.copy(tmp, out, **_COG)


def write_cogs(assess_dir: Path, out: Path) -> list[Path]:
    """``out/probability.tif`` and ``out/composite.tif`` from an assess folder; returns them."""
    import rasterio.shutil

    rasterio.shutil.copy(assess_dir / "probability.tif", out / "probability.tif", **_COG)
    _composite(assess_dir / "scene.tif", out / "composite.tif")
    return [out / "probability.tif", out / "composite.tif"]
