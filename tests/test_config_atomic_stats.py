from dataclasses import dataclass, field

import numpy as np
import pytest

from landslide_fusion.config import load_config, save_config
from landslide_fusion.errors import ConfigError, OutputExistsError
from landslide_fusion.io import L4SDataset, output_dir, write_json
from landslide_fusion.stats import BandStats, compute_band_stats


@dataclass(frozen=True)
class Inner:
    epochs: int = 2
    lr: float = 1e-3
    name: str = "a"
    flag: bool = False
    widths: tuple[int, ...] = (1, 2)
    limit: int | None = None


@dataclass(frozen=True)
class Outer:
    train: Inner = field(default_factory=Inner)
    tag: str = "x"


def test_load_override_roundtrip(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('tag = "y"\n[train]\nepochs = 5\n')
    cfg = load_config(Outer, p, ["train.lr=0.1", "train.widths=[3, 4]", "train.name=bare", "train.limit=7"])
    assert cfg == Outer(Inner(epochs=5, lr=0.1, name="bare", widths=(3, 4), limit=7), tag="y")
    save_config(cfg, tmp_path / "back.toml")
    assert load_config(Outer, tmp_path / "back.toml") == cfg
    assert load_config(Outer) == Outer()


def test_config_errors_name_key_and_valid_keys(tmp_path):
    with pytest.raises(
        ConfigError, match=r"^--set train.epoch=3: unknown key 'epoch' in train; valid keys: epochs, flag"
    ):
        load_config(Outer, None, ["train.epoch=3"])
    (tmp_path / "typo.toml").write_text("[train]\nepoch = 3\n")
    with pytest.raises(ConfigError, match=r"typo.toml.train: unknown key\(s\) epoch; valid keys: epochs, flag"):
        load_config(Outer, tmp_path / "typo.toml")
    # a wrong type is blamed on the --set as typed, not on the config file
    with pytest.raises(ConfigError, match=r"^train.epochs: expected an integer, got 2.5 \(from --set train\.epochs"):
        load_config(Outer, None, ["train.epochs=2.5"])
    (tmp_path / "ok.toml").write_text("[train]\nepochs = 3\n")
    with pytest.raises(ConfigError, match=r"^train.epochs: expected an integer, got 'many' \(from --set train\.epochs"):
        load_config(Outer, tmp_path / "ok.toml", ["train.epochs=many"])
    (tmp_path / "bad_type.toml").write_text('[train]\nepochs = "many"\n')
    with pytest.raises(ConfigError, match=r"bad_type.toml.train.epochs: expected an integer, got 'many'$"):
        load_config(Outer, tmp_path / "bad_type.toml")
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(Outer, tmp_path / "none.toml")
    (tmp_path / "bad.toml").write_text("[train\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(Outer, tmp_path / "bad.toml")
    with pytest.raises(ConfigError, match="expected section.key=value"):
        load_config(Outer, None, ["train.epochs"])


def test_output_dir_is_atomic(tmp_path):
    out = tmp_path / "run"
    with output_dir(out) as tmp:
        write_json(tmp / "a.json", {"v": 1})
    with pytest.raises(OutputExistsError, match="--overwrite"):
        with output_dir(out):
            pass
    with pytest.raises(RuntimeError):
        with output_dir(out, overwrite=True) as tmp:
            write_json(tmp / "b.json", {})
            raise RuntimeError("crash mid-run")
    assert sorted(p.name for p in out.iterdir()) == ["a.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    with output_dir(out, overwrite=True) as tmp:
        write_json(tmp / "b.json", {"x": float("nan"), "y": np.float32(2)})
    assert (out / "b.json").read_text() == '{\n  "x": null,\n  "y": 2.0\n}\n'


def test_band_stats_match_numpy(l4s_root, tmp_path):
    ds = L4SDataset(l4s_root)
    stats = compute_band_stats(ds)
    allpix = np.concatenate([s.image.reshape(14, -1) for s in ds], axis=1).astype(np.float64)
    np.testing.assert_allclose(stats.mean, allpix.mean(1), rtol=1e-9)
    np.testing.assert_allclose(stats.std, allpix.std(1), rtol=1e-6)
    stats.save(tmp_path / "s.json")
    assert BandStats.load(tmp_path / "s.json") == stats
    scale, shift = stats.scale_shift("standard")
    z = allpix * scale[:, None] + shift[:, None]
    np.testing.assert_allclose(z.mean(1), 0, atol=1e-5)
    scale, shift = stats.scale_shift("mean")
    np.testing.assert_allclose((allpix * scale[:, None]).mean(1), 1, rtol=1e-5)


def test_declared_ranges_are_checked_at_load(tmp_path):
    from landslide_fusion.config import check_folds, setting

    @dataclass(frozen=True)
    class Ranged:
        lr: float = setting(0.1, gt=0)
        fraction: float = setting(0.5, gt=0, lt=1)
        mode: str = setting("a", choices=("a", "b"))
        edges: tuple[float, ...] = setting((0.2, 0.6), gt=0, lt=1, increasing=True)
        crop: int = setting(0, ge=0, multiple_of=16)

    assert load_config(Ranged) == Ranged()
    assert load_config(Ranged, None, ["crop=128"]).crop == 128  # and 0 (off) is the default
    with pytest.raises(ConfigError, match=r"^crop = 120 must be a multiple of 16; try 128 \(from --set crop=120\)$"):
        load_config(Ranged, None, ["crop=120"])
    with pytest.raises(ConfigError, match="^crop = -16 must be >= 0"):
        load_config(Ranged, None, ["crop=-16"])
    with pytest.raises(ConfigError, match=r"^lr = -1.0 must be > 0, e.g. 0.1 \(from --set lr=-1\)$"):
        load_config(Ranged, None, ["lr=-1"])
    (tmp_path / "r.toml").write_text("fraction = 1.0\n")
    with pytest.raises(ConfigError, match=r"^fraction = 1.0 must be > 0 and < 1, e.g. 0.5 \(in .*r.toml\)$"):
        load_config(Ranged, tmp_path / "r.toml")
    with pytest.raises(ConfigError, match="mode = 'c' is not one of a, b"):
        load_config(Ranged, None, [], {"mode": "c"})
    with pytest.raises(ConfigError, match="strictly increasing"):
        load_config(Ranged, None, ["edges=[0.6, 0.2]"])
    with pytest.raises(ConfigError, match="must be a finite number"):
        load_config(Ranged, None, ["lr=inf"])
    with pytest.raises(
        ConfigError, match="cv.folds = 5 is more folds than the data allows: 4 rows, 2 in the larger class"
    ):
        check_folds(5, [0, 1, 0, 1], "cv.folds", "rows")
    check_folds(2, [0, 1, 0, 1], "cv.folds")
