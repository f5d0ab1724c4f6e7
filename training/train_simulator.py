"""Stage 1: train the codec simulator f_theta(X, c) to reproduce the real codec's output of X at c.

What differs from the shared loop: the model (built from the SimulatorArchitecture the config records)
and the forward, ``prediction = f_theta(2 * clean - 1, [one-hot, bpp], prompt)``, ``target = 2 * codec_out - 1``.
Batches are dicts with "clean" and "codec_out" (B x 3 x S x S in [0, 1]), "codec_onehot" (B x 3),
"bpp" (B) and "prompt" (list of B strings).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from accelerate.utils import set_seed
import torch
from torch import nn

from training.condition import condition_batch
from training.loop import Batch, TrainConfig, TrainResult, train
from training.models.build import SimulatorArchitecture, build_simulator


@dataclass(frozen=True)
class SimulatorTrainConfig:
    """The loop's config plus which simulator to train (its architecture, as checkpoints record it)."""

    train: TrainConfig
    architecture: SimulatorArchitecture = field(default_factory=SimulatorArchitecture)
    init_from: str | None = None  # a checkpoint (ours or imported, e.g. S3Diff) whose weights training starts from


def simulator_forward(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(simulated codec output, real codec output), both in [-1, 1]."""
    condition = condition_batch(batch["codec_onehot"].float(), batch["bpp"].float())
    prediction = model(batch["clean"] * 2 - 1, condition, list(batch["prompt"]))
    return prediction, batch["codec_out"] * 2 - 1


def train_simulator(config: SimulatorTrainConfig, batches: Iterable[Batch], held_out: Sequence[Batch] = (),
                    model: nn.Module | None = None) -> TrainResult:
    """Train (and checkpoint) the simulator; pass `model` to train one built elsewhere (e.g. a tiny one)."""
    recorded = config if model is None else replace(
        config, architecture=replace(config.architecture, backbone=f"passed in: {type(model).__name__}"))
    set_seed(config.train.seed)  # initial weights depend on the seed alone, not on what ran before
    model = model if model is not None else build_simulator(config.architecture)
    if config.init_from:
        from training.models.s3diff.build_s3diff import load_init_weights

        load_init_weights(model, config.init_from)
    return train(config.train, model, simulator_forward, batches, held_out, run_config=recorded)
