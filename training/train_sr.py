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
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from codec_bindings import match_rate
from training.trainable import load_trainable_state_dict, trainable_state_dict
from training.checkpoint import load_model_weights
from training.condition import CODEC_NAMES, codec_index, condition_batch
from training.loop import Batch, TrainConfig, TrainResult, train
from training.models.rrdbnet import RRDBNet, load_realesrgan_weights
from training.models.sr_s3diff import S3DiffSR
from training.train_simulator import SimulatorTrainConfig, build_simulator

BACKBONES = ("rrdbnet", "s3diff")
SUPERVISIONS = ("simulator", "real-codec", "clean")
MODEL_WEIGHTS = "model.safetensors"
RunConfig = TypeVar("RunConfig")  # SRTrainConfig or PostTrainConfig
GENERATOR_PREFIX = "generator."


@dataclass(frozen=True)
class GeneratorSpec:
    """The SR model g_phi."""

    backbone: str = "rrdbnet"
    scale: int = 4  # rrdbnet: 4 (input S/4) or 1 (input upsampled to S, pixel-unshuffle); s3diff: 1
    num_feat: int = 64
    num_block: int = 23
    num_grow_ch: int = 32
    embed: bool = True  # False: the --no-embed ablation
    pretrained: str | None = None  # rrdbnet: official Real-ESRGAN .pth (optional); s3diff: SD-Turbo folder
    init_weights: str | None = None  # an earlier SR checkpoint (folder or .safetensors) to start from


@dataclass(frozen=True)
class SimulatorSpec:
    """The stage-1 simulator f_theta: its weights and the architecture they belong to."""

    weights: str  # a stage-1 checkpoint folder (its model.safetensors) or a .safetensors file (e.g. ema)
    backbone: str = "small"
    pretrained: str | None = None  # SD-Turbo folder, for an s3diff simulator
    small_channels: tuple[int, ...] = (32, 64, 128)
    small_blocks_per_level: int = 2


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
    """B x 4 condition c = [one-hot, bpp], or c' = [one-hot, bpp at q - 10] with `slight`."""
    return condition_batch(batch["codec_onehot"].float(), batch["bpp_slight" if slight else "bpp"].float())


def real_codec_output(images: torch.Tensor, onehot: torch.Tensor, bpp: torch.Tensor) -> torch.Tensor:
    """The real codec's decoded output of each image (B x 3 x H x W in [0, 1]) at its condition: the
    picture is quantised to uint8 and encoded at the QP whose size is closest to bpp * H * W bits."""
    height, width = images.shape[-2:]
    pixels = (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    decoded = []
    for picture, index, rate in zip(pixels, onehot.argmax(dim=1).tolist(), bpp.reshape(-1).tolist(), strict=True):
        target_bits = max(1, round(float(rate) * height * width))
        decoded.append(match_rate(np.ascontiguousarray(picture), CODEC_NAMES[index], target_bits).encoded.recon)
    return torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2).to(images.device, torch.float32) / 255.0


class _StraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, simulated: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        return real.to(simulated.dtype).clone()

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad_output, None


