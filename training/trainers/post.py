"""Post-processing h_phi(X_hat, c) after the codec (paper section 3.4, Table 2), trained through the simulator.

    X_tilde --g(., c)--> X' --f_theta(., c), frozen--> X_hat' --h_phi(., c)--> Y        loss Delta_S(Y, target)

Modes:
  post          h alone; g frozen: a plain SR (official Real-ESRGAN weights via generator.pretrained, or an
                SR fine-tuned without the simulator via generator.init_weights)
  sr-then-post  h alone; g frozen: a recompression-aware SR checkpoint from train_sr (generator.init_weights)
  joint         g and h trained together through the frozen simulator
The target is the SR trainer's `supervision` (default X_s = f_theta(X, c')); `straight_through` puts the
real codec's output in the forward pass, which is also what h sees at test time (``PostFunction``: h on
the real codec's decoded picture). What differs from train_sr is only the module: ``PostProcessedSR``
is RecompressionAwareSR with h after the codec.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from accelerate.utils import set_seed
from torch import nn

from training.loop import Batch, TrainConfig, TrainResult, train
from training.models.build import GeneratorSpec, PostSpec, SimulatorSpec, build_generator, build_post, load_simulator
from training.models.open_backbones import resolved_generator_spec
from training.trainers.sr import RecompressionAwareSR, codec_condition, recorded, supervision_target, system_forward

MODES = ("post", "sr-then-post", "joint")


@dataclass(frozen=True)
class PostTrainConfig:
    """The loop's config plus the mode and the three networks; recorded in every checkpoint's config.json."""

    train: TrainConfig
    simulator: SimulatorSpec | None = None  # required unless a simulator module is passed
    mode: str = "post"
    generator: GeneratorSpec = field(default_factory=GeneratorSpec)
    post: PostSpec = field(default_factory=PostSpec)
    supervision: str = "simulator"
    straight_through: bool = False
    codecs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown post-processing mode {self.mode!r}; choose one of {', '.join(MODES)}")


class PostProcessedSR(RecompressionAwareSR):
    """g, f_theta (frozen) and h as one module; forward(batch) -> (h(X_hat', c), target), in [-1, 1].

    With `train_generator` False, g is frozen too (no requires_grad, eval mode, run without gradient).
    """

    def __init__(
        self,
        generator: nn.Module,
        simulator: nn.Module,
        post: nn.Module,
        train_generator: bool,
        supervision: str = "simulator",
        straight_through: bool = False,
        codecs: Sequence[str] = (),
    ):
        self.train_generator = train_generator  # before nn.Module.__init__ runs train(); a plain attribute
        super().__init__(generator, simulator, supervision, straight_through, False, codecs)
        self.post = post
        if not train_generator:
            generator.requires_grad_(False)
        self.train()

    def train(self, mode: bool = True) -> PostProcessedSR:
        super().train(mode)
        if not self.train_generator:
            self.generator.eval()
        return self

    def forward(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        self.check_codecs(batch)
        condition = codec_condition(batch)
        with torch.set_grad_enabled(self.train_generator and torch.is_grad_enabled()):
            sr = self.super_resolve(batch, condition)
        compressed = self.compress(sr, batch, condition)
        restored = self.post(compressed, condition, list(batch["prompt"]))
        return restored, supervision_target(batch, self.supervision, self.simulator)


def _check_recompression_aware(spec: GeneratorSpec) -> None:
    """sr-then-post starts from a train_sr checkpoint that went through a simulator."""
    if not spec.init_weights:
        raise ValueError("mode sr-then-post needs generator.init_weights: a recompression-aware SR checkpoint")
    folder = Path(spec.init_weights).expanduser()
    if (folder / "config.json").is_file() and json.loads((folder / "config.json").read_text()).get("simulator") is None:
        raise ValueError(
            f"{folder} was trained without a simulator (not recompression-aware); use mode 'post' for a plain SR"
        )


def build_post_system(
    config: PostTrainConfig,
    generator: nn.Module | None = None,
    simulator: nn.Module | None = None,
    post: nn.Module | None = None,
) -> PostProcessedSR:
    """The module train_post optimises; pass modules built elsewhere to use them (tests)."""
    if config.mode == "sr-then-post" and generator is None:
        _check_recompression_aware(config.generator)
    generator = generator if generator is not None else build_generator(config.generator)
    if simulator is None:
        if config.simulator is None:
            raise ValueError("post-processing is trained through a simulator: give config.simulator")
        simulator = load_simulator(config.simulator)
    post = post if post is not None else build_post(config.post)
    return PostProcessedSR(
        generator,
        simulator,
        post,
        train_generator=config.mode == "joint",
        supervision=config.supervision,
        straight_through=config.straight_through,
        codecs=config.codecs,
    )


def train_post(
    config: PostTrainConfig,
    batches: Iterable[Batch],
    held_out: Sequence[Batch] = (),
    generator: nn.Module | None = None,
    simulator: nn.Module | None = None,
    post: nn.Module | None = None,
) -> TrainResult:
    """Train (and checkpoint) h_phi, and g_phi in joint mode, as `config` says."""
    config = replace(config, generator=resolved_generator_spec(config.generator))  # what a named network records
    set_seed(config.train.seed)  # initial weights depend on the seed alone, not on what ran before
    system = build_post_system(config, generator, simulator, post)
    return train(config.train, system, system_forward, batches, held_out, run_config=recorded(config, simulator))
