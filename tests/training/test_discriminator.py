"""UNetDiscriminatorSN: per-pixel logits, spectral norm, skip connections; the loop builds it by name."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils import parametrize

from training.losses import PatchDiscriminator
from training.models.build import build_discriminator
from training.models.discriminator import UNetDiscriminatorSN


def test_per_pixel_logits_with_spectral_norm() -> None:
    torch.manual_seed(0)
    discriminator = UNetDiscriminatorSN(num_feat=8)
    logits = discriminator(torch.rand(2, 3, 32, 48))
    assert logits.shape == (2, 1, 32, 48)
    normed = {
        f"conv{i}" for i in range(10) if parametrize.is_parametrized(getattr(discriminator, f"conv{i}"), "weight")
    }
    assert normed == {f"conv{i}" for i in range(1, 9)}  # first and last conv are plain, as in Real-ESRGAN
    logits.mean().backward()
    assert all(p.grad is not None for p in discriminator.parameters())
    with pytest.raises(ValueError, match="multiple of 8"):
        discriminator(torch.rand(1, 3, 36, 36))


def test_skip_connections_change_the_output() -> None:
    torch.manual_seed(0)
    with_skips = UNetDiscriminatorSN(num_feat=8)
    without = UNetDiscriminatorSN(num_feat=8, skip_connection=False)
    without.load_state_dict(with_skips.state_dict())
    image = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert not torch.allclose(with_skips.eval()(image), without.eval()(image))


def test_build_by_name() -> None:
    assert isinstance(build_discriminator("unet", 8), UNetDiscriminatorSN)
    assert isinstance(build_discriminator("patch", 8), PatchDiscriminator)
    with pytest.raises(ValueError, match="patch, unet"):
        build_discriminator("stylegan")
