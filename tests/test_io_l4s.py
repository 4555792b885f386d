from pathlib import Path

import h5py
import numpy as np
import pytest

from landslide_fusion.errors import DataError
from landslide_fusion.io import L4SDataset, write_l4s_patch

from .conftest import shared


def test_reads_generated_folder(l4s_root):
    ds = L4SDataset(l4s_root, require_masks=True)
    assert len(ds) == 12 and ds.has_masks
    s = ds[0]
    assert s.id == "image_1" and s.image.dtype == np.float32 and s.image.shape == (14, 32, 32)
    assert s.mask.dtype == np.int64 and set(np.unique(s.mask)) <= {0, 1}
    assert s.bands[-2:] == ("SLOPE", "DEM")


def test_pairs_by_number_not_by_listing_order(tmp_path):
    img = np.ones((14, 8, 8), np.float32)
    for n in (10, 2):
        m = np.zeros((8, 8), np.uint8)
        m[0, 0] = 1 if n == 10 else 0
        write_l4s_patch(tmp_path, n, img * n, m)
    ds = L4SDataset(tmp_path)
    assert ds.ids == ["image_2", "image_10"]
    assert ds[1].image[0, 0, 0] == 10 and ds[1].mask[0, 0] == 1 and ds[0].mask.sum() == 0


def test_real_samples_float64_to_float32():
    ds = L4SDataset(shared("l4s_samples"))
    assert len(ds) == 4 and not ds.has_masks
    s = ds[0]
    assert s.image.dtype == np.float32 and s.image.shape == (14, 128, 128) and s.mask is None


def _patch(root: Path, n=1, img=None, key="img", mask=None, mask_key="mask"):
    (root / "img").mkdir(parents=True, exist_ok=True)
    with h5py.File(root / "img" / f"image_{n}.h5", "w") as f:
        f.create_dataset(key, data=np.ones((16, 16, 14)) if img is None else img)
    if mask is not None:
        (root / "mask").mkdir(exist_ok=True)
        with h5py.File(root / "mask" / f"mask_{n}.h5", "w") as f:
            f.create_dataset(mask_key, data=mask)


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="folder not found"):
        L4SDataset(tmp_path / "nope")


def test_no_img_subfolder(tmp_path):
    with pytest.raises(DataError, match="no img/ subfolder"):
        L4SDataset(tmp_path)


def test_empty_img_folder(tmp_path):
    (tmp_path / "img").mkdir()
    with pytest.raises(DataError, match="no image_N.h5 files"):
        L4SDataset(tmp_path)


def test_images_without_masks(tmp_path):
    _patch(tmp_path, 1, mask=np.zeros((16, 16)))
    _patch(tmp_path, 2)
    with pytest.raises(DataError, match=r"1 image\(s\) have no mask \(image_2.h5\)"):
        L4SDataset(tmp_path)


def test_require_masks(tmp_path):
    _patch(tmp_path)
    with pytest.raises(DataError, match="no mask/ subfolder"):
        L4SDataset(tmp_path, require_masks=True)


def test_wrong_key_names_file_and_keys(tmp_path):
    _patch(tmp_path, key="image")
    with pytest.raises(DataError, match=r"image_1.h5: no HDF5 key 'img' \(keys: image\)"):
        L4SDataset(tmp_path)[0]


def test_wrong_band_count(tmp_path):
    _patch(tmp_path, img=np.ones((16, 16, 13)))
    with pytest.raises(DataError, match=r"shape \(16, 16, 13\); expected \(H, W, 14\)"):
        L4SDataset(tmp_path)[0]


def test_not_hdf5(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "image_1.h5").write_text("hello")
    with pytest.raises(DataError, match="not a readable HDF5 file"):
        L4SDataset(tmp_path)[0]


def test_nan_reported_with_counts_or_replaced(tmp_path):
    img = np.ones((16, 16, 14))
    img[0, :3, 3] = np.nan
    img[1, 0, 3] = np.inf
    _patch(tmp_path, img=img)
    with pytest.raises(DataError, match=r"3 NaN and 1 inf values \(B4: 4\).*--fix-nan"):
        L4SDataset(tmp_path)[0]
    fixed = L4SDataset(tmp_path, nan_policy="zero")[0].image
    assert np.isfinite(fixed).all() and fixed[3, 0, 0] == 0


def test_mask_values(tmp_path):
    _patch(tmp_path, mask=np.full((16, 16), 255, np.uint8))
    assert L4SDataset(tmp_path)[0].mask.min() == 1
    _patch(tmp_path, mask=np.full((16, 16), 2, np.uint8))
    with pytest.raises(DataError, match="mask values 2 are not binary"):
        L4SDataset(tmp_path)[0]


def test_mask_shape_mismatch(tmp_path):
    _patch(tmp_path, mask=np.zeros((8, 8)))
    with pytest.raises(DataError, match="differs from image shape"):
        L4SDataset(tmp_path)[0]
