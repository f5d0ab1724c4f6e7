"""The published S3Diff ``save_model`` layout (s3diff.pkl, and VRPSR's S3DiffMetaEmbed files) -> our names.

A published file is a dict:
  rank_unet, rank_vae, unet_lora_target_modules, vae_lora_target_modules
  state_dict_unet   UNet LoRA factors ("<layer>.lora_A.<adapter>.weight"), conv_in, and in VRPSR's
                    files the condition MLPs ("<block>.mlp.0.weight", "<block>.mlp.2.bias", ...)
  state_dict_vae    VAE encoder LoRA factors ("encoder.<layer>.lora_B.vae_skip.weight")
  state_dict_{vae,unet}_{de,block,fuse}_mlp, w (the Fourier basis), state_embeddings
                    ({state_dict_vae_block, state_dict_unet_block})
Ours: unet.<layer>.lora_A.weight, vae.encoder.<layer>.lora_B.weight, unet.conv_in.*, film.mlps.<i>.*
(i = the block's position in the model's ResnetBlock2D order), degradation.<mlp>.*, degradation.fourier_basis,
degradation.<vae|unet>_block_embeddings.weight.
"""

from __future__ import annotations

import re

import torch

from training.checkpoint_import.common import PublishedFileError, tensors_of
from training.models.s3diff.lora import UNET_TARGETS, VAE_TARGETS

LORA_KEY = re.compile(r"^(?P<layer>.+)\.lora_(?P<factor>[AB])\.[^.]+\.weight$")
CONDITION_KEY = re.compile(r"^(?P<block>.+)\.mlp\.(?P<rest>\d+\.(weight|bias))$")
MLP_SECTIONS = ("vae_de_mlp", "unet_de_mlp", "vae_block_mlp", "unet_block_mlp", "vae_fuse_mlp", "unet_fuse_mlp")


def check_architecture(published: dict, source: str, unet_rank: int, vae_rank: int) -> None:
    """The file's ranks and LoRA target lists must be the published S3Diff ones our model builds."""
    for key in (
        "rank_unet",
        "rank_vae",
        "unet_lora_target_modules",
        "vae_lora_target_modules",
        "state_dict_unet",
        "state_dict_vae",
        "w",
        "state_embeddings",
        *(f"state_dict_{name}" for name in MLP_SECTIONS),
    ):
        if key not in published:
            raise PublishedFileError(
                f"{source} has no {key!r}: not an S3Diff / VRPSR save_model file (keys: {sorted(published)[:12]})"
            )
    if (int(published["rank_unet"]), int(published["rank_vae"])) != (unet_rank, vae_rank):
        raise PublishedFileError(
            f"{source}: LoRA ranks unet {published['rank_unet']} / vae {published['rank_vae']}, "
            f"the model has {unet_rank} / {vae_rank}"
        )
    if sorted(published["unet_lora_target_modules"]) != sorted(UNET_TARGETS):
        raise PublishedFileError(
            f"{source}: UNet LoRA targets {published['unet_lora_target_modules']} differ "
            f"from S3Diff's {list(UNET_TARGETS)}"
        )
    if published["vae_lora_target_modules"] != VAE_TARGETS:
        raise PublishedFileError(
            f"{source}: VAE LoRA targets {published['vae_lora_target_modules']!r} differ from S3Diff's {VAE_TARGETS!r}"
        )


def _lora_or_plain(name: str, prefix: str) -> str:
    match = LORA_KEY.match(name)
    if match:
        return f"{prefix}{match['layer']}.lora_{match['factor']}.weight"
    return prefix + name


def map_published(published: dict, source: str, condition_blocks: list[str]) -> dict[str, torch.Tensor]:
    """Every tensor of a published file under our name; `condition_blocks`: the model's ResnetBlock2D
    names in order (where VRPSR's ``<block>.mlp.*`` go). Unknown names are kept as they are, so that
    the key check that follows reports them."""
    mapped: dict[str, torch.Tensor] = {}
    positions = {name: index for index, name in enumerate(condition_blocks)}
    for name, tensor in tensors_of(published["state_dict_unet"], f"{source}: state_dict_unet").items():
        condition = CONDITION_KEY.match(name)
        if condition and "lora_" not in name:
            if condition["block"] not in positions:
                raise PublishedFileError(
                    f"{source}: condition MLP of {condition['block']!r}, which is not a ResnetBlock2D of this UNet"
                )
            mapped[f"film.mlps.{positions[condition['block']]}.{condition['rest']}"] = tensor
        else:
            mapped[_lora_or_plain(name, "unet.")] = tensor
    for name, tensor in tensors_of(published["state_dict_vae"], f"{source}: state_dict_vae").items():
        mapped[_lora_or_plain(name, "vae.")] = tensor
    for section in MLP_SECTIONS:
        for name, tensor in tensors_of(published[f"state_dict_{section}"], f"{source}: state_dict_{section}").items():
            mapped[f"degradation.{section}.{name}"] = tensor
    basis = published["w"]
    if not isinstance(basis, torch.Tensor):
        raise PublishedFileError(f"{source}: 'w' is not a tensor")
    mapped["degradation.fourier_basis"] = basis.detach().clone()
    embeddings = published["state_embeddings"]
    for part in ("vae", "unet"):
        section = tensors_of(
            embeddings.get(f"state_dict_{part}_block") if isinstance(embeddings, dict) else None,
            f"{source}: state_embeddings.state_dict_{part}_block",
        )
        for name, tensor in section.items():
            mapped[f"degradation.{part}_block_embeddings.{name}"] = tensor
    return mapped
