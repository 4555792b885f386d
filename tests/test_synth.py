import numpy as np

from landslide_fusion.bands import L4S14
from landslide_fusion.synth import POSITIVE_PATCH_RATE, synth_patch, synth_region_table


def _batch(n=80, size=64, seed=0):
    rng = np.random.default_rng(seed)
    pairs = [synth_patch(rng, size) for _ in range(n)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def test_deterministic():
    a, ma = _batch(3, 32, seed=5)
    b, mb = _batch(3, 32, seed=5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ma, mb)


def test_label_balance_and_value_ranges():
    x, m = _batch()
    positive = m.reshape(len(m), -1).any(1).mean()
    assert abs(positive - POSITIVE_PATCH_RATE) < 0.15
    assert 0.008 < m.mean() < 0.04
    assert x.dtype == np.float32 and np.isfinite(x).all()
    slope, dem = x[:, L4S14.index("SLOPE")], x[:, L4S14.index("DEM")]
    assert slope.min() >= 0 and slope.max() <= 2.7 and 0.6 <= dem.min() and dem.max() <= 2.2
    assert 0.8 < x[:, :12].mean() < 1.6


def test_planted_signal_low_ndvi_on_steep_terrain():
    x, m = _batch()
    nir, red = x[:, L4S14.index("B8")], x[:, L4S14.index("B4")]
    ndvi = (nir - red) / (nir + red)
    slide, ground = m.astype(bool), ~m.astype(bool)
    assert ndvi[slide].mean() < ndvi[ground].mean() - 0.2
    assert x[:, L4S14.index("SLOPE")][slide].mean() > x[:, L4S14.index("SLOPE")][ground].mean() + 0.5


def test_region_table_signal():
    y = np.array([0, 1] * 200)
    t = synth_region_table([f"r{i}" for i in range(400)], y, seed=0)
    assert t["region_id"].is_unique and list(t["landslide"]) == list(y)
    assert t.loc[y == 1, "rainfall_mm"].mean() > t.loc[y == 0, "rainfall_mm"].mean() + 80
    assert str(t["lithology"].dtype) == "category"
