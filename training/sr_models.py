"""The stage-2 networks built from their specs: the SR generator g_phi and the stage-1 simulator f_theta.

Weights come from files only (Real-ESRGAN .pth with weights_only=True, SD-Turbo folders, our safetensors
checkpoints); a missing file is named in the error, and no network falls back to random weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from safetensors.torch import load_file
from torch import nn

from training.checkpoint import load_model_weights
from training.models.rrdbnet import RRDBNet, load_realesrgan_weights
from training.models.sr_s3diff import S3DiffSR
from training.train_simulator import build_simulator

BACKBONES = ("rrdbnet", "s3diff")
MODEL_WEIGHTS = "model.safetensors"
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
        raise ValueError(f"{file} holds no {prefix}* weights (not {kind})")
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


def load_simulator(spec: SimulatorSpec, trainable: bool = False) -> nn.Module:
    """The stage-1 simulator with its trained weights; frozen (and in eval mode) unless `trainable`."""
    simulator = build_simulator(spec)
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
