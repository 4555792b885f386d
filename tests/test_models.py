import pytest
import torch

from landslide_fusion.errors import ConfigError
from landslide_fusion.segmentation import count_parameters, create_model, list_models
from landslide_fusion.segmentation.models import HeadOutputs, options_class

from .conftest import TINY_MODELS as TINY

ALL = [
    "unet",
    "rau-net",
    "rau-net-small",
    "deeplabv3",
    "deeplabv3-small",
    "mobilenetv3",
    "efficientnetv2",
    "vnet",
    "squeeze-unet",
    "swin-unet",
    "segformer-b0",
]

MULTI = {n for n in ALL if "multi" in options_class(n).supported_heads}


pytestmark = pytest.mark.usefixtures("one_thread")


def test_registry_lists_and_errors():
    assert list_models() == ALL
    with pytest.raises(ConfigError, match="valid: unet, rau-net, rau-net-small, deeplabv3"):
        create_model("resnet", 3)
    with pytest.raises(ConfigError, match="^model.options.attention = 'xyz' is not one of none, se, cbam, mha"):
        create_model("rau-net-small", 3, attention="xyz")
    with pytest.raises(
        ConfigError, match=r"unknown key\(s\) attention; valid keys: aspp, base, heads, layers, output_stride"
    ):
        create_model("deeplabv3", 3, attention="mha")
    with pytest.raises(ConfigError, match=r"window: expected an integer"):
        create_model("swin-unet", 3, window="big")
    with pytest.raises(ConfigError, match="heads = 'multi' is not supported by this model; valid: mono, dual"):
        create_model("segformer-b0", 3, heads="multi")


def test_parameter_counts_match_the_paper():
    """Sizes with 23 bands (14 for the U-Net, as in the RAU-Net paper's Table I)."""
    want = {
        "rau-net": (24.8, 1.0),
        "rau-net-small": (2.6, 0.2),
        "deeplabv3": (39.6, 1.0),
        "deeplabv3-small": (2.6, 0.2),
        "mobilenetv3": (2.6, 0.2),
        "efficientnetv2": (2.6, 0.2),
        "vnet": (2.6, 0.2),
        "squeeze-unet": (2.6, 0.2),
        "swin-unet": (27.2, 1.0),
        "segformer-b0": (3.7, 0.2),
    }
    assert abs(count_parameters(create_model("unet", 14)) / 1e6 - 31.0) < 0.5
    for name, (m, tol) in want.items():
        assert abs(count_parameters(create_model(name, 23)) / 1e6 - m) < tol, name


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("bands", [3, 14, 23])
def test_forward_backward(name, bands):
    m = create_model(name, bands, **TINY[name])
    x = torch.randn(2, bands, 33, 47)
    out = m.train()(x)
    assert isinstance(out, HeadOutputs)
    assert tuple(out.masks[-1].shape) == (2, 1, 33, 47) or name in MULTI
    sum(o.mean() for o in out.masks).backward()
    assert all(p.grad is not None for p in m.parameters() if p.requires_grad), name
    assert m.eval()(x).shape == (2, 1, 33, 47)


@pytest.mark.parametrize("name", ALL)
def test_heads(name):
    opts = options_class(name).supported_heads
    for heads in opts:
        m = create_model(name, 5, heads=heads, **TINY[name])
        out = m.train()(torch.randn(2, 5, 32, 32))
        assert len(out.masks) == (3 if heads == "multi" else 1) and (out.image is not None) == (heads == "dual")
        if heads == "multi":
            assert [tuple(o.shape[-2:]) for o in out.masks] == [(16, 16), (32, 32), (64, 64)]
        assert m.eval()(torch.randn(1, 5, 20, 9)).shape == (1, 1, 20, 9)


@pytest.mark.parametrize("heads,n", [("mono", 1), ("multi", 3), ("dual", 1)])
@pytest.mark.parametrize("attention", ["none", "se", "cbam", "mha"])
def test_rau_net_heads_and_attention(heads, attention, n):
    m = create_model("rau-net-small", 5, heads=heads, attention=attention, widths=(4, 8, 8, 16, 16))
    out = m.train()(torch.randn(2, 5, 32, 32))
    assert len(out.masks) == n and (out.image is not None) == (heads == "dual")


def test_any_input_size_and_shape_error():
    m = create_model("rau-net-small", 3, widths=(4, 8, 8, 16, 16)).eval()
    assert m(torch.randn(1, 3, 37, 50)).shape == (1, 1, 37, 50)
    assert m(torch.randn(1, 3, 9, 9)).shape == (1, 1, 9, 9)
    with pytest.raises(ConfigError, match=r"expects input \(B, 3, H, W\)"):
        m(torch.randn(1, 4, 32, 32))


