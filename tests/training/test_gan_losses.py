"""The GAN losses by name against values computed by hand, and the discriminator loss scale."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from training.gan_losses import adversarial_loss, default_gan_loss
from training.loop import TrainConfig
from training.losses import RestorationLoss


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def bce(x: float, label: float) -> float:
    """-(label log sigmoid(x) + (1 - label) log(1 - sigmoid(x))), written out."""
    p = 1 / (1 + math.exp(-x))
    return -(label * math.log(p) + (1 - label) * math.log(1 - p))


LEVELS = [torch.tensor([[[0.0, 2.0]], [[-1.0, 0.5]]]), torch.tensor([[3.0], [-0.5]])]  # a 2x1x2 map and 2x1


def by_hand(per_logit) -> float:
    """Sum over levels of the mean over each level's logits."""
    first = [0.0, 2.0, -1.0, 0.5]
    second = [3.0, -0.5]
    return sum(per_logit(x) for x in first) / 4 + sum(per_logit(x) for x in second) / 2


@pytest.mark.parametrize(
    "name, role, per_logit",
    [
        ("sigmoid-0.8", "generator", lambda x: bce(x, 0.8)),
        ("sigmoid-0.8", "real", lambda x: bce(x, 0.8)),
        ("sigmoid-0.8", "fake", lambda x: bce(x, 0.0)),
        ("hinge", "generator", lambda x: -x),
        ("hinge", "real", lambda x: max(0.0, 1 - x)),
        ("hinge", "fake", lambda x: max(0.0, 1 + x)),
        ("non-saturating", "generator", lambda x: softplus(-x)),
        ("non-saturating", "real", lambda x: softplus(-x)),
        ("non-saturating", "fake", lambda x: softplus(x)),
    ],
)
def test_multilevel_losses_match_the_hand_computed_values(name: str, role: str, per_logit) -> None:
    assert adversarial_loss(LEVELS, name, role).item() == pytest.approx(by_hand(per_logit), rel=1e-6)


def test_sigmoid_0_8_by_numbers() -> None:
    # BCE(0, 0.8) = ln 2; BCE(2, 0.8) = softplus(2) - 0.8 * 2 = 2.126928 - 1.6
    assert adversarial_loss(torch.tensor([0.0, 2.0]), "sigmoid-0.8", "generator").item() == pytest.approx(
        (0.693147 + 0.526928) / 2, abs=1e-6
    )
    assert adversarial_loss(torch.tensor([0.0, 2.0]), "sigmoid-0.8", "fake").item() == pytest.approx(
        (0.693147 + 2.126928) / 2, abs=1e-6
    )
    with pytest.raises(ValueError, match="unknown gan_loss 'lsgan'"):
        adversarial_loss(torch.zeros(1), "lsgan", "real")


class FixedLogits(nn.Module):
    """A 'discriminator' whose logits are the picture's first row (so a test chooses them)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(()))

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        return [image[:, 0, 0, :2] * self.weight]


def test_discriminator_loss_is_scaled_and_the_generator_term_is_not() -> None:
    real = torch.zeros(1, 3, 2, 2)
    real[0, 0, 0] = torch.tensor([0.0, 2.0])
    fake = torch.zeros(1, 3, 2, 2)
    fake[0, 0, 0] = torch.tensor([-1.0, 0.5])
    criterion = RestorationLoss("mse", gan_loss="sigmoid-0.8", discriminator_weight=0.5)
    expected_real = (bce(0.0, 0.8) + bce(2.0, 0.8)) / 2
    expected_fake = (bce(-1.0, 0.0) + bce(0.5, 0.0)) / 2
    discriminator = FixedLogits()
    assert criterion.discriminator_half(discriminator, real, "real").item() == pytest.approx(0.5 * expected_real)
    assert criterion.discriminator_loss(discriminator, real, fake).item() == pytest.approx(
        0.5 * (expected_real + expected_fake)
    )
    generator_term = criterion.adversarial_loss(fake, discriminator)
    assert generator_term.item() == pytest.approx((bce(-1.0, 0.8) + bce(0.5, 0.8)) / 2)
    assert discriminator.weight.requires_grad  # given back after the generator's term


def test_gan_loss_is_recorded_resolved_and_checked(tmp_path) -> None:
    assert TrainConfig(str(tmp_path), 1).gan_loss == "non-saturating" == default_gan_loss("unet")
    assert TrainConfig(str(tmp_path), 1, discriminator="vision-aided-dino").gan_loss == "hinge"
    assert TrainConfig(str(tmp_path), 1, gan_loss="sigmoid-0.8").gan_loss == "sigmoid-0.8"
    with pytest.raises(ValueError, match="unknown gan_loss"):
        TrainConfig(str(tmp_path), 1, gan_loss="wgan")
    with pytest.raises(ValueError, match="unknown gan_step"):
        TrainConfig(str(tmp_path), 1, gan_step="alternating")
    with pytest.raises(ValueError, match="needs the GAN term"):
        TrainConfig(str(tmp_path), 1, gan_step="separate", target="mse")
