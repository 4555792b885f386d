"""The regions layer: one mask (threshold + morphology, checked against SciPy), its statistics,
and zonal statistics over rasters with any nodata value (checked against rasterstats' rule)."""

import numpy as np
import pandas as pd
import pytest
import rasterio
import torch
from rasterio.transform import from_origin
from scipy import ndimage

from landslide_fusion.errors import DataError
from landslide_fusion.regions import (
    has_landslide,
    landslide_mask,
    mask_statistics,
    morphology,
    morphology_halo,
    region_stats,
    valid_pixels,
    zonal_stats,
)


@pytest.mark.parametrize("opening, closing", [(0, 0), (2, 0), (3, 0), (0, 2), (0, 4), (3, 2), (4, 5)])
def test_morphology_equals_scipy(opening, closing):
    rng = np.random.default_rng(opening * 10 + closing)
    for density in (0.3, 0.6):
        m = (rng.random((19, 23)) < density).astype(np.uint8)
        ref = m.astype(bool)
        if opening > 1:
            ref = ndimage.binary_opening(ref, np.ones((opening, opening)), border_value=0)
        if closing > 1:
            ref = ndimage.binary_closing(ref, np.ones((closing, closing)), border_value=0)
        got = morphology(m, opening, closing)
        assert got.dtype == np.uint8 and np.array_equal(got.astype(bool), ref)
        t = morphology(torch.from_numpy(m)[None], opening, closing)  # batched tensors too
        assert np.array_equal(t[0].numpy().astype(bool), ref)


def test_morphology_halo_makes_blocks_exact():
    rng = np.random.default_rng(0)
    p = rng.random((60, 70)).astype(np.float32)
    whole = landslide_mask(p, 0.5, 3, 4)
    h = morphology_halo(3, 4)
    r0, r1, c0, c1 = 20, 40, 25, 50  # a block with its halo, interior compared
    block = landslide_mask(p[r0 - h : r1 + h, c0 - h : c1 + h], 0.5, 3, 4)
    assert np.array_equal(block[h:-h, h:-h], whole[r0:r1, c0:c1])


def test_landslide_mask_threshold_valid_and_nan():
    p = np.array([[0.2, 0.6], [np.nan, 0.9]], np.float32)
    m = landslide_mask(p, 0.5, valid=np.array([[True, True], [True, False]]))
    assert m.tolist() == [[0, 1], [0, 0]] and m.dtype == np.uint8
    with pytest.raises(DataError, match="outside"):
        landslide_mask(p, 1.5)
    with pytest.raises(DataError, match=">= 0"):
        morphology(m, -1, 0)


def test_valid_pixels_and_label():
    img = np.ones((3, 2, 2), np.float32)
    img[:, 0, 0] = -1  # nodata in every band
    img[1, 1, 1] = np.nan
    img[0, 0, 1] = -1  # nodata in one band only: still data
    assert valid_pixels(img, -1).tolist() == [[False, True], [True, False]]
    assert has_landslide(np.array([[0, 1]])) and not has_landslide(np.zeros((2, 2)))


def test_region_stats_apply_the_runs_morphology():
    p = np.zeros((10, 10), np.float32)
    p[1, 1] = 0.9  # a speck: removed by a 2x2 opening
    p[5:9, 5:9] = 0.8
    plain = region_stats(p[None], 0.5, ["a"]).loc["a"]
    opened = region_stats(p[None], 0.5, ["a"], opening=2).loc["a"]
    assert plain["n_components"] == 2 and opened["n_components"] == 1
    m = landslide_mask(p, 0.5, 2)
    assert mask_statistics(p, m)["n_components"] == opened["n_components"]


def _raster(path, values, nodata):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float32",
        nodata=nodata,
        crs="EPSG:32633",
        transform=from_origin(0, 40, 10, 10),
    ) as dst:
        dst.write(values.astype(np.float32), 1)


def test_zonal_stats_ignore_a_nodata_value_that_is_not_nan(tmp_path):
    # 4x4 pixels of 10 m; the polygon covers the left half (8 pixel centres), 2 of them nodata (-1)
    prob = np.full((4, 4), 0.8, np.float32)
    prob[0, 0] = prob[3, 1] = -1
    mask = np.where(prob == -1, 255, (prob >= 0.5).astype(np.uint8)).astype(np.float32)
    _raster(tmp_path / "p.tif", prob, -1)
    _raster(tmp_path / "m.tif", mask, 255)
    poly = {"type": "Polygon", "coordinates": [[(0, 0), (20, 0), (20, 40), (0, 40), (0, 0)]]}
    s = zonal_stats(tmp_path / "p.tif", tmp_path / "m.tif", pd.DataFrame({"id": ["r"], "geometry": [poly]})).loc["r"]
    # rasterstats' zonal_stats(poly, "p.tif", stats="mean count") gives mean 0.8, count 6
    assert s["mean_probability"] == pytest.approx(0.8) and s["n_pixels"] == 6
    assert s["landslide_fraction"] == 1.0 and s["largest_component_area"] == pytest.approx(600.0)
