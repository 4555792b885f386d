"""``[model]`` config: options checked against the model's dataclass, legacy keys, init_from."""

import json

import pytest
import torch

from landslide_fusion.config import load_config, save_config
from landslide_fusion.errors import ConfigError, DataError
from landslide_fusion.segmentation.config import ModelConfig, SegmentConfig
from landslide_fusion.segmentation.models import create_model, load_initial_weights


def test_options_are_checked_against_the_models_dataclass(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[model]\nname = "segformer-b0"\n[model.options]\ndecoder = 64\n')
    cfg = load_config(SegmentConfig, p)
    assert cfg.model.options["decoder"] == 64 and cfg.model.options["dims"] == (32, 64, 160, 256)
    with pytest.raises(
        ConfigError, match=r"model 'segformer-b0'\): unknown key\(s\) widths; valid keys: decoder, depths, dims"
    ):
        load_config(SegmentConfig, p, ["model.options.widths=[1, 2]"])
    with pytest.raises(ConfigError, match=r"decoder: expected an integer, got 'wide'"):
        load_config(SegmentConfig, p, ['model.options.decoder="wide"'])
    with pytest.raises(ConfigError, match="unknown model 'resnet'; valid: unet, rau-net"):
        load_config(SegmentConfig, None, ['model.name="resnet"'])


def test_legacy_keys_move_into_options_and_saved_configs_round_trip(tmp_path):
    cfg = load_config(SegmentConfig, None, ['model.attention="se"', "model.widths=[4, 8, 8, 16, 16]"])
    assert cfg.model.options == {"heads": "multi", "attention": "se", "widths": (4, 8, 8, 16, 16), "dropout": 0.0}
    assert cfg.model.attention is None
    save_config(cfg, tmp_path / "c.toml")
    assert "[model.options]" in (tmp_path / "c.toml").read_text()
    assert load_config(SegmentConfig, tmp_path / "c.toml") == cfg
    old_run = tmp_path / "old.toml"  # as runs wrote it before [model.options]
    old_run.write_text('[model]\nname = "rau-net-small"\nattention = "mha"\nheads = "multi"\nwidths = []\n')
    assert load_config(SegmentConfig, old_run).model == ModelConfig()
    with pytest.raises(ConfigError, match="model.heads and model.options.heads are both set"):
        load_config(SegmentConfig, None, ['model.heads="mono"', 'model.options.heads="dual"'])


def test_init_from_checks_keys_and_shapes(tmp_path):
    src = create_model("vnet", 3, base=2)
    torch.save(src.state_dict(), tmp_path / "w.pt")
    dst = load_initial_weights(create_model("vnet", 3, base=2), tmp_path / "w.pt")
    for k, v in src.state_dict().items():
        torch.testing.assert_close(dst.state_dict()[k], v)
    with pytest.raises(
        DataError, match=r"'left.0.body.0.0.weight' has shape \(2, 3, 5, 5\) in the file and \(2, 4, 5, 5\)"
    ):
        load_initial_weights(create_model("vnet", 4, base=2), tmp_path / "w.pt")
    with pytest.raises(DataError, match="lacks"):
        load_initial_weights(create_model("unet", 3, widths=(4, 8, 8)), tmp_path / "w.pt")
    torch.save({"note": "hello"}, tmp_path / "bad.pt")
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    for bad in ("bad.pt", "junk.pt"):
        with pytest.raises(DataError, match="not a state dict of tensors") as e:
            load_initial_weights(src, tmp_path / bad)
        assert "weights_only" not in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="no such file"):
        load_initial_weights(src, tmp_path / "absent.pt")


def test_init_from_is_used_by_build_pipeline(tmp_path):
    from landslide_fusion.segmentation.inference.pipeline import build_pipeline
    from landslide_fusion.stats import BandStats

    opts = ['features.source="rgb"', 'features.preset="rgb3"', 'model.name="vnet"', "model.options.base=2"]
    cfg = load_config(SegmentConfig, None, opts)
    stats = BandStats(bands=("RED", "GREEN", "BLUE"), mean=(0.0,) * 3, std=(1.0,) * 3, min=(0.0,) * 3, max=(1.0,) * 3)
    first = build_pipeline(cfg, stats)
    torch.save(first.state_dict(), tmp_path / "model.pt")  # a run's pipeline state dict
    cfg2 = load_config(SegmentConfig, None, opts + [f'model.init_from="{tmp_path / "model.pt"}"'])
    second = build_pipeline(cfg2, stats, initialize=True)
    for k, v in first.model.state_dict().items():
        torch.testing.assert_close(second.model.state_dict()[k], v)


