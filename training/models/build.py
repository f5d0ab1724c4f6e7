"""Every network the trainers and loaders use, built from its frozen architecture record.

  SimulatorArchitecture -> build_simulator       f_theta (stage 1; trainer config and checkpoints share it)
  SimulatorSpec         -> load_simulator        f_theta's architecture + trained weights (stage 2, eval)
  GeneratorSpec         -> build_generator       g_phi, the SR model
  PostSpec              -> build_post            h_phi, the post-processor after the codec
  name, channels        -> build_discriminator   the GAN discriminator of the shared loop

Weights come from files only (Real-ESRGAN .pth with weights_only=True, SD-Turbo folders, our safetensors
checkpoints); a missing file is named in the error, and no network falls back to random weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from safetensors.torch import load_file
from torch import nn

from training.checkpoint import load_model_weights
from training.condition import CODEC_NAMES, LIBRARY_NAMES
from training.losses import PatchDiscriminator
from training.models.condition_switches import SwitchedSimulator
from training.models.discriminator import UNetDiscriminatorSN
from training.models.hyperprior import HyperpriorSimulator
from training.models.jpeg_proxy import JpegProxy
from training.models.open_backbones import build_open_generator, open_source
from training.models.post import PostProcessor
from training.models.rrdbnet import RRDBNet, load_realesrgan_weights
from training.models.s3diff.settings import OFFICIAL_CODEC_NAMES
from training.models.small_simulator import SmallSimulator
from training.models.weights_files import load_prefixed_weights, weights_file

SIMULATOR_BACKBONES = ("small", "s3diff", "jpeg-proxy", "hyperprior")
UNTRAINED_SIMULATORS = ("jpeg-proxy",)  # built as they are: no weights file
GENERATOR_BACKBONES = ("rrdbnet", "s3diff", "py:MODULE:ATTR", "spandrel:FILE.pth")
DISCRIMINATORS = ("patch", "unet", "vision-aided-dino")
GENERATOR_PREFIX = "generator."
POST_PREFIX = "post."


@dataclass(frozen=True)
class SimulatorArchitecture:
    """What f_theta is, apart from its weights: recorded in the stage-1 config and read back to load it."""

    backbone: str = "small"  # "small" (no pre-training), "s3diff" (SD-Turbo + LoRA), "jpeg-proxy", "hyperprior"
    pretrained: str | None = None  # SD-Turbo folder or cached repo id, for "s3diff"
    small_channels: tuple[int, ...] = (32, 64, 128)
    small_blocks_per_level: int = 2
    condition_input: str = "bpp"  # Table 3 (b): "qp", with a rate head predicting the bpp
    prompt: bool = True  # Table 3 (c): False = vector only
    embedding: bool = True  # Table 3 (d): False = prompt only
    hyperprior_channels: tuple[int, int] = (128, 192)  # N, M of the hyperprior codec
    jpeg_rounding: str = "straight-through"  # or "cubic"
    s3diff: dict | None = (
        None  # "s3diff": its S3DiffSettings record (training/models/s3diff/settings.py); None: defaults
    )
    codecs: tuple[str, ...] = CODEC_NAMES  # the one-hot's codecs (training.condition.onehot_layout of the data)

    @property
    def switched(self) -> bool:
        """Whether a Table 3 switch is set (the simulator is then wrapped in SwitchedSimulator)."""
        return (self.condition_input, self.prompt, self.embedding) != ("bpp", True, True)

    @classmethod
    def from_record(cls, record: dict) -> SimulatorArchitecture:
        """From a config.json: its "architecture" section, or (older runs) the same fields at the top level."""
        section = record.get("architecture", record)
        known = {f.name for f in fields(cls)}
        values = {name: value for name, value in section.items() if name in known}
        for name in ("small_channels", "hyperprior_channels", "codecs"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)


@dataclass(frozen=True)
class SimulatorSpec:
    """The stage-1 simulator f_theta: its weights and the architecture they belong to."""

    weights: str  # a stage-1 checkpoint folder (its model.safetensors) or a .safetensors file (e.g. ema)
    architecture: SimulatorArchitecture = field(default_factory=SimulatorArchitecture)


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
    s3diff: dict | None = None  # s3diff: its S3DiffSettings record; None: defaults (DEResNet on the LQ: 1/4)
    rrdbnet_embedding: str = "ours"  # rrdbnet: "ours" or "vrpsr" (the published RRDBNetEmbeddingProj's)
    condition_units: str = "bpp"  # rrdbnet: "bpp" or "official-kB" (s3diff: in its settings)
    long_skip: str = "esrgan"  # rrdbnet: "esrgan", or "vrpsr-official" (the imported vrpsr_realesrgan's forward)
    output_mapping: str = "clamp"  # "clamp" (ours) or "vrpsr-official" (training/models/backbone.py)
    # named networks (training/models/open_backbones.py): backbone "py:MODULE:ATTR" or "spandrel:FILE.pth"
    backbone_kwargs: dict | None = None  # py: the class's / factory's keyword arguments
    condition: str | None = (
        None  # none | native | bias[:MODULES] | film[:MODULES] (training/models/condition_adapter.py)
    )
    spandrel: dict | None = None  # spandrel: architecture id, hyper-parameters, scale, size multiple, file sha256
    codecs: tuple[str, ...] = CODEC_NAMES  # the one-hot's codecs (training.condition.onehot_layout of the data)


@dataclass(frozen=True)
class PostSpec:
    """h_phi: the conditional residual UNet's size, and optional weights to start from."""

    channels: tuple[int, ...] = (32, 64, 128)
    blocks_per_level: int = 2
    dims_per_scalar: int = 64
    groups: int = 8
    init_weights: str | None = None  # an earlier post checkpoint (folder or .safetensors)
    backbone: str = "small"  # or "s3diff" (VRPSR's post_sr: S3Diff on the decoded picture)
    pretrained: str | None = None  # SD-Turbo folder, for "s3diff"
    s3diff: dict | None = None  # its S3DiffSettings record


