"""Stage 1 on real codec outputs of photo crops: small and (tiny) SD-Turbo-style backbones."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from training.condition import condition_vector
from training.inference import load_simulator_checkpoint, simulator_spec_of
from training.loop import TrainConfig
from training.models.build import SimulatorArchitecture, build_simulator
from training.models.simulator import CodecSimulator
from training.models.small_simulator import SmallSimulator
from training.trainers.simulator import SimulatorTrainConfig, simulator_forward, train_simulator


def _config(output_dir: Path, **overrides) -> TrainConfig:
    return TrainConfig(
        **{
            "output_dir": str(output_dir),
            "max_steps": 2,
            "learning_rate": 1e-3,
            "lpips_pretrained_backbone": False,
            "discriminator_channels": 8,
            "progress_bar": False,
            **overrides,
        }
    )


def test_forward_maps_the_batch_to_prediction_and_target(codec_batches: list[dict]) -> None:
    batch = codec_batches[0]
    model = SmallSimulator(channels=(8, 16), blocks_per_level=1, dims_per_scalar=8, groups=4)
    prediction, target = simulator_forward(model, batch)
    assert torch.equal(prediction, batch["clean"] * 2 - 1)  # the small simulator starts as the identity
    assert torch.equal(target, batch["codec_out"] * 2 - 1)
    assert (target - prediction).abs().max() > 0  # the codec did change the picture


def test_small_simulator_trains_with_the_perceptual_loss(
    codec_batches: list[dict], held_out_batches: list[dict], tmp_path: Path
) -> None:
    config = SimulatorTrainConfig(
        _config(tmp_path, max_steps=3, checkpoint_every=3, eval_every=3),
        SimulatorArchitecture(small_channels=(8, 16), small_blocks_per_level=1),
    )
    result = train_simulator(config, codec_batches, held_out_batches)
    assert {"mse", "lpips", "gan", "discriminator", "loss"} <= set(result.last_losses)
    assert all(math.isfinite(v) for v in result.last_losses.values())
    assert result.held_out[-1]["lpips"] >= 0 and result.held_out[-1]["psnr"] > 10
    assert {p.name for p in result.checkpoint.iterdir()} == {
        "model.safetensors",
        "discriminator.safetensors",
        "training_state.pt",
        "config.json",
    }
    spec = simulator_spec_of(result.checkpoint)  # the architecture comes back from config.json
    assert spec.architecture == SimulatorArchitecture(small_channels=(8, 16), small_blocks_per_level=1)
    assert simulator_spec_of(result.checkpoint, small_channels=[4, 8]).architecture.small_channels == (
        4,
        8,
    )  # flags win
    simulated = load_simulator_checkpoint(str(result.checkpoint))
    trained = SmallSimulator((8, 16), 1)
    trained.load_state_dict(load_file(str(result.checkpoint / "model.safetensors")))
    picture = (codec_batches[0]["clean"][0].permute(1, 2, 0) * 255).round().byte().numpy()
    with torch.no_grad():
        expected = trained.eval()(
            torch.from_numpy(picture).permute(2, 0, 1)[None].float() / 127.5 - 1, condition_vector("x265", 0.3)[None]
        )
    expected = ((expected[0].permute(1, 2, 0).clamp(-1, 1) + 1) * 127.5).round().byte().numpy()
    assert np.array_equal(simulated(picture, "x265", 0.3), expected)


def test_sd_turbo_style_simulator_saves_and_trains_only_its_additions(
    tiny_parts: dict, codec_batches: list[dict], tmp_path: Path
) -> None:
    model = CodecSimulator.from_configs(**tiny_parts)
    frozen_before = model.vae.decoder.conv_out.weight.detach().clone()
    conv_in_before = model.unet.conv_in.weight.detach().clone()
    config = SimulatorTrainConfig(
        _config(tmp_path, target="mse", checkpoint_every=2), SimulatorArchitecture(backbone="s3diff")
    )
    result = train_simulator(config, codec_batches, model=model)
    saved = load_file(str(result.checkpoint / "model.safetensors"))
    assert set(saved) == set(model.trainable_state_dict())
    assert not any(name.startswith(("text_encoder.", "vae.decoder.")) for name in saved)
    assert torch.equal(model.vae.decoder.conv_out.weight, frozen_before)
    assert not torch.equal(model.unet.conv_in.weight, conv_in_before)
    assert (
        json.loads((result.checkpoint / "config.json").read_text())["architecture"]["backbone"]
        == "passed in: CodecSimulator"
    )


def test_build_simulator_never_falls_back_to_random_weights(tmp_path: Path) -> None:
    assert isinstance(build_simulator(SimulatorArchitecture()), SmallSimulator)
    with pytest.raises(ValueError, match="sd-turbo"):
        build_simulator(SimulatorArchitecture(backbone="s3diff"))
    with pytest.raises(FileNotFoundError, match="download stabilityai/sd-turbo"):
        build_simulator(SimulatorArchitecture(backbone="s3diff", pretrained=str(tmp_path / "no")))
    with pytest.raises(ValueError, match="small, s3diff"):
        build_simulator(SimulatorArchitecture(backbone="big"))
