import numpy as np
import pytest
import torch

from landslide_fusion.bands import L4S14
from landslide_fusion.errors import BandError
from landslide_fusion.engineering import BandEngineer
from landslide_fusion.engineering.engineer import minmax_scale, normalized_difference
from landslide_fusion.engineering.filters import gaussian_blur, median_blur, median_blur_uint8, sobel


@pytest.mark.parametrize(
    "preset,k", [("l4s14", 14), ("l4s17", 17), ("l4s21", 21), ("l4s23", 23), ("l4s25", 25), ("l4s26", 26)]
)
def test_l4s_presets_band_counts(preset, k):
    e = BandEngineer("l4s14", preset)
    y = e(torch.rand(2, 14, 24, 24) + 0.5)
    assert y.shape == (2, k, 24, 24) and len(e.out_bands) == k and torch.isfinite(y).all()


def test_rgb_and_rgbn_presets():
    assert BandEngineer("rgb", "rgb9")(torch.rand(1, 3, 16, 16)).shape[1] == 9
    e = BandEngineer("rgbn", "rgbn14")
    assert e(torch.rand(1, 4, 16, 16)).shape[1] == 14 and "NDVI" in e.out_bands


def test_indices_match_formulas():
    x = torch.rand(3, 14, 8, 8) + 0.1
    y = BandEngineer("l4s14", "l4s21")(x)
    b = {n: i for i, n in enumerate(BandEngineer("l4s14", "l4s21").out_bands)}
    nir, red, sw1, sw2 = (
        x[:, L4S14.index("B8")],
        x[:, L4S14.index("B4")],
        x[:, L4S14.index("B11")],
        x[:, L4S14.index("B12")],
    )
    torch.testing.assert_close(y[:, b["NDVI"]], (nir - red) / (nir + red))
    torch.testing.assert_close(y[:, b["NDMI"]], (nir - sw1) / (nir + sw1))
    torch.testing.assert_close(y[:, b["NBR"]], (nir - sw2) / (nir + sw2))
    gray = (x[:, 1] + x[:, 2] + x[:, 3]) / 3
    torch.testing.assert_close(y[:, b["GRAY"]], gray)
    r = x[:, 3]
    torch.testing.assert_close(
        y[:, b["RED_MM"]], (r - r.amin((1, 2), True)) / (r.amax((1, 2), True) - r.amin((1, 2), True))
    )


def test_safe_on_degenerate_inputs():
    x = torch.zeros(2, 14, 16, 16)
    x[1, 3] = float("nan")
    x[1, 7, 0, 0] = float("inf")
    y = BandEngineer("l4s14", "l4s26")(x)
    assert torch.isfinite(y).all()
    assert normalized_difference(torch.zeros(3), torch.zeros(3)).abs().max() == 0
    assert minmax_scale(torch.ones(1, 1, 4, 4)).abs().max() == 0


@pytest.mark.parametrize("median", ["exact", "uint8"])
def test_output_written_in_place_equals_the_concatenation_autograd_uses(median):
    x = torch.rand(3, 14, 20, 20) + 0.5
    x[0, 3, 1, 1] = float("nan")
    e = BandEngineer("l4s14", "l4s26", median=median, median_kernel=5)
    with torch.no_grad():
        written = e(x)
    concatenated = e(x.clone().requires_grad_())
    assert concatenated.requires_grad and torch.isfinite(written).all()
    torch.testing.assert_close(written, concatenated.detach(), rtol=0, atol=0)


def test_batched_equals_per_image():
    x = torch.rand(4, 14, 20, 20) + 0.5
    e = BandEngineer("l4s14", "l4s26")
    torch.testing.assert_close(e(x), torch.cat([e(x[i : i + 1]) for i in range(4)]))


def test_errors_name_valid_choices():
    with pytest.raises(BandError, match="presets for 'rgb': rgb3, rgb7, rgb9, rgb12"):
        BandEngineer("rgb", "l4s23")
    with pytest.raises(BandError, match="valid: l4s14"):
        BandEngineer("l4s14", "l4s99")
    with pytest.raises(BandError, match=r"expects \(B, 14, H, W\)"):
        BandEngineer("l4s14", "l4s23")(torch.rand(1, 13, 8, 8))


def _brute_median(img, k):
    before, after = k // 2, (k - 1) // 2  # OpenCV's anchor, SciPy's origin=0
    p = np.pad(img, ((before, after), (before, after)), mode="reflect")
    out = np.empty_like(img)
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            w = np.sort(p[i : i + k, j : j + k].ravel())
            out[i, j] = w[(k * k + 1) // 2 - 1]
    return out


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6, 7, 10, 15])
def test_median_matches_brute_force(k):
    rng = np.random.default_rng(k)
    img = rng.random((19, 17)).astype(np.float32)
    ties = rng.integers(0, 4, (19, 17)).astype(np.float32)  # many equal values
    for a in (img, ties):
        got = median_blur(torch.from_numpy(a)[None, None], k)[0, 0].numpy()
        np.testing.assert_array_equal(got, _brute_median(a, k))


def test_window_median_chunks_and_shapes(monkeypatch):
    import landslide_fusion.engineering.sortnet as sortnet

    x = torch.rand(5, 3, 12, 9)
    whole = median_blur(x, 4)
    monkeypatch.setattr(sortnet, "_CHUNK_PIXELS", 1)  # one image per chunk
    torch.testing.assert_close(median_blur(x, 4), whole, rtol=0, atol=0)
    with pytest.raises(ValueError, match="H, W >= size=5"):
        sortnet.window_median(torch.rand(2, 4, 9), 5)