# ---- the simulator f_theta


def s3diff_record_for(record: dict | None, codecs: tuple[str, ...]) -> dict | None:
    """An S3Diff settings record whose prompt names cover ``codecs``: the recorded (or official) names of
    x264, x265 and vvenc, then the libraries of the other codecs (libsvtav1, libjpeg, libwebp)."""
    if codecs == CODEC_NAMES:
        return record
    names = list((record or {}).get("codec_names") or OFFICIAL_CODEC_NAMES)[:3]
    return {**(record or {}), "codec_names": names + [LIBRARY_NAMES[codec] for codec in codecs[3:]]}


def build_simulator(architecture: SimulatorArchitecture) -> nn.Module:
    """f_theta as `architecture` says (random or pretrained weights, never trained ones: see load_simulator);
    "s3diff" needs `pretrained` (never random weights). Table 3 switches wrap it in SwitchedSimulator."""
    simulator = _build_backbone(architecture)
    if not architecture.switched:
        return simulator
    if architecture.backbone in ("jpeg-proxy", "hyperprior"):
        raise ValueError(
            f"Table 3 switches (condition_input, prompt, embedding) are for the small and s3diff "
            f"simulators, not {architecture.backbone}"
        )
    return SwitchedSimulator(simulator, architecture.condition_input, architecture.prompt, architecture.embedding)


def _build_backbone(architecture: SimulatorArchitecture) -> nn.Module:
    codecs = tuple(architecture.codecs)
    if architecture.backbone == "small":
        return SmallSimulator(
            tuple(architecture.small_channels), architecture.small_blocks_per_level, codec_names=codecs
        )
    if architecture.backbone == "s3diff":
        if architecture.pretrained is None:
            raise ValueError("the s3diff simulator needs `pretrained`: a folder holding stabilityai/sd-turbo")
        from training.models.s3diff.build_s3diff import s3diff_simulator  # diffusers/transformers only when needed

        return s3diff_simulator(architecture.pretrained, s3diff_record_for(architecture.s3diff, codecs))
    if architecture.backbone == "jpeg-proxy":
        return JpegProxy(architecture.jpeg_rounding)
    if architecture.backbone == "hyperprior":
        return HyperpriorSimulator(*architecture.hyperprior_channels, condition_width=len(codecs) + 1)
    raise ValueError(
        f"unknown simulator backbone {architecture.backbone!r}; choose one of {', '.join(SIMULATOR_BACKBONES)}"
    )


def load_simulator(spec: SimulatorSpec, trainable: bool = False, rate_conditioned: bool = True) -> nn.Module:
    """The stage-1 simulator with its trained weights (none for the JPEG proxy); frozen (and in eval mode)
    unless `trainable`. `rate_conditioned` (stage 2): refuse a QP-conditioned simulator, which cannot be
    given the condition's bpp."""
    if rate_conditioned and spec.architecture.condition_input != "bpp":
        raise ValueError(
            f"{spec.weights} is a QP-conditioned simulator (Table 3 (b)): stage 2 conditions on "
            f"bpp, so it can only be evaluated (vrpsr eval simulator)"
        )
    simulator = build_simulator(spec.architecture)
    if spec.architecture.backbone in UNTRAINED_SIMULATORS:
        return simulator.requires_grad_(False).eval()
    file = weights_file(spec.weights)
    try:
        load_model_weights(simulator, load_file(str(file)))
    except (KeyError, RuntimeError) as error:
        lines = str(error).splitlines()
        shown = "\n".join(lines[:4]) + (f"\n\t... ({len(lines) - 4} more lines)" if len(lines) > 4 else "")
        raise ValueError(
            f"{file} does not fit a {spec.architecture.backbone} simulator {spec}: {shown}\nGive the "
            f"architecture it was trained with (--simulator-backbone / --simulator-small-channels) "
            f"where its config.json does not record it"
        ) from None
    if not trainable:
        simulator.requires_grad_(False).eval()
    return simulator


