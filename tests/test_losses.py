import math

import pytest
import torch

from landslide_fusion.errors import ConfigError
from landslide_fusion.segmentation import create_loss, list_losses
from landslide_fusion.segmentation.training import losses as L
from landslide_fusion.segmentation.models import HeadOutputs

Z = torch.tensor([[[0.0, 2.0], [-1.0, 0.0]]])  # logits (1, 2, 2)
Y = torch.tensor([[[1, 1], [0, 0]]])
P = torch.sigmoid(Z)


def test_cross_entropy_and_weighted():
    expect = -(math.log(0.5) + math.log(P[0, 0, 1]) + math.log(1 - P[0, 1, 0]) + math.log(0.5)) / 4
    assert L.cross_entropy(Z, Y).item() == pytest.approx(expect)
    w = L.weighted_cross_entropy(Z, Y, pos_weight=3.0).item()
    expect_w = -(3 * math.log(0.5) + 3 * math.log(P[0, 0, 1]) + math.log(1 - P[0, 1, 0]) + math.log(0.5)) / 4
    assert w == pytest.approx(expect_w)


def test_focal_hand_value():
    p = P.flatten().tolist()
    y = Y.flatten().tolist()
    terms = []
    for pi, yi in zip(p, y):
        pt = pi if yi else 1 - pi
        at = 0.25 if yi else 0.75
        terms.append(-at * (1 - pt) ** 2 * math.log(pt))
    assert L.focal_loss(Z, Y).item() == pytest.approx(sum(terms) / 4)


def test_overlap_losses_hand_values():
    p = P.flatten()
    y = Y.flatten().float()
    tp = float((p * y).sum())
    fp = float((p * (1 - y)).sum())
    fn = float(((1 - p) * y).sum())
    assert L.soft_iou_loss(Z, Y).item() == pytest.approx(1 - (tp + 1) / (tp + fp + fn + 1))
    assert L.dice_loss(Z, Y).item() == pytest.approx(1 - (2 * tp + 1) / (2 * tp + fp + fn + 1))
    assert L.tversky_loss(Z, Y).item() == pytest.approx(1 - (tp + 1) / (tp + 0.3 * fp + 0.7 * fn + 1))
    assert L.log_cosh_dice_loss(Z, Y).item() == pytest.approx(math.log(math.cosh(L.dice_loss(Z, Y).item())), rel=1e-5)


def test_lovasz_perfect_and_wrong():
    y = torch.tensor([[[1, 0], [0, 1]]])
    assert L.lovasz_hinge(torch.where(y.bool(), 5.0, -5.0)[None][0], y).item() == 0
    assert L.lovasz_hinge(torch.where(y.bool(), -1.0, 1.0), y).item() == pytest.approx(2.0)


def test_weighted_ce_variants_reduce_to_ce_without_masks():
    z, y = torch.randn(2, 24, 24), torch.zeros(2, 24, 24, dtype=torch.long)
    assert L.boundary_weighted_ce(z, y).item() == pytest.approx(L.cross_entropy(z, y).item())
    assert L.centre_weighted_ce(z, y).item() == pytest.approx(L.cross_entropy(z, y).item())
    y[:, 10:14, 10:14] = 1
    assert L.boundary_weighted_ce(z, y).item() != pytest.approx(L.cross_entropy(z, y).item())
    assert L.centre_weighted_ce(z, y).item() != pytest.approx(L.cross_entropy(z, y).item())


def test_spec_combinations_and_heads():
    z, y = torch.randn(2, 1, 8, 8), torch.randint(0, 2, (2, 8, 8))
    combo = create_loss("focal+iou")(z, y).item()
    assert combo == pytest.approx(0.5 * L.focal_loss(z, y).item() + 0.5 * L.soft_iou_loss(z, y).item())
    weighted = create_loss("0.7*focal+0.3*iou")(z, y).item()
    assert weighted == pytest.approx(0.7 * L.focal_loss(z, y).item() + 0.3 * L.soft_iou_loss(z, y).item())
    multi = create_loss("ce")(HeadOutputs([z[..., ::2, ::2], z]), y).item()
    up = torch.nn.functional.interpolate(z[..., ::2, ::2], size=(8, 8), mode="bilinear", align_corners=False)
    assert multi == pytest.approx((L.cross_entropy(up, y).item() + L.cross_entropy(z, y).item()) / 2)
    assert len(list_losses()) == 10


def test_a_loss_registered_outside_the_package_is_a_term_of_train_loss():
    def mean_logit(z, y):
        return z.mean()

    L.register_loss("mean-logit", mean_logit)
    try:
        z, y = torch.randn(2, 1, 8, 8), torch.randint(0, 2, (2, 8, 8))
        got = create_loss("focal+mean-logit")(z, y).item()
        assert got == pytest.approx(0.5 * L.focal_loss(z, y).item() + 0.5 * z.mean().item())
        assert "mean-logit" in list_losses()
        with pytest.raises(ConfigError, match="loss 'mean-logit' is already registered"):
            L.register_loss("mean-logit", L.focal_loss)
    finally:
        L._REGISTRY.unregister("mean-logit")
    with pytest.raises(ConfigError, match="use lower-case letters and hyphens"):
        L.register_loss("My_Loss", mean_logit)


def test_spec_errors():
    with pytest.raises(ConfigError, match="unknown loss 'focl'"):
        create_loss("focl+iou")
    with pytest.raises(ConfigError, match="weight to every term or to none"):
        create_loss("0.5*focal+iou")


@pytest.mark.parametrize("name", list_losses())
def test_multichannel_logits_are_refused_with_the_fix(name):
    z2 = torch.randn(2, 2, 4, 4)
    y = (torch.rand(2, 4, 4) > 0.5).long()
    with pytest.raises(ValueError, match=r"\(2, 2, 4, 4\).*z\[:, 1:2\] - z\[:, 0:1\]"):
        L.LOSSES[name](z2, y)
    with pytest.raises(ValueError, match="one landslide logit per pixel"):
        create_loss(name)(z2, y)
    with pytest.raises(ValueError, match="one landslide logit per pixel"):
        L.LOSSES[name](torch.randn(2, 16), y)


def test_the_suggested_two_class_fix_equals_torch_softmax_cross_entropy():
    torch.manual_seed(0)
    z2 = torch.randn(2, 2, 4, 4)
    y = (torch.rand(2, 4, 4) > 0.5).long()
    ours = L.cross_entropy(z2[:, 1:2] - z2[:, 0:1], y)
    torch.testing.assert_close(ours, torch.nn.functional.cross_entropy(z2, y))
    one = torch.randn(2, 1, 4, 4)
    torch.testing.assert_close(
        L.cross_entropy(one, y), torch.nn.functional.binary_cross_entropy_with_logits(one[:, 0], y.float())
    )
