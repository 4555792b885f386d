"""Raster files: PNG/JPEG through Pillow, GeoTIFF through rasterio (georeferencing kept)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import DataError
from .atomic import atomic_path
from .sample import GeoInfo

__all__ = ["IMAGE_SUFFIXES", "read_raster", "write_geotiff"]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")
_TIFF = (".tif", ".tiff")


def read_raster(path: str | os.PathLike[str]) -> tuple[np.ndarray, GeoInfo | None]:
    """Read an image as (C, H, W) in its stored dtype, plus georeferencing for GeoTIFFs.

    PNG/JPEG: grey gives 1 channel, RGB 3, RGBA 3 (alpha dropped), palette images are expanded.
    """
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DataError(f"{path}: unsupported image type; use one of {', '.join(IMAGE_SUFFIXES)}")
    if path.suffix.lower() in _TIFF:
        import rasterio
        from rasterio.errors import RasterioIOError

        try:
            with rasterio.open(path) as src:
                arr = src.read()
                geo = None
                if src.crs is not None or not src.transform.is_identity:
                    t = src.transform
                    geo = GeoInfo(
                        crs=src.crs.to_wkt() if src.crs else None,
                        transform=(t.a, t.b, t.c, t.d, t.e, t.f),
                    )
                return arr, geo
        except RasterioIOError as e:
            raise DataError(f"{path}: not a readable GeoTIFF ({e})") from None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            if im.mode == "RGBA":
                im = im.convert("RGB")
            arr = np.asarray(im)
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"{path}: not a readable image ({e})") from None
    if arr.ndim == 2:
        arr = arr[None]
    else:
        arr = arr.transpose(2, 0, 1)
    return np.ascontiguousarray(arr), None


def write_geotiff(
    path: str | os.PathLike[str],
    array: np.ndarray,
    geo: GeoInfo | None = None,
    nodata: float | None = None,
) -> Path:
    """Write (C, H, W) or (H, W) as a tiled, LZW-compressed GeoTIFF, atomically."""
    import rasterio
    import rasterio.errors
    from rasterio.transform import Affine

    arr = array[None] if array.ndim == 2 else array
    count, height, width = arr.shape
    profile = dict(
        driver="GTiff",
        width=width,
        height=height,
        count=count,
        dtype=arr.dtype.name,
        compress="lzw",
        nodata=nodata,
    )
    if height >= 256 and width >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    if geo is not None:
        profile.update(crs=geo.crs, transform=Affine(*geo.transform))
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr)
    return Path(path)
