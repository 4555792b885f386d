import numpy as np
import pytest
from PIL import Image

from landslide_fusion.errors import BandError, DataError
from landslide_fusion.io import GeoInfo, ImageFolderDataset, open_dataset, read_raster, write_geotiff

from .conftest import shared


def test_reads_generated_folder_and_splits(folder_root):
    ds = ImageFolderDataset(folder_root)
    assert len(ds) == 10 and ds.has_masks
    s = ds[0]
    assert s.image.shape == (3, 32, 32) and s.image.dtype == np.float32
    assert ds.band_set.name == "rgb" and s.bands == ("RED", "GREEN", "BLUE")
    train, val = ImageFolderDataset(folder_root, split="train"), ImageFolderDataset(folder_root, split="val")
    assert len(train) == 8 and len(val) == 2 and not set(train.ids) & set(val.ids)


def test_open_dataset_detects_layouts(folder_root, l4s_root):
    assert type(open_dataset(folder_root)).__name__ == "ImageFolderDataset"
    assert type(open_dataset(l4s_root)).__name__ == "L4SDataset"


def _write(root, stem, img, mask=None):
    (root / "images").mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(root / "images" / f"{stem}.png")
    if mask is not None:
        (root / "masks").mkdir(exist_ok=True)
        Image.fromarray(mask).save(root / "masks" / f"{stem}.png")


def test_any_size_and_0_255_masks(tmp_path):
    m = np.zeros((61, 90), np.uint8)
    m[10:20, 10:20] = 255
    _write(tmp_path, "a", np.zeros((61, 90, 3), np.uint8), m)
    s = ImageFolderDataset(tmp_path)[0]
    assert s.image.shape == (3, 61, 90) and s.mask.sum() == 100


def test_images_without_masks(tmp_path):
    _write(tmp_path, "a", np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8))
    _write(tmp_path, "b", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DataError, match=r"have no mask \(b\)"):
        ImageFolderDataset(tmp_path)


def test_bad_mask_values(tmp_path):
    _write(tmp_path, "a", np.zeros((8, 8, 3), np.uint8), np.full((8, 8), 7, np.uint8))
    with pytest.raises(DataError, match="a.png: mask values 7 are not binary"):
        ImageFolderDataset(tmp_path)[0]


def test_band_count_mismatch(tmp_path):
    _write(tmp_path, "a", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(BandError, match="3 band\\(s\\) but band set 'rgbn' has 4"):
        ImageFolderDataset(tmp_path, band_set="rgbn")[0]


def test_empty_and_missing(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(DataError, match="no image files"):
        ImageFolderDataset(tmp_path)
    with pytest.raises(DataError, match="not a dataset folder"):
        open_dataset(tmp_path / "images")


def test_unknown_split(folder_root):
    with pytest.raises(DataError, match="available splits: train, val"):
        ImageFolderDataset(folder_root, split="test")


def test_multiband_geotiff_keeps_georeferencing(tmp_path):
    geo = GeoInfo(crs="EPSG:4326", transform=(1e-4, 0.0, 91.0, 0.0, -1e-4, 22.0))
    arr = np.random.default_rng(0).random((4, 20, 30)).astype(np.float32)
    (tmp_path / "images").mkdir()
    write_geotiff(tmp_path / "images" / "t.tif", arr, geo)
    back, g, scale = read_raster(tmp_path / "images" / "t.tif")
    np.testing.assert_array_equal(back, arr)
    assert g.transform == geo.transform and "WGS 84" in g.crs and scale is None  # float, no DOMAIN_SCALE tag
    s = ImageFolderDataset(tmp_path)[0]
    assert s.bands == ("RED", "GREEN", "BLUE", "NIR") and s.geo is not None and s.scale is None


def test_real_bijie_split():
    ds = ImageFolderDataset(shared("bijie"), split="val", require_masks=True)
    assert len(ds) == 182
    s = ds[0]
    assert s.image.shape[0] == 3 and s.mask.shape == s.image.shape[1:]
