"""Raster files: PNG/JPEG through Pillow, GeoTIFF and 16-bit PNG through rasterio (georeferencing kept).

16-bit PNGs are read as 16-bit: Pillow opens a 16-bit RGB(A) PNG as 8-bit RGB (it keeps each
sample's high byte, so 12-bit values 1968-3584 become 7-14), so a PNG whose header (IHDR) says
16 bits per sample is read by GDAL's PNG driver instead. Its pixels are ``uint16``, which
declares no value scale: like any undeclared input it is checked against the run's scale
(:func:`~landslide_fusion.domains.input_factors`).

:func:`read_raster` reads a dataset image whole, so it first reads only the header and refuses
an image larger than :func:`max_pixels` (64 Mpx by default, ``LANDSLIDE_MAX_PIXELS`` to change
it): a 30000 x 30000 GeoTIFF is 112 KB on disk and 10 GB in memory. Scenes of any size go
through the windowed path, ``segment predict --input scene.tif``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ..domains import declared_scale
from ..errors import DataError
from .atomic import atomic_path
from .sample import GeoInfo

__all__ = ["IMAGE_SUFFIXES", "read_raster", "write_geotiff", "geotiff_profile", "max_pixels", "DEFAULT_MAX_PIXELS"]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")
_TIFF = (".tif", ".tiff")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: PNG colour types (IHDR byte 25) that carry an alpha sample last: grey + alpha, RGBA.
_PNG_ALPHA = {4, 6}
DEFAULT_MAX_PIXELS = 64_000_000


def max_pixels() -> int:
    """Largest image (width x height) read whole: ``LANDSLIDE_MAX_PIXELS`` or 64 Mpx."""
    text = os.environ.get("LANDSLIDE_MAX_PIXELS", "")
    try:
        return int(text) if text.strip() else DEFAULT_MAX_PIXELS
    except ValueError:
        raise DataError(f"LANDSLIDE_MAX_PIXELS={text!r}: expected a whole number of pixels") from None


def _check_size(path: Path, width: int, height: int, limit: int | None) -> None:
    limit = max_pixels() if limit is None else limit
    if width * height > limit:
        raise DataError(
            f"{path}: {width} x {height} pixels is more than the {limit / 1e6:g} Mpx read whole for a dataset image; "
            "predict it as a scene with 'landslide segment predict --input SCENE' (windowed), "
            "or raise LANDSLIDE_MAX_PIXELS"
        )


def _open_pil(path: Path, limit: int | None):
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except Image.DecompressionBombError:  # over 2 x Pillow's own limit: ours decides (header only)
        Image.MAX_IMAGE_PIXELS, saved = None, Image.MAX_IMAGE_PIXELS
        try:
            im = Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    try:
        _check_size(path, *im.size, limit)
    except DataError:
        im.close()
        raise
    return im


def _png_header(path: Path) -> tuple[int, int]:
    """(bits per sample, colour type) from a PNG's IHDR chunk; (0, 0) for anything else."""
    with open(path, "rb") as f:
        head = f.read(26)
    if len(head) < 26 or not head.startswith(_PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return 0, 0
    return head[24], head[25]


def _read_gdal(path: Path, limit: int | None) -> tuple[np.ndarray, GeoInfo | None, str | None]:
    """A GeoTIFF (or a 16-bit PNG) through rasterio: (C, H, W), georeferencing, declared scale."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(path)
        with src:
            _check_size(path, src.width, src.height, limit)
            arr = src.read()
            geo = None
            if src.crs is not None or not src.transform.is_identity:
                t = src.transform
                geo = GeoInfo(
                    crs=src.crs.to_wkt() if src.crs else None,
                    transform=(t.a, t.b, t.c, t.d, t.e, t.f),
                )
            return arr, geo, declared_scale(src.tags(), arr.dtype.name, str(path))
    except RasterioIOError as e:
        kind = "GeoTIFF" if path.suffix.lower() in _TIFF else "16-bit PNG"
        raise DataError(f"{path}: not a readable {kind} ({e})") from None


def read_raster(
    path: str | os.PathLike[str], limit: int | None = None
) -> tuple[np.ndarray, GeoInfo | None, str | None]:
    """Read an image as (C, H, W) in its stored dtype, plus georeferencing for GeoTIFFs and the
    value scale the file declares (:func:`~landslide_fusion.domains.declared_scale`: the
    ``DOMAIN_SCALE`` tag, else ``uint8`` for 8-bit pixels, else None).

    PNG/JPEG: grey gives 1 channel, RGB 3, RGBA 3 (alpha dropped), palette images are expanded;
    16-bit PNGs keep their 16 bits (``uint16``, alpha dropped). Images over ``limit`` pixels
    (default :func:`max_pixels`) are refused from their header.
    """
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DataError(f"{path}: unsupported image type; use one of {', '.join(IMAGE_SUFFIXES)}")
    if path.suffix.lower() in _TIFF:
        return _read_gdal(path, limit)
    if path.suffix.lower() == ".png":
        bits, colour = _png_header(path)
        if bits == 16:
            arr, geo, scale = _read_gdal(path, limit)
            return (arr[:-1] if colour in _PNG_ALPHA else arr), geo, scale
    from PIL import UnidentifiedImageError

    try:
        with _open_pil(path, limit) as im:
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
    return np.ascontiguousarray(arr), None, declared_scale({}, arr.dtype.name, str(path))


def geotiff_profile(
    width: int, height: int, count: int, dtype: str, *, nodata: float | None = None, compress: str = "deflate", **extra
) -> dict:
    """The rasterio profile of every GeoTIFF the package writes: ``compress``-compressed, tiled in
    256 x 256 blocks when the image holds one block (else striped), plus ``extra`` keys (``crs``,
    ``transform``, ``predictor``, ...)."""
    profile = dict(
        driver="GTiff", width=width, height=height, count=count, dtype=dtype, nodata=nodata, compress=compress, **extra
    )
    if width >= 256 and height >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    return profile


def write_geotiff(
    path: str | os.PathLike[str],
    array: np.ndarray,
    geo: GeoInfo | None = None,
    nodata: float | None = None,
    descriptions: tuple[str, ...] | None = None,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write (C, H, W) or (H, W) as a tiled, LZW-compressed GeoTIFF, atomically, with band
    ``descriptions`` (e.g. a band set's names, so a run's bands resolve by name) and dataset ``tags``."""
    import rasterio
    import rasterio.errors
    from rasterio.transform import Affine

    arr = array[None] if array.ndim == 2 else array
    count, height, width = arr.shape
    profile = geotiff_profile(width, height, count, arr.dtype.name, nodata=nodata, compress="lzw")
    if geo is not None:
        profile.update(crs=geo.crs, transform=Affine(*geo.transform))
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr)
            for i, name in enumerate(descriptions or (), start=1):
                dst.set_band_description(i, name)
            dst.update_tags(**(tags or {}))
    return Path(path)
