"""VRPSR's vector condition on the UNet: c = [one-hot(3), value] -> (shift, scale) in every ResnetBlock2D.

Embedding ("vrpsr"): each of the 4 scalars, raw (no rescaling), through diffusers'
``get_timestep_embedding`` (64 dims: [sin, cos], ``downscale_freq_shift=1``), concatenated to 256.
Modulation ("vrpsr"): each block owns ``Linear(256, 4C)-SiLU-Linear(4C, 2C)`` (last layer zero) whose
output splits into (shift, scale), applied as ``h * (1 + scale) + shift`` to the block's conv2 output
before the residual sum: what the published ``ResnetBlock2DWithMeta`` computes. It is FiLM with
another MLP width and the other channel order, so it reuses film.py's hooks (on the LoRA wrappers).
"""

from __future__ import annotations

import torch
from torch import nn

from training.condition import EMBEDDINGS
from training.models.film import FilmController, _FilmHook, _output_channels, attach_film, resnet_blocks


def vrpsr_block_mlp(embed_dim: int, channels: int) -> nn.Sequential:
    mlp = nn.Sequential(nn.Linear(embed_dim, 4 * channels), nn.SiLU(), nn.Linear(4 * channels, 2 * channels))
    nn.init.zeros_(mlp[-1].weight)
    nn.init.zeros_(mlp[-1].bias)
    return mlp


class ShiftScaleController(FilmController):
    """film.py's controller with VRPSR's per-block MLPs (hidden 4C) and (shift, scale) order."""

    def __init__(self, embed_dim: int, block_names: list[str], channels: list[int]):
        super().__init__(embed_dim, block_names, channels, hidden_dim=1)
        self.mlps = nn.ModuleList(vrpsr_block_mlp(embed_dim, c) for c in channels)

    def modulation(self, index: int, features: torch.Tensor) -> torch.Tensor:
        if self._embedding is None:
            raise RuntimeError(f"condition on {self.block_names[index]!r}: call set_condition(embedding) first")
        embedding = self._embedding.to(device=features.device, dtype=self.mlps[index][0].weight.dtype)
        shift, scale = self.mlps[index](embedding).to(features.dtype).chunk(2, dim=1)
        return features * (1 + scale[:, :, None, None]) + shift[:, :, None, None]


def attach_shift_scale(module: nn.Module, embed_dim: int) -> ShiftScaleController:
    """Hook VRPSR's modulation into every ResnetBlock2D of `module` (after LoRA, like attach_film)."""
    blocks = resnet_blocks(module)
    controller = ShiftScaleController(
        embed_dim, [name for name, _ in blocks], [_output_channels(block.conv2) for _, block in blocks]
    )
    for index, (_, block) in enumerate(blocks):
        controller._handles.append(block.conv2.register_forward_hook(_FilmHook(controller, index)))
        controller.hooked_modules.append(block.conv2)
    return controller


def build_condition_path(
    unet: nn.Module, embedding: str, modulation: str, dims_per_scalar: int, num_scalars: int = 4
) -> tuple[nn.Module, FilmController | None]:
    """(embedding module, controller or None for modulation "none") as the settings name them."""
    embedder = EMBEDDINGS[embedding](dims_per_scalar)
    if modulation == "none":
        return embedder, None
    if modulation == "vrpsr":
        return embedder, attach_shift_scale(unet, embedder.output_dim(num_scalars))
    return embedder, attach_film(unet, embedder.output_dim(num_scalars))