# ---- the SR generator g_phi


def load_generator_weights(generator: nn.Module, path: str | Path, record: str = "") -> None:
    """Load g_phi's weights from an SR (or post) checkpoint: the ``generator.*`` entries of its weights.
    `record`: how the generator was described (named in the one-line error when the weights do not fit)."""
    load_prefixed_weights(generator, path, GENERATOR_PREFIX, "an SR checkpoint", record or "generator")


def build_generator(spec: GeneratorSpec, structure_only: bool = False) -> nn.Module:
    """g_phi as `spec` says; s3diff needs SD-Turbo (`pretrained`), never random weights. Named networks
    (py:, spandrel:) are wrapped with their condition adapter; `structure_only` (a checkpoint's weights
    follow): a spandrel network is built from its record instead of read from its source file."""
    if open_source(spec.backbone):
        if tuple(spec.codecs) != CODEC_NAMES:
            raise ValueError(
                f"named networks ({spec.backbone}) take the condition of x264, x265 and vvenc only, the data has "
                f"{', '.join(spec.codecs)}: use --backbone rrdbnet or s3diff for av1/jpeg/webp data"
            )
        generator = build_open_generator(spec, structure_only)
    elif spec.backbone == "rrdbnet":
        generator = RRDBNet(
            spec.scale,
            spec.num_feat,
            spec.num_block,
            spec.num_grow_ch,
            codec_aware=spec.embed,
            embedding=spec.rrdbnet_embedding,
            condition_units=spec.condition_units,
            long_skip=spec.long_skip,
            codec_names=tuple(spec.codecs),
        )
        if spec.pretrained:
            load_realesrgan_weights(generator, spec.pretrained)
    elif spec.backbone == "s3diff":
        if spec.scale != 1:
            raise ValueError(f"the s3diff generator works at scale 1 (LQ upsampled to the output), not {spec.scale}")
        if spec.pretrained is None:
            raise ValueError("the s3diff generator needs `pretrained`: a folder holding stabilityai/sd-turbo")
        from training.models.s3diff.build_s3diff import (
            load_init_weights,
            s3diff_generator,
        )

        generator = s3diff_generator(spec.pretrained, s3diff_record_for(spec.s3diff, tuple(spec.codecs)))
        if not spec.embed:
            generator.disable_embedding()
    else:
        raise ValueError(f"unknown SR backbone {spec.backbone!r}; choose one of {', '.join(GENERATOR_BACKBONES)}")
    if spec.init_weights:
        if spec.backbone == "s3diff":  # also from an imported S3Diff, whose condition MLPs then start at zero
            load_init_weights(generator, spec.init_weights)
        else:
            load_generator_weights(generator, spec.init_weights)
    return generator


# ---- the post-processor h_phi and the discriminator


def load_post_weights(post: nn.Module, path: str | Path) -> None:
    """Load h_phi's weights: the ``post.*`` entries of a post checkpoint's weights."""
    load_prefixed_weights(post, path, POST_PREFIX, "a post-processing checkpoint", "post-processor")


def build_post(spec: PostSpec) -> nn.Module:
    if spec.backbone == "s3diff":
        from training.models.s3diff.build_s3diff import s3diff_post

        post = s3diff_post(spec.pretrained, spec.s3diff)
    else:
        post = PostProcessor(tuple(spec.channels), spec.blocks_per_level, spec.dims_per_scalar, spec.groups)
    if spec.init_weights:
        load_post_weights(post, spec.init_weights)
    return post


def build_discriminator(name: str, channels: int = 64) -> nn.Module:
    """ "patch": the small spectral-norm PatchGAN (training/losses.py); "unet": UNetDiscriminatorSN."""
    if name == "patch":
        return PatchDiscriminator(channels)
    if name == "unet":
        return UNetDiscriminatorSN(num_feat=channels)
    if name == "vision-aided-dino":  # S3Diff's: frozen DINO ViT-B/16 (torch hub cache) + trained heads, hinge loss
        from training.models.vision_aided import VisionAidedDiscriminator

        return VisionAidedDiscriminator()
    raise ValueError(f"unknown discriminator {name!r}; choose one of {', '.join(DISCRIMINATORS)}")


def with_architecture(spec: SimulatorSpec, **given: object) -> SimulatorSpec:
    """`spec` with the architecture fields in `given` that are not None put on top."""
    chosen = {name: value for name, value in given.items() if value is not None}
    for name in ("small_channels", "hyperprior_channels"):
        if name in chosen:
            chosen[name] = tuple(chosen[name])
    return replace(spec, architecture=replace(spec.architecture, **chosen))
