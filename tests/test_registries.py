"""Open registries: a new band set and a new reader are pure additions that open_dataset finds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from landslide_fusion import bands as bands_mod
from landslide_fusion.bands import BAND_SETS, BandSet, Role, get_band_set, register_band_set
from landslide_fusion.errors import BandError, DataError
from landslide_fusion.io import READERS, ImageFolderDataset, Sample, get_reader, open_dataset, register_reader
from landslide_fusion.io import readers as readers_mod

TOY = BandSet("toy2", ("VV", "VH"), {Role.NIR: "VV"})


@pytest.fixture
def clean_registries():
    """Restore both registries after a test that registers toys."""
    saved_bands, saved_readers = dict(bands_mod._REGISTRY), dict(readers_mod._REGISTRY)
    yield
    for registry, saved in ((bands_mod._REGISTRY, saved_bands), (readers_mod._REGISTRY, saved_readers)):
        registry.clear()
        registry.update(saved)


class NpyTiles:
    """A toy layout: ROOT/tiles/NAME.npy arrays (C, H, W) in band set ``toy2``."""

    def __init__(self, root: Path, *, split=None, band_set=None, require_masks=False, nan_policy="raise") -> None:
        if split is not None:
            raise DataError(f"{root}: npy tiles have no split lists")
        self.band_set = get_band_set(band_set or "toy2")
        self._paths = sorted((root / "tiles").glob("*.npy"))

    @property
    def ids(self) -> list[str]:
        return [p.stem for p in self._paths]

    @property
    def has_masks(self) -> bool:
        return False

    def __len__(self) -> int:
        return len(self._paths)

    def __getitem__(self, index: int) -> Sample:
        p = self._paths[index]
        return Sample(id=p.stem, image=np.load(p), bands=self.band_set.bands)


def test_builtin_registries_list_their_names():
    assert list(BAND_SETS)[:3] == ["l4s14", "rgb", "rgbn"]
    assert {"l4s", "image-folder"} <= set(READERS)
    with pytest.raises(DataError, match=r"unknown reader 'nope'; valid: .*l4s \(img/.*image-folder \(images/"):
        get_reader("nope")


def test_toy_band_set_and_reader_end_to_end(tmp_path, clean_registries):
    register_band_set(TOY)
    assert get_band_set("toy2") is TOY and "toy2" in BAND_SETS
    register_reader("npy-tiles", detect=lambda root: (root / "tiles").is_dir(), open=NpyTiles, layout="tiles/*.npy")
    (tmp_path / "tiles").mkdir()
    np.save(tmp_path / "tiles" / "t1.npy", np.ones((2, 4, 4), np.float32))
    ds = open_dataset(tmp_path)
    assert isinstance(ds, NpyTiles) and ds.ids == ["t1"]
    sample = ds[0]
    assert sample.bands == ("VV", "VH") and sample.image.shape == (2, 4, 4)
    with pytest.raises(DataError, match="no split lists"):
        open_dataset(tmp_path, split="train")


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_image_folder_infers_a_registered_band_set(tmp_path, clean_registries):
    from landslide_fusion.io.raster import write_geotiff

    register_band_set(TOY)
    (tmp_path / "images").mkdir()
    write_geotiff(tmp_path / "images" / "a.tif", np.zeros((2, 8, 8), np.float32))
    assert ImageFolderDataset(tmp_path)[0].bands == TOY.bands


def test_registration_conflicts_name_the_fix(clean_registries):
    register_band_set(TOY)
    register_band_set(TOY)  # the same definition again is harmless
    with pytest.raises(BandError, match="already registered.*replace=True"):
        register_band_set(BandSet("toy2", ("A",)))
    assert register_band_set(BandSet("toy2", ("A",)), replace=True).bands == ("A",)
    with pytest.raises(DataError, match="reader 'l4s' is already registered"):
        register_reader("l4s", detect=lambda root: False, open=NpyTiles)


def test_unrecognised_folder_lists_registered_layouts(tmp_path):
    with pytest.raises(DataError, match=r"not a dataset folder; expected one of .*l4s .*image-folder"):
        open_dataset(tmp_path)
