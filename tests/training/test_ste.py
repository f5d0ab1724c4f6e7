"""The straight-through ablation: the real codec's output forward, the simulator's gradient backward."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from codec_bindings import match_rate
from tests.training.sr_batches import sr_batches, tiny_generator, tiny_simulator
from training.condition import condition_batch
from training.straight_through import real_codec_output, straight_through
from training.trainers.sr import RecompressionAwareSR


def _batch(photo_dir: Path) -> dict:
    return sr_batches(photo_dir, crops=2, batch_size=2)[0]  # one x264 and one x265 crop


def test_real_codec_output_is_rate_matched_to_the_condition(photo_dir: Path) -> None:
    batch = _batch(photo_dir)
    images = batch["clean"] * 0.9 + 0.05  # some picture other than the clean one
    real = real_codec_output(images, batch["codec_onehot"], batch["bpp"])
    for index, codec in enumerate(("x264", "x265")):
        picture = (images[index] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        want = match_rate(np.ascontiguousarray(picture), codec, round(batch["bpp"][index].item() * 32 * 32)).encoded
        assert torch.equal(real[index], torch.from_numpy(want.recon).permute(2, 0, 1).float() / 255)


def test_forward_is_the_real_codec_and_backward_is_the_simulator(photo_dir: Path) -> None:
    batch = _batch(photo_dir)
    simulator = tiny_simulator()
    condition = condition_batch(batch["codec_onehot"], batch["bpp"])
    image = (batch["clean"] * 2 - 1).requires_grad_(True)
    real = real_codec_output(batch["clean"], batch["codec_onehot"], batch["bpp"]) * 2 - 1
    simulated = simulator(image, condition)
    combined = straight_through(simulated, real)
    assert torch.equal(combined, real)  # bit for bit (x + y - y in floats would not be)
    assert not torch.equal(simulated, real)
    upstream = torch.randn_like(combined)
    (got,) = torch.autograd.grad(combined, image, upstream)
    (want,) = torch.autograd.grad(simulator(image, condition), image, upstream)
    assert torch.equal(got, want)


def test_sr_system_with_straight_through(photo_dir: Path) -> None:
    batch = _batch(photo_dir)
    generator, simulator = tiny_generator(), tiny_simulator()
    system = RecompressionAwareSR(generator, simulator, straight_through=True)
    prediction, target = system(batch)
    with torch.no_grad():
        sr = generator(batch["lq"], condition_batch(batch["codec_onehot"], batch["bpp"]))
    assert torch.equal(prediction, real_codec_output(sr, batch["codec_onehot"], batch["bpp"]) * 2 - 1)
    (prediction - target).square().mean().backward()
    assert all(p.grad is not None for p in generator.parameters())
    assert all(p.grad is None for p in simulator.parameters())
