"""The differentiable JPEG proxy (Table 6): JPEG's pictures, rate matched to the condition, gradients through."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.training.sr_batches import sr_batches, tiny_generator
from training.inference import load_simulator_checkpoint, simulator_spec_of
from training.loop import TrainConfig
from training.models.build import load_simulator
from training.models.jpeg_proxy import JpegProxy
from training.trainers.sr import SRTrainConfig, build_sr_system


def _photo(photo_dir: Path, size: int = 128) -> np.ndarray:
    picture = np.asarray(Image.open(min(photo_dir.glob("*.png"))).convert("RGB"))
    return np.ascontiguousarray(picture[100 : 100 + size, 200 : 200 + size])


def _signed(picture: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(picture).permute(2, 0, 1)[None].float() / 127.5 - 1


def _pil_jpeg(picture: np.ndarray, quality: int) -> tuple[np.ndarray, float]:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "JPEG", quality=quality, subsampling=2)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")).astype(np.float64)
    return decoded, buffer.tell() * 8 / (picture.shape[0] * picture.shape[1])


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b) ** 2)))


@pytest.mark.parametrize("target_bpp", [0.6, 1.5])
def test_rate_matched_output_is_pillow_jpeg_at_the_searched_quality(photo_dir: Path, target_bpp: float) -> None:
    picture = _photo(photo_dir)
    proxy = JpegProxy()
    output, estimated = proxy(_signed(picture), torch.tensor([[1.0, 0, 0, target_bpp]]), return_rate=True)
    quality = int(proxy.last_quality.item())
    assert 1 < quality < 100 and estimated.item() <= target_bpp  # the largest quality that fits
    proxy(_signed(picture), torch.tensor([[1.0, 0, 0, estimated.item() * 0.8]]))
    assert proxy.last_quality.item() < quality  # a lower rate, a lower quality
    decoded, real_bpp = _pil_jpeg(picture, quality)
    produced = ((output.clamp(-1, 1) + 1) * 127.5).round()[0].permute(1, 2, 0).numpy()
    assert _psnr(produced, decoded) > 36  # the same picture as libjpeg's, up to its integer DCT and upsampling
    assert _psnr(produced, picture) < 45  # and JPEG did change it
    assert 0.75 < estimated.item() / real_bpp < 1.3  # the rate estimate tracks the real file size


@pytest.mark.parametrize("rounding", ["straight-through", "cubic"])
def test_gradients_reach_the_input(photo_dir: Path, rounding: str) -> None:
    image = _signed(_photo(photo_dir, 64)).requires_grad_()
    JpegProxy(rounding)(image, torch.tensor([[0, 1.0, 0, 0.5]])).square().sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_named_as_a_simulator_everywhere_without_weights(photo_dir: Path) -> None:
    spec = simulator_spec_of("jpeg-proxy")
    assert spec.architecture.backbone == "jpeg-proxy"
    simulator = load_simulator(spec)
    assert isinstance(simulator, JpegProxy) and not simulator.training
    picture = _photo(photo_dir, 72)  # not a multiple of 16: padded and cropped back
    assert load_simulator_checkpoint("jpeg-proxy")(picture, "x264", 0.8).shape == picture.shape
    with pytest.raises(ValueError, match="multiple of 16"):
        simulator(_signed(picture), torch.tensor([[1.0, 0, 0, 0.5]]))


def test_stage_two_trains_through_the_proxy(photo_dir: Path, tmp_path: Path) -> None:
    batch = dict(sr_batches(photo_dir, crops=2, batch_size=2)[0])
    config = SRTrainConfig(TrainConfig(str(tmp_path), max_steps=1), simulator=simulator_spec_of("jpeg-proxy"))
    system = build_sr_system(config, generator=tiny_generator())
    prediction, target = system(batch)
    torch.nn.functional.mse_loss(prediction, target).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in system.generator.parameters())