@pytest.mark.parametrize("name", ALL)
def test_onnx_export_matches_torch(name, tmp_path):
    pytest.importorskip("onnxruntime")
    from landslide_fusion.segmentation.inference.onnx import OnnxPipeline, export_module

    torch.manual_seed(0)
    m = create_model(name, 4, **TINY[name]).eval()
    for p in m.parameters():  # non-trivial weights everywhere (zero-initialised tables too)
        p.data.add_(0.05 * torch.randn_like(p))
    path = export_module(m, torch.randn(2, 4, 32, 32), tmp_path / f"{name}.onnx")
    run = OnnxPipeline(path)
    for shape in [(1, 4, 33, 47), (3, 4, 64, 40)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            ref = m(x)
        got = run(x)
        assert got.shape == ref.shape
        assert float((got - ref).abs().max()) < 1e-4, (name, shape)


def test_self_attention_equals_torch_multihead_attention():
    from landslide_fusion.segmentation.blocks import _SelfAttention

    torch.manual_seed(0)
    ours = _SelfAttention(16, 4)
    ref = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    ref.load_state_dict(ours.state_dict())  # same parameter names
    x = torch.randn(3, 11, 16)
    torch.testing.assert_close(ours(x), ref(x, x, x, need_weights=False)[0], atol=1e-6, rtol=1e-5)


def test_axis_attention_gates_the_pooled_views():
    from landslide_fusion.segmentation.blocks import AxisMHAttention

    torch.manual_seed(0)
    att = AxisMHAttention(6)
    x = torch.randn(2, 6, 10, 12)
    gc = att.channel(x.mean(dim=(2, 3)), x.amax(dim=(2, 3)))  # the definition, one view per axis
    gh = att.height(x.mean(dim=(1, 3)), x.amax(dim=(1, 3)))
    gw = att.width(x.mean(dim=(1, 2)), x.amax(dim=(1, 2)))
    want = x * gc[:, :, None, None] * gh[:, None, :, None] * gw[:, None, None, :]
    torch.testing.assert_close(att(x), want)
    torch.testing.assert_close(att(x.contiguous(memory_format=torch.channels_last)), want)


def test_swin_shift_mask_separates_rolled_regions():
    from landslide_fusion.segmentation.models.swin_unet import _shift_mask

    mask = _shift_mask(4, 4, 2, 1, torch.device("cpu"))  # 4 windows of 2x2 tokens
    assert mask.shape == (4, 4, 4)
    assert (mask[0] == 0).all()  # the top-left window holds one region
    assert (mask[3] != 0).sum() == 12  # the bottom-right window mixes four regions, one token each


CHANNELS_LAST_STEP = """
import sys, torch
from landslide_fusion.segmentation import create_model
from tests.test_models import TINY
torch.manual_seed(0)
cl = torch.channels_last
for name, opts in TINY.items():
    for bands in (3, 9):
        m = create_model(name, bands, **opts).to(memory_format=cl).train()
        out = m(torch.randn(2, bands, 64, 64).contiguous(memory_format=cl))
        sum(o.mean() for o in out.masks).backward()
print("ok")
"""


def test_every_model_trains_in_channels_last():
    """One training step of every model in the channels-last format training uses, in a child
    process: oneDNN's 1x1 stride-2 weight gradient with fewer than 16 input channels in that
    format corrupts the heap (oneDNN issue #6035), which would abort pytest itself."""
    import subprocess
    import sys
    from pathlib import Path

    proc = subprocess.run(
        [sys.executable, "-c", CHANNELS_LAST_STEP],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[1],
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_no_plain_strided_pointwise_convolution():
    """Every 1x1 convolution of stride > 1 is a :class:`StridedPointwiseConv2d` (subsample, then
    1x1): the plain kernel in channels-last crashes oneDNN with fewer than 16 input channels."""
    from landslide_fusion.segmentation.models.layers import StridedPointwiseConv2d

    for name in ALL:
        for opts in ({}, TINY[name]):
            for mod in create_model(name, 9, **opts).modules():
                if isinstance(mod, torch.nn.Conv2d) and mod.kernel_size == (1, 1) and max(mod.stride) > 1:
                    assert isinstance(mod, StridedPointwiseConv2d), name


def test_strided_pointwise_equals_the_plain_convolution():
    from landslide_fusion.segmentation.models.layers import conv2d

    torch.manual_seed(0)
    plain = torch.nn.Conv2d(5, 7, 1, 2)
    ours = conv2d(5, 7, 1, 2, bias=True)
    ours.load_state_dict(plain.state_dict())
    for shape in [(2, 5, 33, 47), (1, 5, 64, 64)]:
        x = torch.randn(*shape)
        torch.testing.assert_close(ours(x), plain(x))
