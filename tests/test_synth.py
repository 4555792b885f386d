import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.metrics import roc_auc_score

from landslide_fusion.bands import L4S14
from landslide_fusion.synth import (
    POSITIVE_PATCH_RATE,
    S2_BARE_SHIFT,
    S2_MEAN,
    susceptibility,
    synth_patch,
    synth_region_table,
)


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


def _scar_score(x: np.ndarray) -> float:
    """A patch's strongest fresh-scar signal: bare-ground spectra (projected on the bare-ground
    shift), smoothed, on steep ground; the evidence a detector of landslides in imagery has."""
    bare = np.tensordot(S2_BARE_SHIFT / np.linalg.norm(S2_BARE_SHIFT), x[:12] - S2_MEAN[:, None, None], 1)
    steep = gaussian_filter(x[L4S14.index("SLOPE")], 1.5) > 1.2
    return float((gaussian_filter(bare, 1.5) * steep).max())


def test_each_view_explains_part_of_the_risk():
    """Imagery misses faint landslides and flags look-alikes on steep ground; the region table's
    factors explain another part of the risk, independently: each view is informative and
    imperfect, and together they separate the classes better than either."""
    x, m = _batch(n=300, size=32, seed=3)
    y = m.reshape(len(m), -1).any(1).astype(int)
    image = np.array([_scar_score(p) for p in x])
    table = susceptibility(synth_region_table([f"r{i}" for i in range(len(y))], y, seed=3))
    auc = {"image": roc_auc_score(y, image), "table": roc_auc_score(y, table)}
    assert 0.65 < auc["image"] < 0.92 and 0.7 < auc["table"] < 0.95, auc
    z = lambda v: (v - v.mean()) / v.std()  # noqa: E731
    assert roc_auc_score(y, z(image) + z(table)) > max(auc.values()) + 0.02, auc
    assert abs(np.corrcoef(image[y == 1], table[y == 1])[0, 1]) < 0.2  # independent given the label
