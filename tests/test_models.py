import pytest
import torch

from landslide_fusion.errors import ConfigError
from landslide_fusion.segmentation import count_parameters, create_model, list_models
from landslide_fusion.segmentation.models import HeadOutputs


def test_registry_lists_and_errors():
    assert list_models() == ["unet", "rau-net", "rau-net-small"]
    with pytest.raises(ConfigError, match="valid: unet, rau-net, rau-net-small"):
        create_model("resnet", 3)
    with pytest.raises(ConfigError, match="valid: none, se, cbam, mha"):
        create_model("rau-net-small", 3, attention="xyz")


def test_parameter_counts_match_the_paper():
    assert abs(count_parameters(create_model("unet", 14)) / 1e6 - 31.0) < 0.5
    assert abs(count_parameters(create_model("rau-net", 23)) / 1e6 - 24.8) < 1.0
    assert abs(count_parameters(create_model("rau-net-small", 23)) / 1e6 - 2.6) < 0.2


SMALL = {"unet": (8, 16, 32, 64, 128), "rau-net": (8, 16, 32, 64, 128), "rau-net-small": None}


@pytest.mark.parametrize("name", list(SMALL))
@pytest.mark.parametrize("bands", [3, 14, 23])
def test_forward_backward(name, bands):
    opts = {"widths": SMALL[name]} if SMALL[name] else {}
    m = create_model(name, bands, **opts)
    x = torch.randn(2, bands, 32, 32)
    out = m.train()(x)
    assert isinstance(out, HeadOutputs)
    sum(o.mean() for o in out.masks).backward()
    assert all(p.grad is not None for p in m.parameters() if p.requires_grad)
    assert m.eval()(x).shape == (2, 1, 32, 32)


@pytest.mark.parametrize("heads,n", [("mono", 1), ("multi", 3), ("dual", 1)])
@pytest.mark.parametrize("attention", ["none", "se", "cbam", "mha"])
def test_heads_and_attention(heads, attention, n):
    m = create_model("rau-net-small", 5, heads=heads, attention=attention, widths=(4, 8, 8, 16, 16))
    out = m.train()(torch.randn(2, 5, 32, 32))
    assert len(out.masks) == n and (out.image is not None) == (heads == "dual")
    if heads == "multi":
        assert [tuple(o.shape[-2:]) for o in out.masks] == [(16, 16), (32, 32), (64, 64)]


def test_any_input_size_and_shape_error():
    m = create_model("rau-net-small", 3, widths=(4, 8, 8, 16, 16)).eval()
    assert m(torch.randn(1, 3, 37, 50)).shape == (1, 1, 37, 50)
    assert m(torch.randn(1, 3, 9, 9)).shape == (1, 1, 9, 9)
    with pytest.raises(ConfigError, match=r"expects input \(B, 3, H, W\)"):
        m(torch.randn(1, 4, 32, 32))


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
