"""Every command over a table of bad inputs: a non-zero exit, exactly one ``error:`` line on
stderr, no traceback, and nothing written or left behind (issue #13)."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from landslide_fusion.cli import app
from tests.test_stac_fetch import generated_box
from landslide_fusion.synth import (
    synth_fusion_regions,
    synth_patch,
    synth_region_table,
    write_synth_folder,
    write_synth_l4s,
)
from tests.conftest import (
    assert_same_outputs,
    cli_command,
    cli_env,
    debris,
    invoke_ok,
    kill_9_while_writing,
    signal_while_writing,
)

pytestmark = pytest.mark.usefixtures("one_thread")
runner = CliRunner()
TINY = [
    "--set",
    "model.widths=[4, 8, 8, 16, 16]",
    "--set",
    "train.batch_size=4",
    "--set",
    'post.tta="none"',
    "--set",
    "train.warmup_epochs=0",
    "--set",
    "train.epochs=1",
    "--set",
    'features.preset="l4s14"',
]
GBM = ["--set", "gbm.n_estimators=5", "--set", "gbm.min_child_samples=5", "--set", "gbm.early_stopping_rounds=5"]
RGB = [
    "--set",
    'features.source="rgb"',
    "--set",
    'features.preset="rgb3"',
    "--set",
    'data.train_split="train"',
    "--set",
    'data.val_split="val"',
]
#: A box and a day with imagery in the generated STAC catalog; a port where no catalog answers (rows
#: that must fail before the network); a box where the catalog has nothing.
BOX, DAY, NO_CATALOG, NOWHERE = generated_box(), "2024-08-10", "http://127.0.0.1:9", "10.0,10.0,10.01,10.01"


class Inputs:
    """Paths of the shared good inputs (built once per module)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.l4s = root / "l4s"
        self.folder = root / "folder"
        self.run = root / "run"
        self.rgb_run = root / "rgb_run"
        self.table = root / "regions.csv"
        self.tab = root / "tab"
        self.image = root / "image.csv"
        self.tabular = root / "tabular.csv"
        self.fusion = root / "fusion"
        self.scene = root / "scene.tif"


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Inputs:
    g = Inputs(tmp_path_factory.mktemp("good"))
    write_synth_l4s(g.l4s, n=10, size=32, seed=1)
    write_synth_folder(g.folder, n=6, size=32, seed=2)
    invoke_ok(["segment", "train", "--data", str(g.l4s), "-o", str(g.run), *TINY])
    invoke_ok(["segment", "train", "--data", str(g.folder), "-o", str(g.rgb_run), *TINY[:-2], *RGB])
    ids = [f"r{i}" for i in range(60)]
    synth_region_table(ids, np.arange(60) % 2, seed=0).to_csv(g.table, index=False)
    invoke_ok(["tabular", "train", "--data", str(g.table), "--id", "region_id", "-o", str(g.tab), *GBM])
    sides = synth_fusion_regions(80, seed=1)
    sides.drop(columns=["tabular_probability"]).to_csv(g.image, index=False)
    sides[["id", "tabular_probability", "label"]].to_csv(g.tabular, index=False)
    invoke_ok(
        ["fuse", "train", "--image", str(g.image), "--tabular", str(g.tabular), "-o", str(g.fusion), "--folds", "3"]
    )
    _scene(g.scene)
    return g


def _scene(path: Path, size: int = 48) -> None:
    import rasterio
    from rasterio.transform import from_origin

    img, _ = synth_patch(np.random.default_rng(0), size)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=img.shape[0],
        dtype="float32",
        crs="EPSG:32633",
        transform=from_origin(500000, 4100000, 10, 10),
    ) as dst:
        dst.write(img.astype(np.float32))


# --- bad inputs, each made in the case's own folder ---------------------------------------------------------------


def _table_with(good: Inputs, d: Path, edit: Callable[[pd.DataFrame], pd.DataFrame], name: str = "bad.csv") -> str:
    edit(pd.read_csv(good.table)).to_csv(d / name, index=False)
    return str(d / name)


def _inf(t: pd.DataFrame) -> pd.DataFrame:
    t["rainfall_mm"] = t["rainfall_mm"].astype(float)
    t.loc[[3, 17], "rainfall_mm"] = np.inf
    return t


def _dup(t: pd.DataFrame) -> pd.DataFrame:
    t.loc[5, "region_id"] = t.loc[4, "region_id"]
    return t


def _text(t: pd.DataFrame) -> pd.DataFrame:
    t["rainfall_mm"] = t["rainfall_mm"].astype(object)
    t.loc[[2, 9], "rainfall_mm"] = "n.a."
    return t


def _image_with(good: Inputs, d: Path, value: float) -> str:
    t = pd.read_csv(good.image)
    t["n_components"] = t["n_components"].astype(float)
    t.loc[[1, 7], "n_components"] = value
    t.to_csv(d / "image.csv", index=False)
    return str(d / "image.csv")


def _run_with(good: Inputs, d: Path, edit: Callable[[Path], None]) -> str:
    run = d / "badrun"
    shutil.copytree(good.run, run)
    edit(run)
    return str(run)


class _Evil:
    def __reduce__(self):
        return (print, ("this ran",))


def _malicious(run: Path) -> None:
    torch.save({"w": _Evil()}, run / "model.pt")


def _not_a_state_dict(run: Path) -> None:
    torch.save([torch.zeros(2)], run / "model.pt")


def _huge_widths(run: Path) -> None:
    cfg = (run / "config.toml").read_text()
    (run / "config.toml").write_text(
        cfg.replace("widths = [\n    4,", "widths = [\n    4096,").replace("widths = [4,", "widths = [4096,")
    )


