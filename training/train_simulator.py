"""Stage 1: train the codec simulator f_theta(X, c) to reproduce the real codec's output of X at c.

What differs from the shared loop: the model (small UNet or SD-Turbo backbone) and the forward,
``prediction = f_theta(2 * clean - 1, [one-hot, bpp], prompt)``, ``target = 2 * codec_out - 1``.
Batches are dicts with "clean" and "codec_out" (B x 3 x S x S in [0, 1]), "codec_onehot" (B x 3),
"bpp" (B) and "prompt" (list of B strings).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from dataclasses import dataclass, replace

import torch
from torch import nn

from training.condition import condition_batch
from training.loop import Batch, TrainConfig, TrainResult, train
from training.models.simulator import CodecSimulator
from training.models.small_simulator import SmallSimulator

if TYPE_CHECKING:
    from training.sr_models import SimulatorSpec

BACKBONES = ("small", "s3diff")


@dataclass(frozen=True)
class SimulatorTrainConfig:
    """The loop's config plus which simulator to train."""

    train: TrainConfig
    backbone: str = "small"  # "small" (no pre-training) or "s3diff" (SD-Turbo + LoRA)
    pretrained: str | None = None  # SD-Turbo folder or cached repo id, for "s3diff"
    small_channels: tuple[int, ...] = (32, 64, 128)
    small_blocks_per_level: int = 2


def build_simulator(config: SimulatorTrainConfig | SimulatorSpec) -> nn.Module:
    """The simulator `config` names (its backbone, pretrained, small_channels, small_blocks_per_level: a
    SimulatorTrainConfig or stage 2's SimulatorSpec); "s3diff" needs `pretrained` (never random weights)."""
    if config.backbone == "small":
        return SmallSimulator(tuple(config.small_channels), config.small_blocks_per_level)
    if config.backbone == "s3diff":
        if config.pretrained is None:
            raise ValueError("the s3diff simulator needs `pretrained`: a folder holding stabilityai/sd-turbo")
        return CodecSimulator.from_pretrained(config.pretrained)
    raise ValueError(f"unknown simulator backbone {config.backbone!r}; choose one of {', '.join(BACKBONES)}")


def simulator_forward(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(simulated codec output, real codec output), both in [-1, 1]."""
    condition = condition_batch(batch["codec_onehot"].float(), batch["bpp"].float())
    prediction = model(batch["clean"] * 2 - 1, condition, list(batch["prompt"]))
    return prediction, batch["codec_out"] * 2 - 1


def train_simulator(config: SimulatorTrainConfig, batches: Iterable[Batch], held_out: Sequence[Batch] = (),
                    model: nn.Module | None = None) -> TrainResult:
    """Train (and checkpoint) the simulator; pass `model` to train one built elsewhere (e.g. a tiny one)."""
    recorded = config if model is None else replace(config, backbone=f"passed in: {type(model).__name__}")
    model = model if model is not None else build_simulator(config)
    return train(config.train, model, simulator_forward, batches, held_out, run_config=recorded)
