"""Gradient checkpointing of the SD-Turbo parts changes memory, not gradients (FiLM included)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from tests.training.sr_batches import sr_batches, tiny_generator
from training.loop import TrainConfig, enable_gradient_checkpointing, train
from training.models.simulator import CodecSimulator
from training.models.small_simulator import SmallSimulator
from training.trainers.sr import RecompressionAwareSR, system_forward


def _gradients(system: nn.Module, batch: dict) -> dict[str, torch.Tensor]:
    system.zero_grad(set_to_none=True)
    prediction, target = system_forward(system, batch)
    (prediction - target).square().mean().backward()
    return {name: p.grad.clone() for name, p in system.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("joint_simulator", [False, True])
def test_checkpointing_keeps_every_gradient(tiny_parts: dict, photo_dir, joint_simulator: bool) -> None:
    simulator = CodecSimulator.from_configs(**tiny_parts)
    for parameter in simulator.film.parameters():  # FiLM away from its zero init: the condition matters
        nn.init.normal_(parameter, std=0.2)
    plain = RecompressionAwareSR(tiny_generator(), simulator, joint_simulator=joint_simulator)
    checkpointed = copy.deepcopy(plain)
    assert enable_gradient_checkpointing(checkpointed) == 2  # the UNet and the VAE (outermost parts only)
    assert (
        checkpointed.simulator.unet.is_gradient_checkpointing and checkpointed.simulator.vae.is_gradient_checkpointing
    )
    assert not plain.simulator.unet.is_gradient_checkpointing
    batch = sr_batches(photo_dir, crops=2, batch_size=2)[0]
    want, got = _gradients(plain, batch), _gradients(checkpointed, batch)
    assert any(name.startswith("generator.") for name in want)
    assert any(name.startswith("simulator.film.") for name in want) == joint_simulator
    assert want.keys() == got.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-4, atol=1e-6, msg=name)


def test_checkpointing_a_model_without_diffusers_parts_is_an_error(tmp_path) -> None:
    config = TrainConfig(output_dir=str(tmp_path), max_steps=1, target="mse", gradient_checkpointing=True)
    with pytest.raises(ValueError, match="gradient_checkpointing"):
        train(config, SmallSimulator((8, 16), 1), lambda model, batch: (batch, batch), [])