def test_gaussian_even_kernel_and_sobel():
    x = torch.ones(1, 1, 12, 12)
    torch.testing.assert_close(gaussian_blur(x, 10), x)
    ramp = torch.arange(12.0).repeat(12, 1)[None, None]
    gx, gy = sobel(ramp)
    assert (
        torch.allclose(gx[..., 2:-2, 2:-2], torch.full_like(gx[..., 2:-2, 2:-2], 8.0))
        and gy.abs()[..., 2:-2, 2:-2].max() == 0
    )


@pytest.mark.parametrize("median,k", [("exact", 10), ("uint8", 11)])
def test_l4s23_exports_to_onnx_for_any_batch_and_size(tmp_path, median, k):
    """uint8, k=11: the eager module runs cv2.medianBlur, the exported graph the comparator network."""
    ort = pytest.importorskip("onnxruntime")
    import warnings

    eng = BandEngineer("l4s14", "l4s23", median=median, median_kernel=k).eval()
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape arithmetic
        torch.onnx.export(
            eng,
            (torch.rand(2, 14, 32, 32) + 0.5,),
            str(tmp_path / "e.onnx"),
            input_names=["bands"],
            output_names=["out"],
            dynamic_axes={"bands": axes, "out": axes},
            opset_version=18,
            dynamo=False,
        )
    session = ort.InferenceSession(str(tmp_path / "e.onnx"), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(k)
    for shape in [(3, 14, 40, 56), (1, 14, 21, 17)]:  # median and blurs as Min/Max and shifted sums
        x = torch.rand(*shape, generator=gen) + 0.5
        got = session.run(None, {"bands": x.numpy()})[0]
        np.testing.assert_allclose(got, eng(x).numpy(), atol=1e-5)


def test_uint8_median_is_the_8bit_median_of_gray_and_close_to_the_exact_one():
    x = torch.rand(3, 14, 24, 24, generator=torch.Generator().manual_seed(0)) + 0.5
    exact, u8 = (BandEngineer("l4s14", "l4s23", median=m, median_kernel=11)(x) for m in ("exact", "uint8"))
    i = BandEngineer("l4s14", "l4s23").out_bands.index("MEDIAN")
    gray = exact[:, i - 2 : i - 1]
    torch.testing.assert_close(u8[:, i : i + 1], median_blur_uint8(gray, 11), rtol=0, atol=0)
    others = [j for j in range(23) if j != i]
    torch.testing.assert_close(u8[:, others], exact[:, others])
    half_step = (gray.amax((2, 3)) - gray.amin((2, 3))) / 510
    inner = (u8[:, i] - exact[:, i])[:, 5:-5, 5:-5].abs().amax((1, 2))  # the borders differ: replicate vs mirror
    assert (inner <= half_step[:, 0] + 1e-6).all() and (u8[:, i] != exact[:, i]).any()


def test_feature_config_median_defaults_to_exact_for_runs_that_predate_it(tmp_path):
    from landslide_fusion.config import load_config
    from landslide_fusion.errors import ConfigError
    from landslide_fusion.segmentation import SegmentConfig
    from landslide_fusion.segmentation.inference.pipeline import build_pipeline
    from landslide_fusion.stats import BandStats

    old = tmp_path / "config.toml"  # a run's config written before features.median existed
    old.write_text('[features]\nsource = "l4s14"\npreset = "l4s23"\nmedian_kernel = 11\n')
    cfg = load_config(SegmentConfig, old, ['model.name="unet"', "model.options.widths=[4, 4, 4, 4, 4]"])
    zeros, ones = (0.0,) * 23, (1.0,) * 23
    stats = BandStats(BandEngineer("l4s14", "l4s23").out_bands, mean=zeros, std=ones, min=zeros, max=ones)
    x = torch.rand(2, 14, 16, 16) + 0.5
    got = build_pipeline(cfg, stats).engineer(x)
    torch.testing.assert_close(got, BandEngineer("l4s14", "l4s23", median="exact", median_kernel=11)(x), rtol=0, atol=0)
    with pytest.raises(ConfigError, match="features.median = 'float' is not one of exact, uint8"):
        load_config(SegmentConfig, old, ['features.median="float"'])
    with pytest.raises(BandError, match="median must be one of 'exact', 'uint8', not 'float'"):
        BandEngineer("l4s14", "l4s23", median="float")


def test_normalized_difference_keeps_the_sign_of_a_tiny_denominator():
    a = np.array([-3e-7, 3e-7, 0.0, 0.5, -2e-6, 1e-7, -4e-7], np.float64)
    b = np.array([1e-7, -1e-7, 0.0, 0.25, 1e-6, 0.0, 4e-7], np.float64)
    den = a + b
    den = np.where(np.abs(den) < 1e-6, np.where(den < 0, -1e-6, 1e-6), den)  # float64 reference
    ref = np.clip((a - b) / den, -1, 1)
    for dtype in (torch.float32, torch.float64):
        got = normalized_difference(torch.tensor(a, dtype=dtype), torch.tensor(b, dtype=dtype))
        np.testing.assert_allclose(got.double().numpy(), ref, rtol=1e-5, atol=1e-6)
    assert normalized_difference(torch.tensor([-3e-7]), torch.tensor([1e-7])).item() == pytest.approx(0.4)
