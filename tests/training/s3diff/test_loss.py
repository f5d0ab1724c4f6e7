"""S3Diff's loss preset: LPIPS(vgg) and the vision-aided DINO discriminator (multi-level logits, hinge by default)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from training.gan_losses import adversarial_loss
from training.loop import TrainConfig
from training.losses import LossWeights, RestorationLoss, load_lpips, lpips_backbone_file
from training.models.augment import diff_augment
from training.models.build import build_discriminator
from training.models.small_simulator import SmallSimulator
from training.models.vision_aided import DinoViT, VisionAidedDiscriminator
from training.trainers.simulator import SimulatorTrainConfig, train_simulator


def _tiny_discriminator() -> VisionAidedDiscriminator:
    return VisionAidedDiscriminator(DinoViT(dim=48, depth=8, heads=4, patch=16, size=224))


def test_discriminator_shapes_hinge_loss_and_frozen_backbone() -> None:
    discriminator = _tiny_discriminator()
    logits = discriminator(torch.rand(2, 3, 40, 40) * 2 - 1)
    assert [tuple(level.shape) for level in logits] == [(2, 3, 3), (2, 3, 3), (2, 1)]  # 14x14 maps -> 3x3
    loss = RestorationLoss("perceptual", lpips_model=load_lpips(False, "vgg"), weights=LossWeights())
    prediction = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_(True)
    total, parts = loss.generator_loss(prediction, torch.rand(2, 3, 32, 32) * 2 - 1, discriminator)
    total.backward()
    assert prediction.grad.abs().sum() > 0 and "gan" in parts
    assert all(p.grad is None for p in discriminator.parameters())  # the generator's step leaves D alone
    assert not any(p.requires_grad for p in discriminator.backbone.parameters())  # even after requires_grad_(True)
    d_loss = loss.discriminator_loss(discriminator, torch.rand(2, 3, 32, 32) * 2 - 1, prediction)
    d_loss.backward()
    assert discriminator.token[0].parametrizations.weight.original.grad.abs().sum() > 0
    assert all(p.grad is None for p in discriminator.backbone.parameters())
    real, fake = [torch.full((2, 3), 2.0)], [torch.full((2, 3), -2.0)]
    hinge = adversarial_loss(real, "hinge", "real") + adversarial_loss(fake, "hinge", "fake")
    assert hinge.item() == 0  # both beyond the hinge margin
    assert adversarial_loss([torch.full((2, 3), 0.5), torch.ones(2, 1)], "hinge", "generator").item() == -1.5
    assert TrainConfig("o", 1, discriminator="vision-aided-dino").gan_loss == "hinge"  # its default, as before
    assert set(discriminator.trainable_state_dict()) and not any(
        name.startswith("backbone.") for name in discriminator.trainable_state_dict()
    )


def test_diff_augment_keeps_shape_and_gradients() -> None:
    image = torch.rand(3, 3, 16, 24, requires_grad=True)
    augmented = diff_augment(image)
    assert augmented.shape == image.shape and not torch.equal(augmented, image)
    augmented.sum().backward()
    assert image.grad is not None
    assert (augmented == 0).float().mean() > 0.1  # the cutout square


def test_missing_weights_are_named_never_downloaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(FileNotFoundError, match="dino_vitbase16_pretrain.pth"):
        build_discriminator("vision-aided-dino")
    with pytest.raises(FileNotFoundError, match="vgg16-397923af.pth"):
        load_lpips(True, "vgg")
    assert lpips_backbone_file("vgg") == tmp_path / "checkpoints" / "vgg16-397923af.pth"
    weights = DinoViT().state_dict()  # a DINO-layout file (random) loads into the real-size backbone
    torch.save(weights, tmp_path / "dino.pth")
    discriminator = VisionAidedDiscriminator(weights=tmp_path / "dino.pth")
    assert torch.equal(discriminator.backbone.pos_embed, weights["pos_embed"])


def test_the_loop_trains_with_s3diff_loss_and_saves_only_the_heads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec_batches: list[dict]
) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(DinoViT().state_dict(), tmp_path / "hub" / "checkpoints" / "dino_vitbase16_pretrain.pth")
    config = TrainConfig(
        output_dir=str(tmp_path / "run"),
        max_steps=1,
        lpips_net="vgg",
        lpips_pretrained_backbone=False,
        discriminator="vision-aided-dino",
        progress_bar=False,
    )
    model = SmallSimulator(channels=(8, 16), blocks_per_level=1, dims_per_scalar=8, groups=4)
    result = train_simulator(SimulatorTrainConfig(config), codec_batches[:1], model=model)
    assert {"gan", "discriminator", "lpips"} <= set(result.last_losses)
    saved = load_file(str(result.checkpoint / "discriminator.safetensors"))
    assert saved and not any(name.startswith("backbone.") for name in saved)  # DINO stays a pretrained file
