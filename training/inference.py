"""Trained checkpoints as picture functions: the plug-ins `vrpsr eval` and the benchmarks call.

Every function here takes and returns RGB uint8 pictures (H x W x 3) with the condition (codec, bpp):
  load_sr_checkpoint         SR run (train_sr / train_post)    -> model(degraded, codec, bpp) -> SR picture
  load_simulator_checkpoint  stage-1 run (train_simulator)     -> simulator(picture, codec, bpp) -> X_hat'
  load_post_checkpoint       post run (train_post)             -> post(decoded, codec, bpp) -> picture
Architectures are rebuilt from the config.json each checkpoint records; weights are safetensors.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from training.condition import CODEC_NAMES, LIBRARY_NAMES, condition_vector
from training.models.backbone import mapped_output
from training.models.build import (
    GENERATOR_PREFIX,
    UNTRAINED_SIMULATORS,
    GeneratorSpec,
    PostSpec,
    SimulatorArchitecture,
    SimulatorSpec,
    build_generator,
    build_post,
    load_generator_weights,
    load_post_weights,
    load_simulator,
    with_architecture,
)
from training.models.post import PostProcessor
from training.models.weights_files import MODEL_WEIGHTS, weights_file


@torch.no_grad()
def run_on_picture(
    model: nn.Module,
    picture: np.ndarray,
    codec: str,
    bpp: float,
    *,
    scale: int = 1,
    multiple: int = 1,
    signed: bool = False,
    output_mapping: str = "clamp",
) -> np.ndarray:
    """Run an image-to-image model on one RGB uint8 picture (H x W x 3) at condition (codec, bpp).

    The picture is reflect-padded to a multiple of `multiple` and the output cropped to (H*scale, W*scale);
    `signed`: the model works in [-1, 1] instead of [0, 1]; else `output_mapping` (training/models/
    backbone.py) maps the output to [0, 1]. Returns RGB uint8.
    """
    height, width = picture.shape[:2]
    parameter = next(itertools.chain(model.parameters(), model.buffers()))  # the JPEG proxy has only buffers
    image = torch.from_numpy(np.ascontiguousarray(picture)).permute(2, 0, 1)[None].to(parameter.device, torch.float32)
    image = image / 127.5 - 1 if signed else image / 255.0
    pad_bottom, pad_right = (-height) % multiple, (-width) % multiple
    if pad_bottom or pad_right:
        mode = "reflect" if min(height, width) > max(pad_bottom, pad_right) else "replicate"
        image = F.pad(image, (0, pad_right, 0, pad_bottom), mode=mode)
    condition = condition_vector(codec, bpp, model_codecs(model))[None].to(parameter.device)
    output = model(image, condition, None)[..., : height * scale, : width * scale].float()
    output = (output.clamp(-1, 1) + 1) * 127.5 if signed else mapped_output(output, output_mapping) * 255.0
    return output.round()[0].permute(1, 2, 0).to(torch.uint8).cpu().numpy()


def model_codecs(model: nn.Module) -> tuple[str, ...]:
    """The codecs of a model's one-hot: its ``codec_names`` (RRDBNet, small simulator), else those of an
    S3Diff model's prompt names (the paper's three, then libsvtav1/libjpeg/libwebp), else the paper's three."""
    names = getattr(model, "codec_names", None)
    if names is not None:
        return tuple(names)
    prompt_names = tuple(getattr(getattr(model, "settings", None), "codec_names", ()))
    by_library = {library: codec for codec, library in LIBRARY_NAMES.items()}
    return CODEC_NAMES + tuple(by_library.get(name, name) for name in prompt_names[3:])


@dataclass
class SuperResolver:
    """An SR model for the evaluation protocol: ``model(picture, codec, bpp) -> SR picture`` (RGB uint8).

    input_scale 4: it gets the degraded picture itself; 1: the degraded picture upsampled to the output.
    """

    generator: nn.Module
    name: str = "sr"
    output_mapping: str = "clamp"  # the generator record's (training/models/backbone.py OUTPUT_MAPPINGS)

    def __post_init__(self) -> None:
        self.generator.eval()

    @property
    def input_scale(self) -> int:
        return int(self.generator.scale)

    def __call__(self, picture: np.ndarray, codec: str, bpp: float) -> np.ndarray:
        return run_on_picture(
            self.generator,
            picture,
            codec,
            bpp,
            scale=self.input_scale,
            multiple=int(getattr(self.generator, "size_multiple", 1)),
            output_mapping=self.output_mapping,
        )


def read_run_config(checkpoint: str | Path) -> dict:
    """The config.json a trainer wrote into a checkpoint folder."""
    path = Path(checkpoint).expanduser() / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: give a checkpoint folder written by vrpsr train")
    return json.loads(path.read_text())


