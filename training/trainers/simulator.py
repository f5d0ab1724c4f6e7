"""Stage 1: train the codec simulator f_theta(X, c) to reproduce the real codec's output of X at c.

What differs from the shared loop: the model (built from the SimulatorArchitecture the config records)
and the forward, ``prediction = f_theta(2 * clean - 1, [one-hot, bpp], prompt)``, ``target = 2 * codec_out - 1``.
Batches are dicts with "clean" and "codec_out" (B x 3 x S x S in [0, 1]), "codec_onehot" (B x 3),
"bpp" (B), "qp" (B) and "prompt" (list of B strings).

Variants, all chosen by the architecture: a QP-conditioned simulator (Table 3 (b)) gets [one-hot, QP]
and its rate head learns the batch's bpp; the hyperprior codec (Table 6) is a codec, so its target is the
clean picture and its estimated rate is pulled toward the condition's bpp. Both add ``rate_loss`` (times
`rate_loss_weight`) and log ``rate_error`` (mean |predicted - true| / true bpp) in losses.csv. The JPEG
proxy has nothing to train.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import torch
from accelerate.utils import set_seed
from torch import nn

from training.condition import CODEC_NAMES, condition_batch
from training.loop import Batch, TrainConfig, TrainResult, train
from training.models.build import (
    UNTRAINED_SIMULATORS,
    SimulatorArchitecture,
    build_simulator,
)
from training.models.hyperprior import rate_terms


@dataclass(frozen=True)
class SimulatorTrainConfig:
    """The loop's config plus which simulator to train (its architecture, as checkpoints record it)."""

    train: TrainConfig
    architecture: SimulatorArchitecture = field(default_factory=SimulatorArchitecture)
    init_from: str | None = None  # a checkpoint (ours or imported, e.g. S3Diff) whose weights training starts from
    rate_loss_weight: float = 1.0  # QP-conditioned rate head and hyperprior rate term


def simulator_forward(
    model: nn.Module, batch: Batch, codecs: tuple[str, ...] = CODEC_NAMES
) -> tuple[torch.Tensor, torch.Tensor]:
    """(simulated codec output, real codec output), both in [-1, 1]; the one-hot must span ``codecs``."""
    condition = condition_batch(batch["codec_onehot"].float(), batch["bpp"].float(), codecs)
    prediction = model(batch["clean"] * 2 - 1, condition, list(batch["prompt"]))
    return prediction, batch["codec_out"] * 2 - 1


def qp_simulator_forward(weight: float, codecs: tuple[str, ...] = CODEC_NAMES) -> Callable:
    """Table 3 (b): condition [one-hot, QP] (the wrapper writes its own prompt), plus the rate head's terms."""

    def forward(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, dict]:
        condition = condition_batch(batch["codec_onehot"].float(), batch["qp"].float(), codecs)
        prediction, predicted_bpp = model(batch["clean"] * 2 - 1, condition, None, return_rate=True)
        return prediction, batch["codec_out"] * 2 - 1, rate_terms(predicted_bpp, batch["bpp"], weight)

    return forward


def hyperprior_forward(weight: float, codecs: tuple[str, ...] = CODEC_NAMES) -> Callable:
    """Table 6: the learned codec reconstructs the clean picture at (about) the condition's bpp."""

    def forward(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, dict]:
        condition = condition_batch(batch["codec_onehot"].float(), batch["bpp"].float(), codecs)
        clean = batch["clean"] * 2 - 1
        prediction, estimated_bpp = model(clean, condition, None, return_rate=True)
        return prediction, clean, rate_terms(estimated_bpp, batch["bpp"], weight)

    return forward


def forward_for(config: SimulatorTrainConfig) -> Callable:
    codecs = tuple(config.architecture.codecs)
    if config.architecture.backbone == "hyperprior":
        return hyperprior_forward(config.rate_loss_weight, codecs)
    if config.architecture.condition_input == "qp":
        return qp_simulator_forward(config.rate_loss_weight, codecs)
    return functools.partial(simulator_forward, codecs=codecs)


def train_simulator(
    config: SimulatorTrainConfig,
    batches: Iterable[Batch],
    held_out: Sequence[Batch] = (),
    model: nn.Module | None = None,
) -> TrainResult:
    """Train (and checkpoint) the simulator; pass `model` to train one built elsewhere (e.g. a tiny one)."""
    if config.architecture.backbone in UNTRAINED_SIMULATORS:
        raise ValueError(
            f"the {config.architecture.backbone} simulator has no weights to train: "
            f"give it directly where a simulator is used (--simulator {config.architecture.backbone})"
        )
    recorded = (
        config
        if model is None
        else replace(config, architecture=replace(config.architecture, backbone=f"passed in: {type(model).__name__}"))
    )
    set_seed(config.train.seed)  # initial weights depend on the seed alone, not on what ran before
    model = model if model is not None else build_simulator(config.architecture)
    if config.init_from:
        from training.models.s3diff.build_s3diff import load_init_weights

        load_init_weights(model, config.init_from)
    return train(config.train, model, forward_for(config), batches, held_out, run_config=recorded)
