"""The codec condition c = (codec, target bpp): as a text prompt and as an embedded 4-D vector.

The paper gives c twice: a prompt for the text encoder (``"A libx264 0.3000 bpp compressed image."`` as the
official code writes it, shards/prompts.py; the paper prints ``"A {libx264} {0.3} bpp compressed image."``),
and the vector ``[one-hot(x264, x265, vvenc), bpp]`` whose scalars are each embedded sinusoidally
(64 dims each -> 256 for the simulator, 16 each -> 64 for RRDBNet) and turned into FiLM parameters.

The one-hot grows with the codecs a model is trained on: x264, x265, vvenc always at positions 0-2 (the
published checkpoints' layout), then the training dataset's other codecs (av1, jpeg, webp) in
codec_bindings order; a model records its codec list and refuses any other codec (codec_index).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from codec_bindings import CODECS, PAPER_CODECS
from shards import prompts

CODEC_NAMES: tuple[str, ...] = PAPER_CODECS  # the default one-hot: x264, x265, vvenc (the published models)
LIBRARY_NAMES: dict[str, str] = {name: codec.library for name, codec in CODECS.items()}  # libx264 ... libwebp
CONDITION_DIM = len(CODEC_NAMES) + 1
CONDITION_UNITS = ("bpp", "official-kB")


def onehot_layout(codecs) -> tuple[str, ...]:
    """The one-hot positions of a model trained on ``codecs``: x264, x265, vvenc, then the others in order."""
    unknown = [codec for codec in codecs if codec not in CODECS]
    if unknown:
        raise ValueError(f"unknown codec(s) {', '.join(unknown)}; known codecs: {', '.join(CODECS)}")
    return PAPER_CODECS + tuple(name for name in CODECS if name in codecs and name not in PAPER_CODECS)


def condition_dim(codec_names: tuple[str, ...] = CODEC_NAMES) -> int:
    """Width of the condition vector [one-hot over codec_names, rate]."""
    return len(codec_names) + 1


def codec_index(codec: str, codec_names: tuple[str, ...] = CODEC_NAMES) -> int:
    """Position of `codec` in the one-hot over `codec_names`; ValueError (one line) for a codec outside it."""
    if codec not in codec_names:
        if codec in CODECS:
            raise ValueError(
                f"this model was trained on {', '.join(codec_names)}, not {codec}: "
                f"train one on a dataset with {codec} (vrpsr generate --codecs ...,{codec})"
            )
        raise ValueError(f"unknown codec {codec!r}; known codecs: {', '.join(codec_names)}")
    return codec_names.index(codec)


def codec_onehot(codec: str, codec_names: tuple[str, ...] = CODEC_NAMES) -> torch.Tensor:
    """The one-hot of `codec` over `codec_names` (float32)."""
    onehot = torch.zeros(len(codec_names))
    onehot[codec_index(codec, codec_names)] = 1.0
    return onehot


def condition_vector(codec: str, bpp: float, codec_names: tuple[str, ...] = CODEC_NAMES) -> torch.Tensor:
    """The condition ``[one-hot, bpp]`` (float32; 4-D over the default three codecs)."""
    if not math.isfinite(bpp) or bpp < 0:
        raise ValueError(f"bpp must be a finite non-negative number, got {bpp!r}")
    return torch.cat([codec_onehot(codec, codec_names), torch.tensor([float(bpp)])])


def condition_batch(
    onehot: torch.Tensor, bpp: torch.Tensor, codec_names: tuple[str, ...] | None = CODEC_NAMES
) -> torch.Tensor:
    """Stack a batch of one-hots (B x len(codec_names)) and rates (B) into B x (len + 1) condition vectors
    (codec_names None: any one-hot of at least the paper's three positions, checked by the model's owner)."""
    width = len(codec_names) if codec_names is not None else max(len(CODEC_NAMES), onehot.shape[-1])
    if onehot.ndim != 2 or onehot.shape[1] != width:
        if onehot.ndim == 2 and codec_names is not None and onehot.shape[1] > len(codec_names):
            raise ValueError(
                f"the data's codec one-hot has {onehot.shape[1]} positions, this model knows only "
                f"{', '.join(codec_names)}: build the model for the dataset's codecs (or train on x264/x265/vvenc data)"
            )
        raise ValueError(f"codec one-hot must be B x {width}, got {tuple(onehot.shape)}")
    bpp = bpp.reshape(-1, 1).to(onehot.dtype)
    if bpp.shape[0] != onehot.shape[0]:
        raise ValueError(f"{onehot.shape[0]} one-hots but {bpp.shape[0]} bpp values")
    return torch.cat([onehot, bpp], dim=1)


def condition_prompt(codec: str, bpp: float, prompt_format: str = "official") -> str:
    """The loader's prompt (shards/prompts.py): "A libx264 0.3000 bpp compressed image." ("official", what the
    official VRPSR code and our S3Diff models write) or the paper's "A {libx264} {0.3} bpp compressed image.";
    the new codecs are named by their libraries (libsvtav1, libjpeg, libwebp)."""
    if codec not in LIBRARY_NAMES:
        raise ValueError(f"unknown codec {codec!r}; known codecs: {', '.join(LIBRARY_NAMES)}")
    return prompts.condition_prompt(codec, bpp, prompt_format)


def condition_value(bpp: torch.Tensor, units: str, height: int, width: int) -> torch.Tensor:
    """The rate in the unit a model expects, from the true bpp of a height x width picture.

    "bpp": unchanged. "official-kB": what the official VRPSR code feeds its models (coded bytes / 1000),
    i.e. bpp * height * width / 8 / 1000 (0.3 bpp on 512 x 512 -> 9.8304).
    """
    if units == "bpp":
        return bpp
    if units == "official-kB":
        return bpp * (height * width / 8000.0)
    raise ValueError(f"unknown condition units {units!r}; choose one of {', '.join(CONDITION_UNITS)}")


def templated_prompts(
    template: str, codec_names: Sequence[str], onehot: torch.Tensor, values: torch.Tensor
) -> list[str]:
    """Prompts from a template with fields {codec} (codec_names[i] for one-hot i) and {value}."""
    indices = onehot.argmax(dim=1).tolist()
    return [
        template.format(codec=codec_names[i], value=float(v))
        for i, v in zip(indices, values.reshape(-1).tolist(), strict=True)
    ]


def condition_prompts(onehot: torch.Tensor, bpp: torch.Tensor, codec_names: tuple[str, ...] = CODEC_NAMES) -> list[str]:
    """Prompts for a batch given as one-hots (B x len(codec_names)) and rates (B)."""
    if onehot.shape[1] != len(codec_names):
        raise ValueError(f"one-hot of width {onehot.shape[1]} does not match the codecs {', '.join(codec_names)}")
    indices = onehot.argmax(dim=1).tolist()
    return [condition_prompt(codec_names[i], float(b)) for i, b in zip(indices, bpp.reshape(-1).tolist(), strict=True)]


class SinusoidalEmbedding(nn.Module):
    """Embed each scalar of a B x N vector sinusoidally into `dims_per_scalar` dims; output B x (N * dims).

    Each scalar is multiplied by `input_scale` first (default 1000, so a bpp of 0.3 is embedded like a
    diffusion timestep of 300 and the low frequencies still separate nearby rates), then embedded as
    ``[cos(x * f_k), sin(x * f_k)]`` with ``f_k = max_period ** (-k / half)``, k = 0 .. half-1.
    Parameter-free; frequencies are a buffer so they follow `.to(device)`.
    """

    def __init__(self, dims_per_scalar: int, max_period: float = 10000.0, input_scale: float = 1000.0):
        super().__init__()
        if dims_per_scalar < 2 or dims_per_scalar % 2:
            raise ValueError(f"dims_per_scalar must be an even number >= 2, got {dims_per_scalar}")
        self.dims_per_scalar = dims_per_scalar
        self.input_scale = input_scale
        half = dims_per_scalar // 2
        frequencies = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("frequencies", frequencies, persistent=False)

    def output_dim(self, num_scalars: int = CONDITION_DIM) -> int:
        """Embedding width for a vector of `num_scalars` scalars."""
        return num_scalars * self.dims_per_scalar

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        if values.ndim == 1:
            values = values.unsqueeze(0)
        angles = values.float().unsqueeze(-1) * self.input_scale * self.frequencies  # B x N x half
        embedding = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)  # B x N x dims
        return embedding.flatten(1)


class TimestepConditionEmbedding(nn.Module):
    """The official VRPSR embedding: each raw scalar of B x N (no rescaling) through diffusers'
    ``get_timestep_embedding`` ([sin, cos], ``downscale_freq_shift=1``), concatenated: B x (N * dims)."""

    def __init__(self, dims_per_scalar: int = 64):
        super().__init__()
        self.dims_per_scalar = dims_per_scalar

    def output_dim(self, num_scalars: int = CONDITION_DIM) -> int:
        return num_scalars * self.dims_per_scalar

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        from diffusers.models.embeddings import get_timestep_embedding

        return torch.cat(
            [
                get_timestep_embedding(
                    values[:, i].float(), self.dims_per_scalar, flip_sin_to_cos=False, downscale_freq_shift=1
                )
                for i in range(values.shape[1])
            ],
            dim=1,
        )


EMBEDDINGS = {"ours": SinusoidalEmbedding, "vrpsr": TimestepConditionEmbedding}


def embed_conditions(embedding: SinusoidalEmbedding, codecs: Sequence[str], bpps: Sequence[float]) -> torch.Tensor:
    """Convenience: embed a list of (codec, bpp) pairs into B x embedding.output_dim()."""
    vectors = torch.stack([condition_vector(c, b) for c, b in zip(codecs, bpps, strict=True)])
    return embedding(vectors.to(embedding.frequencies.device))
