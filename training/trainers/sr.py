"""Stage 2: recompression-aware SR, trained through the frozen codec simulator.

    X_tilde --g_phi(., c)--> X' --f_theta(., c), frozen--> X_hat'        loss Delta_S(X_hat', X_s)
    X_s = f_theta(X, c'),  c = [one-hot, bpp at QP q],  c' = [one-hot, bpp at QP q - 10]

Delta_S is the shared loop's loss (2 MSE + 5 LPIPS + 0.5 GAN; Real-ESRGAN's UNetDiscriminatorSN by
choice of TrainConfig.discriminator). What differs from the simulator trainer is only the model the loop
optimises: ``RecompressionAwareSR`` holds g_phi and f_theta, and its forward maps a batch to
(prediction, target); only parameters with requires_grad (g_phi's) are optimised and checkpointed.

Ablation switches (paper Table 5), all in SRTrainConfig:
  straight_through   X_hat = real codec(X') in the forward pass (rate-matched to the condition's bpp),
                     f_theta's Jacobian in the backward pass (a custom autograd function, so the forward
                     equals the real codec's output bit for bit, which X_real + X' - sg(X') in floats does not)
  supervision        "simulator" (X_s above), "real-codec" (the real codec at q - 10), "clean" (X)
  joint_simulator    theta trained too (the one-stage variant): the batch is doubled with the stage-1
                     pair (f_theta(X, c), real codec output at c), so theta keeps learning the codec
  generator.embed    False: no 4-D embedding in g_phi (S3Diff: prompt only; RRDBNet: unconditioned)
  codecs             the codecs trained on: one (single-codec) or several (versatile); () = all
  simulator None     plain fine-tuning without the simulator (the baseline: loss(X', X))
Batches: dicts with clean, lq, codec_out, codec_out_slight (B x 3 x H x W in [0, 1], float or uint8),
codec_onehot (B x 3), bpp, bpp_slight (B), prompt (B strings); lq is S/4 for scale-4 generators and
upsampled to S for scale-1 ones (shards.open_dataset(upsample_lq=True)).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

import torch
from accelerate.utils import set_seed
from torch import nn

from training.condition import CODEC_NAMES, codec_index, condition_batch
from training.loop import Batch, TrainConfig, TrainResult, train
from training.models.build import GeneratorSpec, SimulatorArchitecture, SimulatorSpec, build_generator, load_simulator
from training.models.open_backbones import resolved_generator_spec
from training.straight_through import real_codec_output, straight_through
from training.trainable import load_trainable_state_dict, trainable_state_dict

SUPERVISIONS = ("simulator", "real-codec", "clean")
RunConfig = TypeVar("RunConfig")  # SRTrainConfig or PostTrainConfig


@dataclass(frozen=True)
class SRTrainConfig:
    """The loop's config plus what stage 2 adds; recorded in every checkpoint's config.json."""

    train: TrainConfig
    generator: GeneratorSpec = field(default_factory=GeneratorSpec)
    simulator: SimulatorSpec | None = None  # None: plain fine-tuning without the simulator (baseline)
    supervision: str = "simulator"
    straight_through: bool = False
    joint_simulator: bool = False
    codecs: tuple[str, ...] = ()  # () = every codec of the data (versatile)


# ---- pieces of the forward pass (shared with the post-processing trainer)


def pictures(batch: Batch, name: str) -> torch.Tensor:
    """A picture field of the batch as float in [0, 1] (the loader may deliver uint8)."""
    value = batch[name]
    return value.float() / 255.0 if value.dtype == torch.uint8 else value.float()


def codec_condition(batch: Batch, slight: bool = False) -> torch.Tensor:
    """B x (codecs + 1) condition c = [one-hot, bpp], or c' = [one-hot, bpp of the slight partner] with `slight`
    (the one-hot's width is checked against the models by RecompressionAwareSR.check_codecs)."""
    return condition_batch(batch["codec_onehot"].float(), batch["bpp_slight" if slight else "bpp"].float(), None)


def supervision_target(batch: Batch, supervision: str, simulator: nn.Module | None) -> torch.Tensor:
    """The target in [-1, 1]: X_s = f_theta(X, c') (no gradient), the real codec at q - 10, or X."""
    if supervision == "clean":
        return pictures(batch, "clean") * 2 - 1
    if supervision == "real-codec":
        return pictures(batch, "codec_out_slight") * 2 - 1
    if supervision != "simulator":
        raise ValueError(f"unknown supervision {supervision!r}; choose one of {', '.join(SUPERVISIONS)}")
    if simulator is None:
        raise ValueError("supervision 'simulator' needs a simulator")
    with torch.no_grad():
        return simulator(pictures(batch, "clean") * 2 - 1, codec_condition(batch, slight=True), None)


class RecompressionAwareSR(nn.Module):
    """g_phi and f_theta as one module; forward(batch) -> (prediction, target), both in [-1, 1].

    prediction = f_theta(g_phi(X_tilde, c), c) (or its straight-through version), or g_phi's output
    itself without a simulator. Unless `joint_simulator`, f_theta is frozen (no requires_grad, eval mode).
    """

    def __init__(
        self,
        generator: nn.Module,
        simulator: nn.Module | None = None,
        supervision: str = "simulator",
        straight_through: bool = False,
        joint_simulator: bool = False,
        codecs: Sequence[str] = (),
        codec_names: tuple[str, ...] = CODEC_NAMES,
    ):
        super().__init__()
        self.codec_names = tuple(codec_names)  # the one-hot's codecs the models were built for
        if supervision not in SUPERVISIONS:
            raise ValueError(f"unknown supervision {supervision!r}; choose one of {', '.join(SUPERVISIONS)}")
        if simulator is None and (supervision == "simulator" or straight_through or joint_simulator):
            raise ValueError("supervision 'simulator', straight-through and joint-simulator need a simulator")
        self.generator, self.simulator = generator, simulator
        self.supervision, self.joint_simulator = supervision, joint_simulator
        self.use_straight_through = straight_through
        self.codec_indices = tuple(codec_index(codec, self.codec_names) for codec in codecs)
        if simulator is not None and not joint_simulator:
            simulator.requires_grad_(False)
        self.train()

    def train(self, mode: bool = True) -> RecompressionAwareSR:
        super().train(mode)
        if self.simulator is not None and not self.joint_simulator:
            self.simulator.eval()
        return self

    def super_resolve(self, batch: Batch, condition: torch.Tensor) -> torch.Tensor:
        """X' = g_phi(X_tilde, c) in [0, 1] (not clamped); must have the clean picture's size."""
        sr = self.generator(pictures(batch, "lq"), condition, list(batch["prompt"]))
        if sr.shape != batch["clean"].shape:
            raise ValueError(
                f"SR output {tuple(sr.shape)} does not match clean {tuple(batch['clean'].shape)}: "
                f"scale-1 generators need the LQ upsampled to the crop (open_dataset(upsample_lq=True))"
            )
        return sr

    def compress(self, sr: torch.Tensor, batch: Batch, condition: torch.Tensor) -> torch.Tensor:
        """X_hat' = f_theta(X', c) in [-1, 1]; with straight-through, the real codec's output forward."""
        simulated = self.simulator(sr * 2 - 1, condition, list(batch["prompt"]))
        if not self.use_straight_through:
            return simulated
        real = real_codec_output(sr, batch["codec_onehot"], batch["bpp"], self.codec_names) * 2 - 1
        return straight_through(simulated, real)

    def check_codecs(self, batch: Batch) -> None:
        """The data's one-hot must be the models' (a model refuses codecs it was not built for), and a
        single-codec run must not see another codec (a data set-up mistake)."""
        width = batch["codec_onehot"].shape[1]
        if width != len(self.codec_names):
            raise ValueError(
                f"the data's one-hot has {width} codecs, the models were built for {', '.join(self.codec_names)}: "
                "train on data of those codecs (or build the models for the dataset's codecs)"
            )
        if self.codec_indices:
            unexpected = set(batch["codec_onehot"].argmax(dim=1).tolist()) - set(self.codec_indices)
            if unexpected:
                raise ValueError(
                    f"batch holds codec(s) {sorted(self.codec_names[i] for i in unexpected)} outside "
                    f"the trained codecs {[self.codec_names[i] for i in self.codec_indices]}"
                )

    def forward(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        self.check_codecs(batch)
        condition = codec_condition(batch)
        sr = self.super_resolve(batch, condition)
        target = supervision_target(batch, self.supervision, self.simulator)
        if self.simulator is None:
            return sr * 2 - 1, target
        prediction = self.compress(sr, batch, condition)
        if self.joint_simulator:  # the stage-1 pair keeps theta a codec simulator
            stage_one = self.simulator(pictures(batch, "clean") * 2 - 1, condition, list(batch["prompt"]))
            prediction = torch.cat([prediction, stage_one])
            target = torch.cat([target, pictures(batch, "codec_out") * 2 - 1])
        return prediction, target

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """What training changes: every parameter with requires_grad, keyed by name (generator.*, ...)."""
        return trainable_state_dict(self)

    def load_trainable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Load a `trainable_state_dict`; the key sets must match exactly."""
        load_trainable_state_dict(self, state)


def system_forward(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """The loop's forward: the system module maps the batch itself (so DDP wrapping works)."""
    return model(batch)


def build_sr_system(
    config: SRTrainConfig, generator: nn.Module | None = None, simulator: nn.Module | None = None
) -> RecompressionAwareSR:
    """The module stage 2 trains; pass `generator` / `simulator` to use ones built elsewhere (tests)."""
    generator = generator if generator is not None else build_generator(config.generator)
    if simulator is None and config.simulator is not None:
        simulator_codecs = tuple(config.simulator.architecture.codecs)
        if simulator_codecs != tuple(config.generator.codecs):
            raise ValueError(
                f"the simulator was trained on {', '.join(simulator_codecs)}, the SR model is built for "
                f"{', '.join(config.generator.codecs)}: train a simulator on data of the same codecs"
            )
        simulator = load_simulator(config.simulator, trainable=config.joint_simulator)
    return RecompressionAwareSR(
        generator,
        simulator,
        config.supervision,
        config.straight_through,
        config.joint_simulator,
        config.codecs,
        tuple(config.generator.codecs),
    )


def train_sr(
    config: SRTrainConfig,
    batches: Iterable[Batch],
    held_out: Sequence[Batch] = (),
    generator: nn.Module | None = None,
    simulator: nn.Module | None = None,
) -> TrainResult:
    """Train (and checkpoint) g_phi through the frozen simulator as `config` says."""
    config = replace(config, generator=resolved_generator_spec(config.generator))  # what a named network records
    set_seed(config.train.seed)  # initial weights depend on the seed alone, not on what ran before
    system = build_sr_system(config, generator, simulator)
    return train(config.train, system, system_forward, batches, held_out, run_config=recorded(config, simulator))


def recorded(config: RunConfig, simulator: nn.Module | None) -> RunConfig:
    """The config to write into checkpoints: a simulator module passed in (not built from config.simulator)
    is recorded as such, so a checkpoint never claims a run without a simulator that had one."""
    if simulator is None or config.simulator is not None:
        return config
    return replace(
        config,
        simulator=SimulatorSpec(
            weights=f"passed in: {type(simulator).__name__}", architecture=SimulatorArchitecture(backbone="")
        ),
    )