def _truncated_scene(good: Inputs, d: Path) -> str:
    data = good.scene.read_bytes()
    (d / "cut.tif").write_bytes(data[: len(data) // 2])
    return str(d / "cut.tif")


def _dn_scene(good: Inputs, d: Path) -> str:
    """The good scene in Sentinel-2 DNs, declaring no scale (the run's Landslide4Sense scale is assumed)."""
    import rasterio

    from landslide_fusion.bands import L4S14
    from landslide_fusion.domains import Domain, convert

    with rasterio.open(good.scene) as src:
        profile, x = src.profile, src.read()
    with rasterio.open(d / "dn.tif", "w", **profile) as dst:
        dst.write(convert(x, L4S14.bands, Domain("l4s14", "l4s"), Domain("l4s14", "s2-dn")))
    return str(d / "dn.tif")


def _eight_bit_folder(good: Inputs, d: Path) -> str:
    """Two labelled 14-band 8-bit GeoTIFFs (8-bit pixels: the uint8 scale, which l4s has no conversion from)."""
    from landslide_fusion.io.raster import write_geotiff

    rng = np.random.default_rng(0)
    for i in range(2):
        img, mask = synth_patch(rng, 32)
        write_geotiff(d / "u8" / "images" / f"p{i}.tif", (img * 40).astype(np.uint8))
        write_geotiff(d / "u8" / "masks" / f"p{i}.tif", mask)
    return str(d / "u8")


def _two_channel_folder(good: Inputs, d: Path) -> str:
    from PIL import Image

    root = d / "la"
    shutil.copytree(good.folder, root)
    first = sorted((root / "images").iterdir())[0]
    Image.fromarray(np.zeros((32, 32, 2), np.uint8), "LA").save(first)
    return str(root)


def _big_folder(good: Inputs, d: Path) -> str:
    from PIL import Image

    root = d / "big"
    shutil.copytree(good.folder, root)
    first = sorted((root / "images").iterdir())[0]
    Image.new("RGB", (9000, 8000)).save(first)
    return str(root)


def _few_regions(good: Inputs, d: Path) -> str:
    pd.read_csv(good.image).iloc[:4].to_csv(d / "image.csv", index=False)
    return str(d / "image.csv")


def _dangling(d: Path, name: str = "out") -> str:
    (d / name).symlink_to(d / "nowhere")
    return str(d / name)


def _empty_dir(d: Path, name: str = "out") -> str:
    (d / name).mkdir()
    return str(d / name)


def _bad_toml(d: Path, text: str) -> str:
    (d / "c.toml").write_text(text)
    return str(d / "c.toml")


def _existing(d: Path, name: str) -> str:
    (d / name).write_text("theirs\n")
    return str(d / name)


def _damaged_checkpoint(good: Inputs, d: Path) -> str:
    """The partial folder of a run to ``d/o`` killed while saving its checkpoint: half of last.pt."""
    part = d / f".o.partial-{2**22 + 12345}-abcdef12"  # a pid above pid_max's default: no such process
    part.mkdir()
    (part / "lock").write_text("")
    data = (good.run / "model.pt").read_bytes()
    (part / "last.pt").write_bytes(data[: len(data) // 2])
    return str(d / "o")


def _empty_onnx(good: Inputs, d: Path) -> str:
    return _run_with(good, d, lambda run: (run / "model.onnx").write_bytes(b""))


def _sixteen_bit_folder(good: Inputs, d: Path) -> str:
    """16-bit RGB PNGs of 12-bit values (1968-3584), declaring no scale, for a run trained on 8-bit PNGs."""
    import warnings

    import rasterio

    rng = np.random.default_rng(0)
    (d / "u16" / "images").mkdir(parents=True)
    for i in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # not georeferenced
            with rasterio.open(
                d / "u16" / "images" / f"p{i}.png", "w", driver="PNG", width=32, height=32, count=3, dtype="uint16"
            ) as dst:
                dst.write(rng.integers(1968, 3585, (3, 32, 32)).astype(np.uint16))
    return str(d / "u16")


def _few_rows(good: Inputs, d: Path) -> str:
    return _table_with(good, d, lambda t: t.iloc[[0, 1, 2, 3]])


Case = Callable[[Inputs, Path], list[str]]
CASES: dict[str, tuple[Case, str]] = {
    # configuration
    "segment train lr<0": (
        lambda g, d: ["segment", "train", "--data", str(g.l4s), "-o", str(d / "o"), *TINY, "--set", "train.lr=-0.1"],
        "train.lr = -0.1 must be > 0",
    ),
    "segment train data.size<0": (
        lambda g, d: ["segment", "train", "--data", str(g.l4s), "-o", str(d / "o"), "--set", "data.size=-32"],
        "data.size = -32 must be >= 0",
    ),
    "segment train epochs=0": (
        lambda g, d: ["segment", "train", "--data", str(g.l4s), "-o", str(d / "o"), "--set", "train.epochs=0"],
        "train.epochs = 0 must be >= 1",
    ),
    "segment train batch_size=0": (
        lambda g, d: ["segment", "train", "--data", str(g.l4s), "-o", str(d / "o"), "--set", "train.batch_size=0"],
        "train.batch_size = 0 must be >= 1",
    ),
    "segment train unknown nan_policy": (
        lambda g, d: [
            "segment",
            "train",
            "--data",
            str(g.l4s),
            "-o",
            str(d / "o"),
            "--set",
            'data.nan_policy="ignore"',
        ],
        "data.nan_policy = 'ignore' is not one of raise, zero",
    ),
    "segment train unknown optimizer": (
        lambda g, d: ["segment", "train", "--data", str(g.l4s), "-o", str(d / "o"), "--set", 'train.optimizer="adamx"'],
        "train.optimizer = 'adamx' is not one of adam, adamw",
    ),
    "segment train --set typo": (
        lambda g, d: ["segment", "train", "--data", str(g.l4s), "-o", str(d / "o"), "--set", "train.epoch=3"],
        "--set train.epoch=3: unknown key 'epoch'",
    ),
    "segment train --folds 50 of 10 patches": (
        lambda g, d: ["segment", "train", "--data", str(g.l4s), "-o", str(d / "o"), *TINY, "--folds", "50"],
        "--folds = 50 is more folds than the data allows",
    ),
    "segment train config file out of range": (
        lambda g, d: [
            "segment",
            "train",
            "--data",
            str(g.l4s),
            "-o",
            str(d / "o"),
            "-c",
            _bad_toml(d, "[train]\nlr = -1.0\n"),
        ],
        "train.lr = -1.0 must be > 0, e.g. 0.001 (in ",
    ),
    "segment train missing data": (
        lambda g, d: ["segment", "train", "--data", str(d / "none"), "-o", str(d / "o"), *TINY],
        "none: folder not found",
    ),
    "segment train dangling-link output": (
        lambda g, d: ["segment", "train", "--data", str(g.l4s), "-o", _dangling(d), *TINY],
        "out: is a link to",
    ),
    "tabular train n_estimators=0": (
        lambda g, d: [
            "tabular",
            "train",
            "--data",
            str(g.table),
            "--id",
            "region_id",
            "-o",
            str(d / "o"),
            "--set",
            "gbm.n_estimators=0",
        ],
        "gbm.n_estimators = 0 must be >= 1",
    ),
    "tabular train cv.folds=1": (
        lambda g, d: [
            "tabular",
            "train",
            "--data",
            str(g.table),
            "--id",
            "region_id",
            "-o",
            str(d / "o"),
            "--set",
            "cv.folds=1",
        ],
        "cv.folds = 1 must be >= 2",
    ),
    "tabular train 4-row table": (
        lambda g, d: ["tabular", "train", "--data", _few_rows(g, d), "--id", "region_id", "-o", str(d / "o"), *GBM],
        "cv.folds = 5 is more folds than the data allows: 4 rows",
    ),
    "tabular train inf": (
        lambda g, d: [
            "tabular",
            "train",
            "--data",
            _table_with(g, d, _inf),
            "--id",
            "region_id",
            "-o",
            str(d / "o"),
            *GBM,
        ],
        "bad.csv: column 'rainfall_mm' has inf in rows 4, 18 (ids r3, r17)",
    ),
    "tabular train duplicate ids": (
        lambda g, d: [
            "tabular",
            "train",
            "--data",
            _table_with(g, d, _dup),
            "--id",
            "region_id",
            "-o",
            str(d / "o"),
            *GBM,
        ],
        "bad.csv: column 'region_id' repeats ids (r4)",
    ),
    "tabular train text in numbers": (
        lambda g, d: [
            "tabular",
            "train",
            "--data",
            _table_with(g, d, _text),
            "--id",
            "region_id",
            "-o",
            str(d / "o"),
            *GBM,
        ],
        "bad.csv: column 'rainfall_mm' holds numbers and text (n.a.)",
    ),
    "tabular train existing output": (
        lambda g, d: ["tabular", "train", "--data", str(g.table), "--id", "region_id", "-o", str(g.tab), *GBM],
        "tab: already exists",
    ),
    "tabular train negative block size": (
        lambda g, d: [
            "tabular",
            "train",
            "--data",
            str(g.table),
            "--id",
            "region_id",
            "-o",
            str(d / "o"),
            "--cv",
            "spatial",
            "--coords",
            "x,y",
            "--block-size",
            "-5",
        ],
        "cv.block_size = -5.0 must be > 0",
    ),
    "tabular predict inf": (
        lambda g, d: [
            "tabular",
            "predict",
            "--model",
            str(g.tab),
            "--data",
            _table_with(g, d, _inf),
            "-o",
            str(d / "p.csv"),
        ],
        "bad.csv: column 'rainfall_mm' has inf",
    ),
    "tabular predict duplicate ids": (
        lambda g, d: [
            "tabular",
            "predict",
            "--model",
            str(g.tab),
            "--data",
            _table_with(g, d, _dup),
            "-o",
            str(d / "p.csv"),
        ],
        "bad.csv: column 'region_id' repeats ids",
    ),
    "tabular predict xlsx": (
        lambda g, d: ["tabular", "predict", "--model", str(g.tab), "--data", str(g.table), "-o", str(d / "p.xlsx")],
        "p.xlsx: cannot write a .xlsx table",
    ),
    "tabular predict output is a folder": (
        lambda g, d: [
            "tabular",
            "predict",
            "--model",
            str(g.tab),
            "--data",
            str(g.table),
            "-o",
            _empty_dir(d, "p.csv"),
        ],
        "p.csv: is a folder",
    ),
    "tabular predict dangling-link output": (
        lambda g, d: ["tabular", "predict", "--model", str(g.tab), "--data", str(g.table), "-o", _dangling(d, "p.csv")],
        "p.csv: is a link to",
    ),
    "tabular evaluate inf": (
        lambda g, d: ["tabular", "evaluate", "--model", str(g.tab), "--data", _table_with(g, d, _inf)],
        "bad.csv: column 'rainfall_mm' has inf",
    ),
    "tabular explain text in numbers": (
        lambda g, d: [
            "tabular",
            "explain",
            "--model",
            str(g.tab),
            "--data",
            _table_with(g, d, _text),
            "-o",
            str(d / "o"),
        ],
        "bad.csv: column 'rainfall_mm' holds numbers and text",
    ),
    "tabular predict not a model": (
        lambda g, d: ["tabular", "predict", "--model", str(d), "--data", str(g.table), "-o", str(d / "p.csv")],
        "not a tabular model (needs model.txt and meta.json)",
    ),
    # fusion
    "fuse train inf": (
        lambda g, d: [
            "fuse",
            "train",
            "--image",
            _image_with(g, d, np.inf),
            "--tabular",
            str(g.tabular),
            "-o",
            str(d / "o"),
        ],
        "image.csv: column 'n_components' has inf in rows 2, 8",
    ),
    "fuse train NaN": (
        lambda g, d: [
            "fuse",
            "train",
            "--image",
            _image_with(g, d, np.nan),
            "--tabular",
            str(g.tabular),
            "-o",
            str(d / "o"),
        ],
        "image.csv: column 'n_components' has NaN in rows 2, 8",
    ),
    "fuse train --folds 1": (
        lambda g, d: [
            "fuse",
            "train",
            "--image",
            str(g.image),
            "--tabular",
            str(g.tabular),
            "-o",
            str(d / "o"),
            "--folds",
            "1",
        ],
        "folds = 1 must be >= 2",
    ),
    "fuse train risk edges not increasing": (
        lambda g, d: [
            "fuse",
            "train",
            "--image",
            str(g.image),
            "--tabular",
            str(g.tabular),
            "-o",
            str(d / "o"),
            "--set",
            "risk.edges=[0.5, 0.2]",
        ],
        "risk.edges = [0.5, 0.2] must be strictly increasing",
    ),
    "fuse predict inf": (
        lambda g, d: [
            "fuse",
            "predict",
            "--fusion",
            str(g.fusion),
            "--image",
            _image_with(g, d, np.inf),
            "--tabular",
            str(g.tabular),
            "-o",
            str(d / "o"),
        ],
        "image.csv: column 'n_components' has inf",
    ),
    "fuse compare --folds 0": (
        lambda g, d: [
            "fuse",
            "compare",
            "--image",
            str(g.image),
            "--tabular",
            str(g.tabular),
            "-o",
            str(d / "o"),
            "--folds",
            "0",
        ],
        "folds = 0 must be >= 2",
    ),
    "fuse score inf table": (
        lambda g, d: [
            "fuse",
            "score",
            "--fusion",
            str(g.fusion),
            "--run",
            str(g.run),
            "--tabular",
            str(g.tab),
            "--data",
            str(g.l4s),
            "--table",
            _table_with(g, d, _inf),
            "-o",
            str(d / "o"),
        ],
        "bad.csv: column 'rainfall_mm' has inf",
    ),
    "fuse describe xlsx": (
        lambda g, d: ["fuse", "describe", str(g.l4s), "-o", str(d / "t.xlsx")],
        "t.xlsx: cannot write a .xlsx table",
    ),
    # images and runs
    "data check 2-channel PNG": (
        lambda g, d: ["data", "check", _two_channel_folder(g, d)],
        "ls_0000.png: no band set has 2 bands",
    ),
    "data check image over the pixel limit": (
        lambda g, d: ["data", "check", _big_folder(g, d)],
        "ls_0000.png: 9000 x 8000 pixels is more than the 64 Mpx",
    ),
    "data synth dangling-link output": (
        lambda g, d: ["data", "synth", _dangling(d), "--n", "2", "--size", "32"],
        "out: is a link to",
    ),
    "data synth existing output": (
        lambda g, d: ["data", "synth", str(g.l4s), "--n", "2", "--size", "32"],
        "l4s: already exists",
    ),
    "segment predict --window -16": (
        lambda g, d: [
            "segment",
            "predict",
            "--run",
            str(g.run),
            "--input",
            str(g.scene),
            "-o",
            str(d / "o"),
            "--window",
            "-16",
        ],
        "window -16 must be a positive multiple of 16",
    ),
    "segment predict truncated scene": (
        lambda g, d: ["segment", "predict", "--run", str(g.run), "--input", _truncated_scene(g, d), "-o", str(d / "o")],
        "cut.tif: cannot read rows",
    ),
    "segment predict malicious model.pt": (
        lambda g, d: [
            "segment",
            "predict",
            "--run",
            _run_with(g, d, _malicious),
            "--input",
            str(g.l4s),
            "-o",
            str(d / "o"),
        ],
        "model.pt: not a state dict written by this project (holds objects other than tensors)",
    ),
    "segment evaluate list as model.pt": (
        lambda g, d: ["segment", "evaluate", "--run", _run_with(g, d, _not_a_state_dict), "--data", str(g.l4s)],
        "model.pt: not a state dict written by this project (a list",
    ),
    "segment evaluate huge model.widths": (
        lambda g, d: ["segment", "evaluate", "--run", _run_with(g, d, _huge_widths), "--data", str(g.l4s)],
        "model.pt: the weights do not fit the model of the run's config.toml",
    ),
    "segment export malicious model.pt": (
        lambda g, d: ["segment", "export", "--run", _run_with(g, d, _malicious), "-o", str(d / "m.onnx")],
        "model.pt: not a state dict written by this project",
    ),
    "segment predict DN scene declaring no scale": (
        lambda g, d: ["segment", "predict", "--run", str(g.run), "--input", _dn_scene(g, d), "-o", str(d / "o")],
        "dn.tif: input values are far above the run's training values",
    ),
    "segment predict 8-bit folder": (
        lambda g, d: [
            "segment",
            "predict",
            "--run",
            str(g.run),
            "--input",
            _eight_bit_folder(g, d),
            "-o",
            str(d / "o"),
        ],
        "image p0: input is l4s14/uint8",
    ),
    "segment evaluate 8-bit folder": (
        lambda g, d: ["segment", "evaluate", "--run", str(g.run), "--data", _eight_bit_folder(g, d)],
        "image p0: input is l4s14/uint8",
    ),
    "segment predict not a run": (
        lambda g, d: ["segment", "predict", "--run", str(d), "--input", str(g.l4s), "-o", str(d / "o")],
        "not a segmentation run (no config.toml)",
    ),
    "demo dangling-link output": (lambda g, d: ["demo", "--out", _dangling(d)], "out: is a link to"),
    "data synth output under a file": (
        lambda g, d: ["data", "synth", str(g.table / "out"), "--n", "2", "--size", "32"],
        "regions.csv is a file, not a folder",
    ),
    "fuse train 4 regions": (
        lambda g, d: [
            "fuse",
            "train",
            "--image",
            _few_regions(g, d),
            "--tabular",
            str(g.tabular),
            "-o",
            str(d / "o"),
            "--on-missing",
            "drop",
        ],
        "the stacker needs at least 2 regions of each class",
    ),
    # single-file outputs: an existing file is refused before the work
    "tabular predict existing output": (
        lambda g, d: ["tabular", "predict", "--model", str(g.tab), "--data", str(g.table), "-o", _existing(d, "p.csv")],
        "p.csv: already exists",
    ),
    "fuse describe existing output": (
        lambda g, d: ["fuse", "describe", str(g.l4s), "-o", _existing(d, "t.csv")],
        "t.csv: already exists",
    ),
    "segment export existing output": (
        lambda g, d: ["segment", "export", "--run", str(g.run), "-o", _existing(d, "m.onnx")],
        "m.onnx: already exists",
    ),
    "fetch existing output": (
        lambda g, d: ["fetch", "--bbox", BOX, "--date", DAY, "--catalog", NO_CATALOG, "-o", _existing(d, "s.tif")],
        "s.tif: already exists",
    ),
    # requests, refused before the network (no catalog answers)
    "fetch bbox west > east": (
        lambda g, d: [
            "fetch",
            "--bbox",
            "92.1,22.4,92.0,22.5",
            "--date",
            DAY,
            "--catalog",
            NO_CATALOG,
            "-o",
            str(d / "s.tif"),
        ],
        "west 92.1 must be less than east 92",
    ),
    "fetch bbox off the globe": (
        lambda g, d: [
            "fetch",
            "--bbox",
            "190,22,191,23",
            "--date",
            DAY,
            "--catalog",
            NO_CATALOG,
            "-o",
            str(d / "s.tif"),
        ],
        "bbox '190,22,191,23' lies outside",
    ),
    "fetch date in the future": (
        lambda g, d: ["fetch", "--bbox", BOX, "--date", "2099-01-01", "--catalog", NO_CATALOG, "-o", str(d / "s.tif")],
        "date '2099-01-01' is in the future",
    ),
    "fetch negative retries": (
        lambda g, d: [
            "fetch",
            "--bbox",
            BOX,
            "--date",
            DAY,
            "--catalog",
            NO_CATALOG,
            "--retries",
            "-1",
            "-o",
            str(d / "s.tif"),
        ],
        "retries -1 must be between 0 and 20",
    ),
    "assess bbox west > east": (
        lambda g, d: [
            "assess",
            "--bbox",
            "92.1,22.4,92.0,22.5",
            "--date",
            DAY,
            "--run",
            str(g.run),
            "--catalog",
            NO_CATALOG,
            "-o",
            str(d / "o"),
        ],
        "west 92.1 must be less than east 92",
    ),
    "assess bbox off the globe": (
        lambda g, d: [
            "assess",
            "--bbox",
            "10,-95,11,-80",
            "--date",
            DAY,
            "--run",
            str(g.run),
            "--catalog",
            NO_CATALOG,
            "-o",
            str(d / "o"),
        ],
        "bbox '10,-95,11,-80' lies outside",
    ),
    "assess date in the future": (
        lambda g, d: [
            "assess",
            "--bbox",
            BOX,
            "--date",
            "2099-01-01",
            "--run",
            str(g.run),
            "--catalog",
            NO_CATALOG,
            "-o",
            str(d / "o"),
        ],
        "date '2099-01-01' is in the future",
    ),
    "assess run on 8-bit RGB (a fetched scene cannot feed it)": (
        lambda g, d: [
            "assess",
            "--bbox",
            BOX,
            "--date",
            DAY,
            "--run",
            str(g.rgb_run),
            "--catalog",
            NO_CATALOG,
            "-o",
            str(d / "o"),
        ],
        "(8-bit values 0-255), and no documented conversion exists",
    ),
    # causes of issue #24
    "segment train --resume damaged last.pt": (
        lambda g, d: ["segment", "train", "--data", str(g.l4s), "-o", _damaged_checkpoint(g, d), *TINY, "--resume"],
        "last.pt: checkpoint is damaged and cannot be resumed",
    ),
    "segment predict --engine onnx empty model.onnx": (
        lambda g, d: [
            "segment",
            "predict",
            "--run",
            _empty_onnx(g, d),
            "--input",
            str(g.l4s),
            "-o",
            str(d / "o"),
            "--engine",
            "onnx",
        ],
        "model.onnx: not a readable ONNX model",
    ),
    "segment predict 16-bit PNGs with an 8-bit run": (
        lambda g, d: [
            "segment",
            "predict",
            "--run",
            str(g.rgb_run),
            "--input",
            _sixteen_bit_folder(g, d),
            "-o",
            str(d / "o"),
        ],
        "input values reach",
    ),
    "segment train model option width=0": (
        lambda g, d: [
            "segment",
            "train",
            "--data",
            str(g.l4s),
            "-o",
            str(d / "o"),
            "--set",
            'model.name="mobilenetv3"',
            "--set",
            "model.options.width=0",
        ],
        "model.options.width = 0.0 must be > 0, e.g. 0.9 (from --set model.options.width=0)",
    ),
    "segment train --set of the wrong type over a config file": (
        lambda g, d: [
            "segment",
            "train",
            "--data",
            str(g.l4s),
            "-o",
            str(d / "o"),
            "-c",
            _bad_toml(d, "[train]\nepochs = 3\n"),
            "--set",
            "train.epochs=many",
        ],
        "train.epochs: expected an integer, got 'many' (from --set train.epochs=many)",
    ),
    "segment ablate into a run folder": (
        lambda g, d: ["segment", "ablate", "--vary", "train.loss=ce", "--data", str(g.l4s), "-o", str(g.run), *TINY],
        "run: already exists and is not an ablation folder",
    ),
    "segment ablate --vary out of range": (
        lambda g, d: [
            "segment",
            "ablate",
            "--vary",
            "train.lr=0.001,-1",
            "--data",
            str(g.l4s),
            "-o",
            str(d / "o"),
            *TINY,
        ],
        "train.lr = -1.0 must be > 0, e.g. 0.001 (from --vary train.lr=0.001,-1)",
    ),
    "assess --grid infkm": (
        lambda g, d: [
            "assess",
            "--bbox",
            BOX,
            "--date",
            DAY,
            "--run",
            str(g.run),
            "--grid",
            "infkm",
            "--catalog",
            NO_CATALOG,
            "-o",
            str(d / "o"),
        ],
        "--grid 'infkm' must be a finite cell size",
    ),
}

#: Rows that need a catalog: ``(good inputs, case folder, catalog URL) -> argv``.
STAC_CASES: dict[str, tuple[Callable[[Inputs, Path, str], list[str]], str]] = {
    "fetch empty search": (
        lambda g, d, url: ["fetch", "--bbox", NOWHERE, "--date", DAY, "--catalog", url, "-o", str(d / "s.tif")],
        "no sentinel-2-l2a item over bbox 10,10,10.01,10.01",
    ),
    "assess empty search": (
        lambda g, d, url: [
            "assess",
            "--bbox",
            NOWHERE,
            "--date",
            DAY,
            "--run",
            str(g.run),
            "--catalog",
            url,
            "-o",
            str(d / "o"),
        ],
        "no sentinel-2-l2a item over bbox 10,10,10.01,10.01",
    ),
    "fetch items without the convention's bands": (
        lambda g, d, url: [
            "fetch",
            "--bbox",
            BOX,
            "--date",
            DAY,
            "--catalog",
            url,
            "--convention",
            "planetary-computer",
            "-o",
            str(d / "s.tif"),
        ],
        "lacks B01, B02, B03, B04",
    ),
    "assess items without the run's bands": (
        lambda g, d, url: [
            "assess",
            "--bbox",
            BOX,
            "--date",
            DAY,
            "--run",
            str(g.run),
            "--catalog",
            url,
            "--convention",
            "planetary-computer",
            "-o",
            str(d / "o"),
        ],
        "lacks B01, B02, B03, B04",
    ),
}


def _listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_fails_cleanly(name, good, tmp_path):
    case, cause = CASES[name]
    _fails_cleanly(name, case(good, tmp_path), cause, good, tmp_path)


@pytest.mark.parametrize("name", list(STAC_CASES))
def test_bad_request_to_a_catalog_fails_cleanly(name, good, stac_generated, tmp_path):
    case, cause = STAC_CASES[name]
    _fails_cleanly(name, case(good, tmp_path, stac_generated.url), cause, good, tmp_path)


def _fails_cleanly(name: str, args: list[str], cause: str, good: Inputs, tmp_path: Path) -> None:
    """The table's contract: a non-zero exit, one ``error:`` line last on stderr naming the row's
    ``cause`` (the setting, file or value at fault), no traceback, nothing written into the case's
    folder or the good inputs."""
    before, inputs = _listing(tmp_path), _listing(good.root)
    r = runner.invoke(app, args)
    print(f"{name}: {r.stderr.strip()}")
    assert r.exit_code != 0, (name, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), (name, repr(r.exception))
    lines = r.stderr.splitlines()  # progress lines (stages) may come before the error
    assert [line for line in lines if line.startswith("error")] == lines[-1:], (name, r.stderr)
    assert lines[-1].startswith("error: "), (name, r.stderr)
    assert cause in lines[-1], (name, cause, lines[-1])  # the message names what is wrong, not just anything
    assert "Traceback" not in r.output and "weights_only" not in r.stderr, name
    if name.endswith("existing output"):  # refused up front: the work would have failed otherwise, or replaced it
        assert "already exists" in lines[-1] and "--overwrite" in lines[-1], lines[-1]
    assert _listing(tmp_path) == before, (name, _listing(tmp_path) - before)
    assert _listing(good.root) == inputs, (name, _listing(good.root) ^ inputs)


def test_export_without_onnx_installed_is_one_line(good, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the [onnx] extra were not installed
    r = runner.invoke(app, ["segment", "export", "--run", str(good.run), "-o", str(tmp_path / "m.onnx")])
    assert r.exit_code == 1, (r.output, repr(r.exception))
    assert r.stderr == (
        "error: segment export needs onnx, which is not installed; pip install 'landslide-fusion[onnx]'\n"
    )
    assert list(tmp_path.iterdir()) == []


# --- outputs: locks, commits, links, kill -9 ------------------------------------------------------------------------


def test_a_second_writer_fails_at_once_naming_the_first(tmp_path):
    from landslide_fusion.io.atomic import output_lock

    out = tmp_path / "gen"
    with output_lock(out):
        r = runner.invoke(app, ["data", "synth", str(out), "--n", "2", "--size", "32"])
    assert r.exit_code == 1 and f"another process (pid {os.getpid()}) is writing" in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and not out.exists() and debris(tmp_path) == []


def test_commit_refuses_what_appeared_meanwhile(tmp_path):
    from landslide_fusion.errors import OutputExistsError
    from landslide_fusion.io import output_dir, write_json

    out = tmp_path / "run"
    with pytest.raises(OutputExistsError, match="appeared while this run was writing"):
        with output_dir(out) as tmp:
            write_json(tmp / "mine.json", {})
            out.mkdir()
            (out / "theirs.txt").write_text("x")
    assert [p.name for p in out.iterdir()] == ["theirs.txt"] and debris(tmp_path) == []
    with output_dir(out, overwrite=True) as tmp:  # with --overwrite the newest result wins
        write_json(tmp / "mine.json", {})
    assert [p.name for p in out.iterdir()] == ["mine.json"] and debris(tmp_path) == []


def test_single_file_commit_refuses_what_appeared_meanwhile(tmp_path):
    from landslide_fusion.errors import OutputExistsError
    from landslide_fusion.io import output_file

    out = tmp_path / "p.csv"
    with pytest.raises(OutputExistsError, match="appeared while this run was writing"):
        with output_file(out) as tmp:
            tmp.write_text("mine\n")
            tmp.with_name("p.provenance.json").write_text("{}")  # a sidecar goes with its file, or not at all
            out.write_text("theirs\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"] and out.read_text() == "theirs\n"
    with output_file(out, overwrite=True) as tmp:  # with --overwrite the newest result wins, sidecar included
        tmp.write_text("mine\n")
        tmp.with_name("p.provenance.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv", "p.provenance.json"] and out.read_text() == "mine\n"
    with pytest.raises(OutputExistsError, match="p.csv: already exists; .* --overwrite"):
        with output_file(out):
            pytest.fail("an existing file is refused before the work")
    with pytest.raises(RuntimeError):  # a failed run leaves the previous result and nothing else
        with output_file(out, overwrite=True) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert out.read_text() == "mine\n" and debris(tmp_path) == []


def test_links_and_empty_folders(tmp_path):
    from landslide_fusion.io import output_dir, write_json

    target = tmp_path / "target"
    target.mkdir()  # an empty folder counts as absent
    (tmp_path / "link").symlink_to(target)
    with output_dir(tmp_path / "link") as tmp:
        write_json(tmp / "a.json", {})
    assert (tmp_path / "link").is_symlink() and (target / "a.json").is_file()  # written into the link's target
    with output_dir(tmp_path / "link", overwrite=True) as tmp:
        write_json(tmp / "b.json", {})
    assert (tmp_path / "link").is_symlink() and sorted(p.name for p in target.iterdir()) == ["b.json"]
    assert debris(tmp_path) == []


def test_stale_temporaries_of_dead_processes_are_cleaned(tmp_path):
    from landslide_fusion.io import output_dir

    dead = 2**22 + 12345  # above pid_max's default: no such process
    out = tmp_path / "run"
    (tmp_path / f".run.tmp-{dead}-abcdef12").mkdir()
    (tmp_path / f".run.tmp-{dead}-abcdef12" / "half.json").write_text("{")
    (tmp_path / f".run.old-{dead}-abcdef12").mkdir()  # killed between its two renames: the previous result
    (tmp_path / f".run.old-{dead}-abcdef12" / "prev.json").write_text("{}")
    with pytest.raises(RuntimeError):
        with output_dir(out):
            raise RuntimeError("crash")
    assert [p.name for p in out.iterdir()] == ["prev.json"] and debris(tmp_path) == []  # put back, then kept


def _synth(out: Path, seed: int, n: int = 40) -> list[str]:
    return ["data", "synth", str(out), "--n", str(n), "--size", "32", "--seed", str(seed)]


def _one_of_two_succeeds(commands: list[list[str]]) -> None:
    """Start both commands together: one succeeds, the other fails with one line naming the clash."""
    import subprocess

    procs = [
        subprocess.Popen(cli_command(c), env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 1], results
    err = next(e for code, e in results if code)
    assert err.count("\n") == 1 and ("is writing this output" in err or "already exists" in err or "appeared" in err), (
        err
    )


def test_concurrent_writers_never_both_succeed(tmp_path):
    _one_of_two_succeeds([_synth(tmp_path / "gen", seed) for seed in (1, 2)])
    assert debris(tmp_path) == []


def test_concurrent_single_file_writers_never_both_succeed(good, tmp_path):
    out = tmp_path / "t.csv"
    _one_of_two_succeeds([["fuse", "describe", str(good.l4s), "-o", str(out)]] * 2)
    invoke_ok(["fuse", "describe", str(good.l4s), "-o", str(tmp_path / "ref.csv")])
    assert out.read_bytes() == (tmp_path / "ref.csv").read_bytes()  # one complete result
    assert debris(tmp_path) == []


def test_the_lock_covers_the_whole_write_even_with_overwrite(tmp_path):
    """A command that works before it writes (training, cross-validation, scoring) holds its output
    from the check to the commit (io.atomic.writing, @writes_output): a second writer with
    --overwrite fails at once instead of both working and replacing each other's result (issue #24,
    item 7). Here this process is the first writer, between its check and its commit."""
    import subprocess

    from landslide_fusion.io.atomic import output_dir, write_json, writing

    out = tmp_path / "gen"
    again = [*_synth(out, 1, n=2), "--overwrite"]
    with writing(out, overwrite=True):
        r = subprocess.run(cli_command(again), env=cli_env(), capture_output=True, text=True)
        assert r.returncode == 1 and f"another process (pid {os.getpid()}) is writing this output" in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1 and not out.exists()
        with output_dir(out, overwrite=True) as tmp:  # the commit, under the same lock
            write_json(tmp / "mine.json", {})
    assert [p.name for p in out.iterdir()] == ["mine.json"] and debris(tmp_path) == []
    r = subprocess.run(cli_command(again), env=cli_env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_a_command_holds_its_output_while_it_works(good, tmp_path, monkeypatch):
    """tabular train's output is held during its cross-validation (not only at the rename), and
    released when the command fails."""
    import subprocess

    import landslide_fusion.tabular.train as T
    from landslide_fusion.config import load_config
    from landslide_fusion.tabular.config import TabularConfig

    out, seen = tmp_path / "model", []

    def second_writer_meanwhile(*args, **kwargs):
        seen.append(
            subprocess.run(
                cli_command([*_synth(out, 1, n=2), "--overwrite"]), env=cli_env(), capture_output=True, text=True
            )
        )
        raise RuntimeError("stop after the cross-validation's start")

    monkeypatch.setattr(T, "_cv", second_writer_meanwhile)
    with pytest.raises(RuntimeError, match="stop after"):
        T.train_tabular(
            good.table,
            load_config(TabularConfig, None, [], {"id": "region_id", "coords": ["x", "y"]}),
            out,
            overwrite=True,
        )
    assert seen[0].returncode == 1 and f"(pid {os.getpid()}) is writing this output" in seen[0].stderr, seen[0].stderr
    assert list(tmp_path.iterdir()) == []  # nothing written, the lock released with the failure


def test_a_full_disk_names_the_output_and_keeps_the_previous_result(tmp_path):
    """torch.save to a path turned a full disk into its zip writer's RuntimeError (a traceback);
    through a file object it is ENOSPC, reported naming the output (here /dev/full plays the disk)."""
    from landslide_fusion.errors import OutputError
    from landslide_fusion.io import output_dir
    from landslide_fusion.segmentation.weight_files import save_weights

    out = tmp_path / "run"
    out.mkdir()
    (out / "model.pt").write_text("previous")
    with pytest.raises(OutputError, match=rf"^{out}: could not be written \(No space left on device\); free space"):
        with output_dir(out, overwrite=True) as tmp:
            (tmp / "model.pt").symlink_to("/dev/full")
            save_weights({"w": torch.zeros(100_000)}, tmp / "model.pt")
    assert (out / "model.pt").read_text() == "previous" and debris(tmp_path) == []


def test_kill_9_then_rerun_gives_the_uninterrupted_result(tmp_path):
    import glob

    out, ref = tmp_path / "gen", tmp_path / "ref"
    kill_9_while_writing(
        _synth(out, 3, n=400),
        f"{glob.escape(str(tmp_path))}/.gen.tmp-*",
        lambda: invoke_ok(_synth(ref, 3, n=400)),
        seed=0,
    )
    assert not out.exists() and any(n.startswith(".gen.tmp-") for n in debris(tmp_path))  # what the killed run left
    invoke_ok(_synth(out, 3, n=400))
    assert debris(tmp_path) == []
    assert_same_outputs(out, ref)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_run_stopped_by_a_signal_leaves_nothing_behind(tmp_path, sig):
    """``kill PID`` or Ctrl-C while a run writes: its temporary folder and lock go, as on an error."""
    import glob

    out = tmp_path / "gen"
    signal_while_writing(
        _synth(out, 3, n=400), f"{glob.escape(str(tmp_path))}/.gen.tmp-*", lambda: None, seed=1, sig=sig
    )
    assert not out.exists() and debris(tmp_path) == []


def test_training_stopped_by_sigterm_leaves_nothing_behind(tmp_path):
    """SIGTERM while ``segment train`` holds its partial folder and before its first checkpoint:
    the partial folder and its lock are removed (a checkpoint would be kept for --resume)."""
    import glob

    g = tmp_path / "data"
    write_synth_l4s(g, n=24, size=32, seed=1)
    args = [
        "segment",
        "train",
        "-c",
        "configs/rau-net-small.toml",
        "--data",
        str(g),
        "--set",
        "train.epochs=50",
        "--set",
        "model.widths=[4, 8, 8, 16, 16]",
        "-o",
        str(tmp_path / "run"),
    ]
    signal_while_writing(args, f"{glob.escape(str(tmp_path))}/.run.partial-*", lambda: None, seed=2, sig=signal.SIGTERM)
    assert not (tmp_path / "run").exists() and debris(tmp_path) == []


def test_cli_paths_are_values_not_toml(tmp_path):
    from landslide_fusion.config import load_config
    from landslide_fusion.segmentation.config import SegmentConfig

    odd = tmp_path / "a\\tb\tc"
    cfg = load_config(SegmentConfig, None, ["train.epochs=2"], {"data.root": odd})
    assert cfg.data.root == str(odd) and cfg.train.epochs == 2
    r = runner.invoke(app, ["segment", "train", "--data", str(odd), "-o", str(tmp_path / "o"), *TINY])
    assert r.exit_code == 1 and str(odd) in r.stderr and r.stderr.count("\n") == 1, r.stderr
