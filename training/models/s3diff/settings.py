"""The S3Diff backbone's options: what the published models use, and our alternatives, by name.

Every field is recorded in checkpoint configs (``dataclasses.asdict``), so a checkpoint says exactly
which variant produced it. Defaults reproduce the published S3Diff + VRPSR models, except two that
make the forward deterministic or the rate honest (``latent="mode"``, ``condition_units="bpp"``):
import the published checkpoints and these are set to what those models were trained with.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from pathlib import Path

from shards.prompts import OFFICIAL_CODEC_NAMES, OFFICIAL_PROMPT  # the prompt the official VRPSR code writes
from training.condition import CONDITION_UNITS

EMBEDDINGS = ("vrpsr", "ours")
MODULATIONS = ("vrpsr", "film", "none")
LATENTS = ("mode", "sample")
PROMPT_SOURCES = ("template", "given")


@dataclass(frozen=True)
class S3DiffSettings:
    """What sits on top of SD-Turbo (one step at t = 999)."""

    unet_lora_rank: int = 32
    vae_lora_rank: int = 16
    lora_alpha: float = 8.0  # peft's default, which S3Diff used: LoRA scaling = alpha / rank
    degradation_guided: bool = True  # S3Diff's r x r matrix between LoRA A and B (False: plain LoRA)
    # the codec condition c = [one-hot(3), value] as a vector:
    #   embedding "vrpsr": diffusers' timestep embedding of each raw scalar ([sin, cos], shift 1)
    #             "ours":  SinusoidalEmbedding (scalar x 1000, [cos, sin])
    #   modulation "vrpsr": per ResnetBlock2D MLP 256 -> 4C -> 2C (shift, scale), zero last layer
    #              "film":  our FiLM (hidden = embedding width, (gamma, beta)), zero last layer
    #              "none":  prompt only (the --no-embed ablation)
    embedding: str = "vrpsr"
    modulation: str = "vrpsr"
    dims_per_scalar: int = 64
    condition_units: str = "bpp"  # "bpp" (the true rate) or "official-kB" (coded bytes / 1000)
    prompt_template: str = OFFICIAL_PROMPT  # fields: {codec} (a name of codec_names) and {value}
    codec_names: tuple[str, ...] = OFFICIAL_CODEC_NAMES  # the one-hot's prompt names (more than 3: av1, jpeg...)
    prompt_source: str = "template"  # "template": the model writes its prompt from c; "given": the caller's
    latent: str = "mode"  # "mode" (deterministic) or "sample" (the published forward)
    # classifier-free guidance, as S3Diff's inference: prediction = neg + scale x (pos - neg), the negative
    # branch from `negative_prompt` (two UNet passes; scale 1 = one pass, the prompt alone); eval mode only:
    # S3Diff trains with one pass (mixing in the negative prompt, target = the input, see TrainConfig)
    guidance_scale: float = 1.0
    negative_prompt: str = ""
    degradation_input_scale: int = 1  # the DEResNet sees the input downscaled by this (4: an SR model's LQ)
    timestep: int = 999

    def __post_init__(self) -> None:
        for name, allowed in (
            ("embedding", EMBEDDINGS),
            ("modulation", MODULATIONS),
            ("latent", LATENTS),
            ("prompt_source", PROMPT_SOURCES),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"S3DiffSettings.{name} = {getattr(self, name)!r}; choose one of {', '.join(allowed)}")
        if self.condition_units not in CONDITION_UNITS:
            raise ValueError(f"condition_units {self.condition_units!r}: choose one of {', '.join(CONDITION_UNITS)}")
        if not self.guidance_scale > 0:
            raise ValueError(f"guidance_scale must be > 0, got {self.guidance_scale!r}")
        if self.guidance_scale != 1.0 and not self.negative_prompt:
            raise ValueError("guidance_scale != 1 needs a negative_prompt (the branch it guides away from)")
        if len(self.codec_names) < 3:
            raise ValueError(f"codec_names must name x264, x265 and vvenc (then any others), got {self.codec_names!r}")

    @classmethod
    def from_record(cls, record: dict | S3DiffSettings | None) -> S3DiffSettings:
        """From a config.json section (lists back to tuples; unknown names are an error)."""
        if record is None:
            return cls()
        if isinstance(record, cls):
            return record
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(record) - known)
        if unknown:
            raise ValueError(f"unknown S3Diff settings {unknown}; known: {sorted(known)}")
        values = dict(record)
        if "codec_names" in values:
            values["codec_names"] = tuple(values["codec_names"])
        return cls(**values)


def settings_from_file(path: str | Path) -> dict:
    """An S3DiffSettings record from a JSON file of its fields, or from a checkpoint folder that records
    one (its config.json's architecture / generator / post section): e.g. to fine-tune an imported model
    with the settings it was trained with. Validated; returned as the dict the architecture records keep."""
    path = Path(path).expanduser()
    file = path / "config.json" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no S3Diff settings at {file} (give a JSON file or a checkpoint folder)")
    record = json.loads(file.read_text())
    if path.is_dir():
        sections = [record.get(name) or {} for name in ("architecture", "generator", "post")]
        found = [section["s3diff"] for section in sections if section.get("s3diff")]
        if not found:
            raise ValueError(f"{file} records no S3Diff settings (not an s3diff checkpoint)")
        record = found[0]
    return dataclasses.asdict(S3DiffSettings.from_record(record))
