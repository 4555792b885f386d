"""Open registries: a new band set, reader or derived band is a pure addition that the library finds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from landslide_fusion import bands as bands_mod
from landslide_fusion.bands import BAND_SETS, BandSet, Role, get_band_set, register_band_set
from landslide_fusion.errors import BandError, DataError
from landslide_fusion.io import READERS, ImageFolderDataset, Sample, get_reader, open_dataset, register_reader
from landslide_fusion.io import readers as readers_mod
from landslide_fusion.engineering import derived as derived_mod
from landslide_fusion.engineering import engineer as engineer_mod
from landslide_fusion.engineering.derived import DERIVED_BANDS, Bands, derived_band
from landslide_fusion.engineering.engineer import BandEngineer, Preset, register_preset

TOY = BandSet("toy2", ("VV", "VH"), {Role.NIR: "VV"})


@pytest.fixture
def clean_registries():
    """Unregister what a test registered, and restore what it replaced."""
    registries = (bands_mod._REGISTRY, readers_mod._REGISTRY, engineer_mod._REGISTRY, derived_mod._REGISTRY)
    saved = [dict(r.view) for r in registries]
    yield
    for registry, before in zip(registries, saved):
        for name in [n for n in registry if n not in before]:
            registry.unregister(name)
        for name, item in before.items():
            registry.register(name, item, replace=True)


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
    with pytest.raises(DataError, match=r"unknown reader 'nope'; valid: .*image-folder \(images/"):
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
    with pytest.raises(DataError, match=r"reader 'l4s' is already registered \(l4s \(img/"):
        register_reader("l4s", detect=lambda root: False, open=NpyTiles)


def test_unrecognised_folder_lists_registered_layouts(tmp_path):
    with pytest.raises(DataError, match=r"not a dataset folder; expected one of .*l4s .*image-folder"):
        open_dataset(tmp_path)


def test_toy_band_set_with_a_preset_feeds_the_band_engineer(clean_registries):
    import torch

    register_band_set(
        BandSet("ps4", ("B", "G", "R", "N"), {Role.BLUE: "B", Role.GREEN: "G", Role.RED: "R", Role.NIR: "N"})
    )
    register_preset(Preset("ps4-idx", "ps4", ("NDVI", "GRAY")))
    x = torch.rand(2, 4, 8, 8) + 0.1
    y = BandEngineer("ps4", "ps4-idx")(x)
    torch.testing.assert_close(y[:, 4], (x[:, 3] - x[:, 2]) / (x[:, 3] + x[:, 2]))
    torch.testing.assert_close(y[:, 5], x[:, :3].mean(1))
    register_preset(Preset("ps4-nbr", "ps4", ("NBR",)))
    with pytest.raises(BandError, match="'ps4' has no swir2 band"):
        BandEngineer("ps4", "ps4-nbr")
    with pytest.raises(BandError, match="unknown derived band.*EVI; valid: RED_MM"):
        Preset("ps4-evi", "ps4", ("EVI",))
    with pytest.raises(BandError, match="unknown band set 'ps5'; valid: l4s14, rgb, rgbn, ps4"):
        register_preset(Preset("ps5-raw", "ps5", ()))


def test_a_derived_band_registered_outside_the_package_feeds_a_preset(clean_registries):
    import torch

    @derived_band("SAVI", Role.NIR, Role.RED)
    def savi(bands: Bands) -> torch.Tensor:
        """SAVI = 1.5 (NIR - RED) / (NIR + RED + 0.5) (Huete, 1988)."""
        nir, red = bands[Role.NIR], bands[Role.RED]
        return 1.5 * (nir - red) / (nir + red + 0.5)

    @derived_band("GRAY_SQ", "GRAY")  # built on a built-in derived band: needs its roles too
    def gray_sq(bands: Bands) -> torch.Tensor:
        return bands["GRAY"] ** 2

    assert list(DERIVED_BANDS)[-2:] == ["SAVI", "GRAY_SQ"]
    register_preset(Preset("l4s16-savi", "l4s14", ("SAVI", "GRAY_SQ")))
    x = torch.rand(2, 14, 8, 8) + 0.1
    y = BandEngineer("l4s14", "l4s16-savi")(x)
    nir, red = x[:, 7], x[:, 3]
    torch.testing.assert_close(y[:, 14], 1.5 * (nir - red) / (nir + red + 0.5))
    torch.testing.assert_close(y[:, 15], ((x[:, 1] + x[:, 2] + x[:, 3]) / 3) ** 2)
    register_band_set(BandSet("gb2", ("G", "B"), {Role.GREEN: "G", Role.BLUE: "B"}))
    register_preset(Preset("gb2-sq", "gb2", ("GRAY_SQ",)))
    with pytest.raises(BandError, match="'gb2' has no red band"):
        BandEngineer("gb2", "gb2-sq")
    with pytest.raises(BandError, match="reads 'NOPE', which is neither a Role nor a registered derived band; valid"):
        derived_band("BAD", "NOPE")(savi)
    with pytest.raises(BandError, match="derived band 'NDVI' is already registered"):
        derived_band("NDVI", Role.NIR)(savi)


def test_a_catalog_convention_registered_outside_the_package_is_a_cli_choice(tmp_path):
    from dataclasses import replace

    from typer.testing import CliRunner

    from landslide_fusion.acquire import catalogs
    from landslide_fusion.cli import app

    args = ["fetch", "--bbox", "0,0,0.01,0.01", "--date", "2024-01-01/2024-01-31", "-o", str(tmp_path / "s.tif")]
    r = CliRunner().invoke(app, [*args, "--convention", "mine"])
    assert r.exit_code == 2
    words = " ".join(r.output.replace("│", " ").split())
    assert "unknown catalog convention 'mine'; valid: earth-search, planetary-computer" in words
    catalogs.register_convention(replace(catalogs.EARTH_SEARCH, name="mine", url="http://127.0.0.1:9/none"))
    try:
        assert catalogs.get_convention("mine").bands == catalogs.EARTH_SEARCH.bands
        r = CliRunner().invoke(app, [*args, "--convention", "mine", "--catalog", "http://127.0.0.1:9/none"])
        assert r.exit_code != 2 and "Invalid value" not in r.output  # parsed; the unreachable catalog fails later
    finally:
        catalogs._REGISTRY.unregister("mine")