def straight_through(simulated: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """X_hat = X_real + X_hat' - sg(X_hat'): exactly `real` forward; the gradient goes to `simulated` unchanged."""
    if simulated.shape != real.shape:
        raise ValueError(f"straight-through: simulated {tuple(simulated.shape)} vs real {tuple(real.shape)}")
    return _StraightThrough.apply(simulated, real)


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

    def __init__(self, generator: nn.Module, simulator: nn.Module | None = None, supervision: str = "simulator",
                 straight_through: bool = False, joint_simulator: bool = False, codecs: Sequence[str] = ()):
        super().__init__()
        if supervision not in SUPERVISIONS:
            raise ValueError(f"unknown supervision {supervision!r}; choose one of {', '.join(SUPERVISIONS)}")
        if simulator is None and (supervision == "simulator" or straight_through or joint_simulator):
            raise ValueError("supervision 'simulator', straight-through and joint-simulator need a simulator")
        self.generator, self.simulator = generator, simulator
        self.supervision, self.joint_simulator = supervision, joint_simulator
        self.use_straight_through = straight_through
        self.codec_indices = tuple(codec_index(codec) for codec in codecs)
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
            raise ValueError(f"SR output {tuple(sr.shape)} does not match clean {tuple(batch['clean'].shape)}: "
                             f"scale-1 generators need the LQ upsampled to the crop (open_dataset(upsample_lq=True))")
        return sr

    def compress(self, sr: torch.Tensor, batch: Batch, condition: torch.Tensor) -> torch.Tensor:
        """X_hat' = f_theta(X', c) in [-1, 1]; with straight-through, the real codec's output forward."""
        simulated = self.simulator(sr * 2 - 1, condition, list(batch["prompt"]))
        if not self.use_straight_through:
            return simulated
        real = real_codec_output(sr, batch["codec_onehot"], batch["bpp"]) * 2 - 1
        return straight_through(simulated, real)

    def check_codecs(self, batch: Batch) -> None:
        """A single-codec run must not see another codec (a data set-up mistake)."""
        if self.codec_indices:
            unexpected = set(batch["codec_onehot"].argmax(dim=1).tolist()) - set(self.codec_indices)
            if unexpected:
                raise ValueError(f"batch holds codec(s) {sorted(CODEC_NAMES[i] for i in unexpected)} outside "
                                 f"the trained codecs {[CODEC_NAMES[i] for i in self.codec_indices]}")

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


# ---- building the parts

def weights_file(path: str | Path) -> Path:
    """A checkpoint folder -> its model.safetensors; a file -> itself; FileNotFoundError naming the path."""
    path = Path(path).expanduser()
    file = path / MODEL_WEIGHTS if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no weights at {file} (give a checkpoint folder holding {MODEL_WEIGHTS} "
                                f"or a .safetensors file)")
    return file


def load_prefixed_weights(module: nn.Module, path: str | Path, prefix: str, kind: str, role: str) -> None:
    """Load ``module`` from the ``prefix``* entries of a checkpoint's weights (e.g. g_phi from an SR system)."""
    file = weights_file(path)
    state = {name[len(prefix):]: value for name, value in load_file(str(file)).items() if name.startswith(prefix)}
    if not state:
        raise KeyError(f"{file} holds no {prefix}* weights (not {kind})")
    try:
        load_model_weights(module, state)
    except (KeyError, RuntimeError) as error:
        raise ValueError(f"{file} does not fit this {role}: {error}") from None


def load_generator_weights(generator: nn.Module, path: str | Path) -> None:
    """Load g_phi's weights from an SR (or post) checkpoint: the ``generator.*`` entries of its weights."""
    load_prefixed_weights(generator, path, GENERATOR_PREFIX, "an SR checkpoint", "generator")


def build_generator(spec: GeneratorSpec) -> nn.Module:
    """g_phi as `spec` says; s3diff needs SD-Turbo (`pretrained`), never random weights."""
    if spec.backbone == "rrdbnet":
        generator = RRDBNet(spec.scale, spec.num_feat, spec.num_block, spec.num_grow_ch, codec_aware=spec.embed)
        if spec.pretrained:
            load_realesrgan_weights(generator, spec.pretrained)
    elif spec.backbone == "s3diff":
        if spec.scale != 1:
            raise ValueError(f"the s3diff generator works at scale 1 (LQ upsampled to the output), not {spec.scale}")
        if spec.pretrained is None:
            raise ValueError("the s3diff generator needs `pretrained`: a folder holding stabilityai/sd-turbo")
        generator = S3DiffSR.from_pretrained(spec.pretrained)
        if not spec.embed:
            generator.disable_embedding()
    else:
        raise ValueError(f"unknown SR backbone {spec.backbone!r}; choose one of {', '.join(BACKBONES)}")
    if spec.init_weights:
        load_generator_weights(generator, spec.init_weights)
    return generator


def load_simulator(spec: SimulatorSpec, train_config: TrainConfig, trainable: bool = False) -> nn.Module:
    """The stage-1 simulator with its trained weights; frozen (and in eval mode) unless `trainable`."""
    stage_one = SimulatorTrainConfig(train_config, backbone=spec.backbone, pretrained=spec.pretrained,
                                     small_channels=tuple(spec.small_channels),
                                     small_blocks_per_level=spec.small_blocks_per_level)
    simulator = build_simulator(stage_one)
    file = weights_file(spec.weights)
    try:
        load_model_weights(simulator, load_file(str(file)))
    except (KeyError, RuntimeError) as error:
        lines = str(error).splitlines()
        shown = "\n".join(lines[:4]) + (f"\n\t... ({len(lines) - 4} more lines)" if len(lines) > 4 else "")
        raise ValueError(f"{file} does not fit a {spec.backbone} simulator {spec}: {shown}\nGive the "
                         f"architecture it was trained with (--simulator-backbone / --simulator-small-channels) "
                         f"where its config.json does not record it") from None
    if not trainable:
        simulator.requires_grad_(False).eval()
    return simulator


def build_sr_system(config: SRTrainConfig, generator: nn.Module | None = None,
                    simulator: nn.Module | None = None) -> RecompressionAwareSR:
    """The module stage 2 trains; pass `generator` / `simulator` to use ones built elsewhere (tests)."""
    generator = generator if generator is not None else build_generator(config.generator)
    if simulator is None and config.simulator is not None:
        simulator = load_simulator(config.simulator, config.train, trainable=config.joint_simulator)
    return RecompressionAwareSR(generator, simulator, config.supervision, config.straight_through,
                                config.joint_simulator, config.codecs)


def train_sr(config: SRTrainConfig, batches: Iterable[Batch], held_out: Sequence[Batch] = (),
             generator: nn.Module | None = None, simulator: nn.Module | None = None) -> TrainResult:
    """Train (and checkpoint) g_phi through the frozen simulator as `config` says."""
    system = build_sr_system(config, generator, simulator)
    return train(config.train, system, system_forward, batches, held_out, run_config=recorded(config, simulator))


def recorded(config: RunConfig, simulator: nn.Module | None) -> RunConfig:
    """The config to write into checkpoints: a simulator module passed in (not built from config.simulator)
    is recorded as such, so a checkpoint never claims a run without a simulator that had one."""
    if simulator is None or config.simulator is not None:
        return config
    return replace(config, simulator=SimulatorSpec(weights=f"passed in: {type(simulator).__name__}", backbone=""))