#: Model option values that built the same model as another value, trained a model without layers,
#: or ended in a traceback (issue #24): each is now one line naming the option, the value and a valid value.
BAD_OPTIONS = [
    ("mobilenetv3", "width=0", "must be > 0, e.g. 0.9"),
    ("mobilenetv3", "width=-1", "must be > 0, e.g. 0.9"),
    ("efficientnetv2", "depth=0", "must be > 0, e.g. 0.5"),
    ("deeplabv3", "layers=[]", "must have 4 entries, not 0, e.g. [3, 4, 6, 3]"),
    ("deeplabv3-small", "base=0", "must be >= 1, e.g. 16"),
    ("unet", "dropout=2.0", "must be >= 0 and < 1, e.g. 0.2"),
    ("unet", "widths=[4, 8]", "must have at least 3 entries, not 2, e.g. [64, 128, 256, 512, 1024]"),
    ("rau-net-small", "widths=[4, 0, 8, 16, 16]", "must be >= 1, e.g. [8, 24, 48, 112, 336]"),
    ("squeeze-unet", "widths=[8, -16, 16]", "must be >= 2, e.g. [60, 120, 240, 480, 960]"),
    ("vnet", "base=0", "must be >= 1, e.g. 7"),
    ("vnet", "convs=[]", "must have at least 3 entries, not 0, e.g. [1, 2, 3, 3, 3]"),
    ("mobilenetv3", "decoder=[]", "must have 5 entries, not 0, e.g. [64, 48, 32, 24, 16]"),
    ("swin-unet", "window=0", "must be >= 1, e.g. 4"),
    (
        "swin-unet",
        "embed_dim=7",
        "gives stage 1 7 channels, not divisible by its 3 heads (num_heads [3, 6, 12, 24]); "
        "use a multiple of 3, e.g. 6",
    ),
    ("segformer-b0", "num_heads=[0, 2, 5, 8]", "must be >= 1, e.g. [1, 2, 5, 8]"),
]


@pytest.mark.parametrize("model,option,problem", BAD_OPTIONS, ids=[f"{m} {o}" for m, o, _ in BAD_OPTIONS])
def test_model_options_outside_their_range_are_one_line(model, option, problem):
    key, value = option.split("=", 1)
    with pytest.raises(ConfigError) as e:
        load_config(SegmentConfig, None, [f'model.name="{model}"', f"model.options.{option}"])
    parsed = json.loads(value)
    shown = value if isinstance(parsed, list) else repr(float(parsed) if key in ("width", "depth") else parsed)
    assert str(e.value) == f"model.options.{key} = {shown} {problem} (from --set model.options.{option})"
    with pytest.raises(ConfigError, match=f"^model.options.{key} = "):  # the library's door checks the same
        create_model(model, 3, **{key: json.loads(value)})


def test_model_options_from_a_file_are_blamed_on_the_file(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[model]\nname = "vnet"\n[model.options]\nbase = 0\n')
    with pytest.raises(ConfigError, match=rf"^model.options.base = 0 must be >= 1, e.g. 7 \(in {p}\)$"):
        load_config(SegmentConfig, p)


def test_a_model_registered_outside_the_package_is_built_from_a_config():
    """A new architecture is one decorated builder with its options dataclass."""
    from dataclasses import dataclass

    from landslide_fusion.segmentation.models import registry as R
    from landslide_fusion.segmentation.models.registry import HeadOptions, register_model

    @dataclass(frozen=True)
    class PointwiseOptions(HeadOptions):
        width: int = 4

    @register_model("pointwise-test", options=PointwiseOptions, description="two 1x1 convolutions")
    def build(in_channels: int, o: PointwiseOptions) -> torch.nn.Module:
        return torch.nn.Sequential(torch.nn.Conv2d(in_channels, o.width, 1), torch.nn.Conv2d(o.width, 1, 1))

    try:
        cfg = load_config(SegmentConfig, None, ['model.name="pointwise-test"', "model.options.width=3"])
        net = create_model(cfg.model.name, 5, **cfg.model.options)
        assert net(torch.zeros(2, 5, 8, 8)).shape == (2, 1, 8, 8) and net[0].out_channels == 3
        with pytest.raises(ConfigError, match="model 'pointwise-test' is already registered"):
            register_model("pointwise-test", options=PointwiseOptions, description="another")(lambda c, o: None)
    finally:
        R._REGISTRY.unregister("pointwise-test")
