"""Codec-aware RRDBNet: plain at initialisation, conditioned after training, official weights load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training.condition import condition_vector
from training.models.rrdbnet import RRDBNet, load_realesrgan_weights

OFFICIAL_X4PLUS_PARAMETERS = 16_697_987  # RealESRGAN_x4plus.pth's params_ema


def _tiny(scale: int = 4, codec_aware: bool = True) -> RRDBNet:
    return RRDBNet(scale=scale, num_feat=8, num_block=2, num_grow_ch=4, codec_aware=codec_aware, dims_per_scalar=8)


def _conditions() -> list[torch.Tensor]:
    return [
        torch.stack([condition_vector("x264", 0.1), condition_vector("vvenc", 0.9)]),
        torch.stack([condition_vector("x265", 2.0), condition_vector("x264", 0.02)]),
    ]


@pytest.mark.parametrize("scale, size", [(4, 8), (1, 32)])
def test_codec_aware_model_equals_the_plain_one_at_initialisation(scale: int, size: int) -> None:
    plain, aware = _tiny(scale, codec_aware=False), _tiny(scale)
    missing, unexpected = aware.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(".codec_heads." in name for name in missing)
    image = torch.rand(2, 3, size, size)
    want = plain(image)
    assert want.shape == (2, 3, 32, 32)
    for condition in _conditions():
        assert torch.equal(aware(image, condition), want)


def test_codec_heads_learn_and_then_the_condition_matters() -> None:
    model = _tiny()
    image, (first, second) = torch.rand(2, 3, 8, 8), _conditions()
    model(image, first).square().mean().backward()
    last_layers = [head[-1].weight for block in model.body for head in block.codec_heads]
    assert len(last_layers) == 4 and all(w.grad.abs().sum() > 0 for w in last_layers)  # zero-init, not dead
    with torch.no_grad():
        for weight in last_layers:
            weight.add_(0.1 * torch.randn_like(weight))
    assert not torch.allclose(model(image, first), model(image, second))


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="codec-aware"):
        _tiny()(torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match="multiple of 4"):
        _tiny(scale=1, codec_aware=False)(torch.rand(1, 3, 30, 30))
    with pytest.raises(ValueError, match="scale"):
        RRDBNet(scale=3)
    plain, image = _tiny(codec_aware=False), torch.rand(1, 3, 4, 4)
    assert torch.equal(plain(image, _conditions()[0][:1]), plain(image))  # a plain model ignores c


def test_default_size_is_real_esrgan_x4plus() -> None:
    plain, aware = RRDBNet(codec_aware=False), RRDBNet()
    count = sum(p.numel() for p in plain.parameters())
    assert count == OFFICIAL_X4PLUS_PARAMETERS
    heads = sum(p.numel() for name, p in aware.named_parameters() if ".codec_heads." in name)
    assert heads == 23 * 2 * (64 * 64 + 64 + 64 * 64 + 64)  # 16 dims x 4 scalars -> 64 -> 64 channels
    assert sum(p.numel() for p in aware.parameters()) == count + heads


def test_official_weights_load_from_params_ema(tmp_path: Path) -> None:
    torch.manual_seed(5)
    official = _tiny(codec_aware=False)
    decoy = {name: torch.zeros_like(value) for name, value in official.state_dict().items()}
    path = tmp_path / "RealESRGAN_x4plus.pth"
    torch.save({"params_ema": official.state_dict(), "params": decoy}, path)
    torch.manual_seed(6)
    model = _tiny()
    load_realesrgan_weights(model, path)
    image = torch.rand(1, 3, 8, 8)
    assert torch.equal(model(image, _conditions()[0][:1]), official(image))

    with pytest.raises(FileNotFoundError, match="absent.pth"):
        load_realesrgan_weights(model, tmp_path / "absent.pth")
    with pytest.raises(ValueError, match="RealESRGAN_x4plus.pth"):
        load_realesrgan_weights(_tiny(scale=1), path)  # conv_first takes 48 channels at scale 1
    torch.save({"params_ema": {"conv_first.weight": torch.zeros(1)}}, tmp_path / "other.pth")
    with pytest.raises(KeyError, match="other.pth"):
        load_realesrgan_weights(model, tmp_path / "other.pth")
