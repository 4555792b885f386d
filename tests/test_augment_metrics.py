import torch

from landslide_fusion.segmentation.training.augment import cutmix_landslides, rot90_flip, spectral_jitter
from landslide_fusion.segmentation.evaluation.metrics import ConfusionMatrix, ThresholdSweep


def _pair(b=6, s=16):
    g = torch.Generator().manual_seed(0)
    y = (torch.rand(b, s, s, generator=g) > 0.8).long()
    y[0] = 0
    x = torch.stack([y.float() * 10 + i for i in range(3)], 1)  # image carries the mask
    return x, y, g


def test_rot90_flip_keeps_alignment():
    x, y, g = _pair()
    xa, ya = rot90_flip(x, y, g)
    assert torch.equal((xa[:, 0] >= 10).long(), ya)
    assert not torch.equal(ya, y)


def test_cutmix_pastes_image_with_mask():
    x, y, g = _pair()
    xa, ya = cutmix_landslides(x, y, g, prob=1.0, max_sources=2)
    assert torch.equal((xa[:, 0] >= 10).long(), ya)
    assert ya.sum() >= y.sum() and ya[0].sum() > 0


def test_jitter_leaves_terrain_alone():
    x = torch.ones(4, 3, 4, 4)
    out = spectral_jitter(x, torch.tensor([True, True, False]), torch.Generator().manual_seed(1), 0.1)
    assert torch.equal(out[:, 2], x[:, 2]) and not torch.equal(out[:, 0], x[:, 0])


def test_confusion_metrics():
    pred = torch.tensor([1, 1, 0, 0, 1])
    true = torch.tensor([1, 0, 1, 0, 1])
    m = ConfusionMatrix().update(pred, true).as_dict()
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 1, 1)
    assert m["precision"] == 2 / 3 and m["recall"] == 2 / 3 and m["f1"] == 2 / 3 and m["iou"] == 0.5
    assert m["miou"] == (0.5 + 1 / 3) / 2 and m["mean_f1"] == (2 / 3 + 0.5) / 2


def test_threshold_sweep_picks_best():
    prob = torch.tensor([0.9, 0.35, 0.3, 0.1])
    true = torch.tensor([1, 1, 0, 0])
    s = ThresholdSweep()
    s.update(prob, true)
    t, m = s.best()
    assert 0.3 < t <= 0.35 and m["f1"] == 1.0