def generator_spec_of(run_config: dict, where: str) -> GeneratorSpec:
    if "generator" not in run_config:
        raise ValueError(f"{where}: config.json has no 'generator' section (not an SR or post checkpoint)")
    return GeneratorSpec(**run_config["generator"])


def load_sr_checkpoint(checkpoint: str, scale: int | None = None, use_ema: bool = False) -> SuperResolver:
    """An SR checkpoint folder (from train_sr or train_post) as an evaluation model.

    The generator is rebuilt from the recorded GeneratorSpec; the trained ``generator.*`` weights of the
    checkpoint (its EMA with `use_ema`) are loaded over it. A run that kept g_phi frozen saved none: the
    generator then comes from where that run took it (`pretrained` / `init_weights`). s3diff checkpoints
    need SD-Turbo at the recorded path. `scale` (the protocol's) is checked when given.
    """
    folder = Path(checkpoint).expanduser()
    spec = generator_spec_of(read_run_config(folder), str(folder))
    file = weights_file(folder / ("ema.safetensors" if use_ema else MODEL_WEIGHTS))
    if any(name.startswith(GENERATOR_PREFIX) for name in load_file(str(file))):
        generator = build_generator(
            replace(spec, init_weights=None, pretrained=spec.pretrained if spec.backbone == "s3diff" else None),
            structure_only=True,
        )
        load_generator_weights(generator, file, record=f"generator recorded in {folder / 'config.json'}")
    else:
        generator = build_generator(spec)
    if scale is not None and generator.scale not in (1, scale):
        raise ValueError(f"{folder}: generator scale {generator.scale} fits neither 1 nor the protocol's {scale}")
    return SuperResolver(generator, name=folder.parent.parent.name or "sr", output_mapping=spec.output_mapping)


@dataclass
class PostFunction:
    """``post(decoded picture, codec, bpp) -> restored picture``, RGB uint8 of any size."""

    post: PostProcessor

    def __post_init__(self) -> None:
        self.post.eval()

    def __call__(self, decoded: np.ndarray, codec: str, bpp: float) -> np.ndarray:
        return run_on_picture(self.post, decoded, codec, bpp, multiple=self.post.size_multiple, signed=True)


def load_post_checkpoint(checkpoint: str, use_ema: bool = False) -> PostFunction:
    """A post checkpoint folder (from train_post) as the evaluation's post-processor."""
    folder = Path(checkpoint).expanduser()
    run_config = read_run_config(folder)
    if "post" not in run_config:
        raise ValueError(f"{folder}: config.json has no 'post' section (not a post-processing checkpoint)")
    spec = PostSpec(**{**run_config["post"], "init_weights": None})
    post = build_post(spec)
    load_post_weights(post, folder / ("ema.safetensors" if use_ema else MODEL_WEIGHTS))
    return PostFunction(post)


@dataclass
class SimulatedCodec:
    """``simulator(picture, codec, bpp) -> f_theta's picture``: what the codec would output at bpp.

    A QP-conditioned simulator (Table 3 (b), `condition_input` "qp") is called with the QP instead of bpp."""

    simulator: nn.Module
    condition_input: str = "bpp"

    def __post_init__(self) -> None:
        self.simulator.eval()

    def __call__(self, picture: np.ndarray, codec: str, bpp: float) -> np.ndarray:
        multiple = int(getattr(self.simulator, "size_multiple", 1))
        return run_on_picture(self.simulator, picture, codec, bpp, multiple=multiple, signed=True)


def simulator_spec_of(checkpoint: str | Path, **given: object) -> SimulatorSpec:
    """The SimulatorSpec of a stage-1 checkpoint folder: its recorded SimulatorArchitecture (config.json), with
    the fields in `given` (those not None) on top. A .safetensors file has no record: `given` must say it all.
    A simulator without weights (``jpeg-proxy``) is named instead of a checkpoint."""
    path = Path(checkpoint).expanduser()
    recorded = SimulatorArchitecture()
    if str(checkpoint) in UNTRAINED_SIMULATORS:
        recorded = SimulatorArchitecture(backbone=str(checkpoint))
    elif (path / "config.json").is_file():
        recorded = SimulatorArchitecture.from_record(json.loads((path / "config.json").read_text()))
    return with_architecture(SimulatorSpec(weights=str(checkpoint), architecture=recorded), **given)


def load_simulator_checkpoint(checkpoint: str, use_ema: bool = False) -> SimulatedCodec:
    """A stage-1 checkpoint folder (or its .safetensors) as a picture function; frozen, eval mode."""
    spec = simulator_spec_of(checkpoint)
    if use_ema:
        spec = replace(spec, weights=str(Path(checkpoint).expanduser() / "ema.safetensors"))
    return SimulatedCodec(load_simulator(spec, rate_conditioned=False), spec.architecture.condition_input)
