"""The 2.0*MSE + 5.0*LPIPS + 0.5*GAN loss, the MSE-only target and the patch discriminator."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training.losses import LossWeights, PatchDiscriminator, RestorationLoss, alexnet_cache_file, load_lpips


@pytest.fixture(scope="module")
def random_lpips() -> torch.nn.Module:
    torch.manual_seed(0)
    return load_lpips(pretrained_backbone=False)


def test_mse_target_is_weighted_mse_only() -> None:
    criterion = RestorationLoss("mse")
    prediction, target = torch.zeros(2, 3, 32, 32), torch.full((2, 3, 32, 32), 0.5)
    loss, parts = criterion.generator_loss(prediction, target)
    assert loss.item() == pytest.approx(2.0 * 0.25)
    assert set(parts) == {"mse", "loss"} and not criterion.uses_discriminator


def test_perceptual_target_combines_the_three_terms(random_lpips: torch.nn.Module) -> None:
    criterion = RestorationLoss("perceptual", random_lpips)
    discriminator = PatchDiscriminator(base_channels=8)
    prediction = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_()
    target = torch.rand(2, 3, 32, 32) * 2 - 1
    loss, parts = criterion.generator_loss(prediction, target, discriminator)
    assert parts["lpips"] > 0 and parts["gan"] > 0
    assert parts["loss"] == pytest.approx(2.0 * parts["mse"] + 5.0 * parts["lpips"] + 0.5 * parts["gan"], rel=1e-5)
    loss.backward()
    assert prediction.grad.abs().sum() > 0
    assert all(p.grad is None for p in discriminator.parameters())  # the generator step leaves D alone
    same, _ = RestorationLoss("perceptual", random_lpips, LossWeights(gan=0.0)).generator_loss(target, target)
    assert same.item() == pytest.approx(0.0, abs=1e-6)


def test_discriminator_loss_trains_the_discriminator_only() -> None:
    discriminator = PatchDiscriminator(base_channels=8)
    fake = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_()
    assert discriminator(fake).shape == (2, 1, 4, 4)
    loss = RestorationLoss("mse").discriminator_loss(discriminator, torch.rand(2, 3, 32, 32), fake)
    loss.backward()
    assert fake.grad is None
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in discriminator.parameters())


def test_missing_alexnet_weights_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # TORCH_HOME, not torch.hub.set_dir: set_dir pins the folder for the rest of the session (later tests
    # that set TORCH_HOME would see the pinned one)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="alexnet-owt-7be5be79.pth"):
        load_lpips(pretrained_backbone=True)
    assert alexnet_cache_file() == tmp_path / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"


def test_bad_configurations_fail_clearly() -> None:
    with pytest.raises(ValueError, match="perceptual, mse"):
        RestorationLoss("l1")
    with pytest.raises(ValueError, match="LPIPS"):
        RestorationLoss("perceptual")
