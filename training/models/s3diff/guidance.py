"""From 2 degradation scores to one r x r LoRA matrix per block (S3Diff's de / block / fuse MLPs).

    scores (B x 2) --Fourier, fixed random W (64)--> [sin, cos] per score (B x 256)
        --de_mlp: Linear(256, 256)-ReLU--> degradation code (B x 256)
    block embedding (n x 64) --block_mlp: Linear(64, 64)-ReLU--> block code (n x 64)
    [degradation code, block code] --fuse_mlp: Linear(320, r * r)--> M (B x n x r x r)

separately for the VAE encoder (rank 16, 6 blocks) and the UNet (rank 32, 10 blocks). W is a fixed
buffer (part of the published checkpoint, never trained); the MLPs and block embeddings train. The
MLPs start near zero (Kaiming-normal weights x 1e-5, zero biases), as in S3Diff.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from training.models.s3diff.lora import UNET_BLOCKS, VAE_BLOCKS

NUM_SCORES = 2


def _small_init(modules: list[nn.Module], scale: float = 1e-5) -> None:
    for module in modules:
        for layer in module.modules():
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_normal_(layer.weight)
                layer.weight.data.mul_(scale)
                nn.init.zeros_(layer.bias)


class DegradationGuidance(nn.Module):
    """scores B x 2 -> (VAE matrices B x 6 x rv x rv, UNet matrices B x 10 x ru x ru)."""

    def __init__(self, vae_rank: int = 16, unet_rank: int = 32, fourier_dim: int = 64, block_dim: int = 64):
        super().__init__()
        self.vae_rank, self.unet_rank = vae_rank, unet_rank
        self.register_buffer("fourier_basis", torch.randn(fourier_dim))
        code_dim = 2 * fourier_dim * NUM_SCORES
        self.vae_de_mlp = nn.Sequential(nn.Linear(code_dim, 256), nn.ReLU())
        self.unet_de_mlp = nn.Sequential(nn.Linear(code_dim, 256), nn.ReLU())
        self.vae_block_mlp = nn.Sequential(nn.Linear(block_dim, 64), nn.ReLU())
        self.unet_block_mlp = nn.Sequential(nn.Linear(block_dim, 64), nn.ReLU())
        self.vae_fuse_mlp = nn.Linear(256 + 64, vae_rank**2)
        self.unet_fuse_mlp = nn.Linear(256 + 64, unet_rank**2)
        _small_init(
            [
                self.vae_de_mlp,
                self.unet_de_mlp,
                self.vae_block_mlp,
                self.unet_block_mlp,
                self.vae_fuse_mlp,
                self.unet_fuse_mlp,
            ]
        )
        self.vae_block_embeddings = nn.Embedding(VAE_BLOCKS, block_dim)
        self.unet_block_embeddings = nn.Embedding(UNET_BLOCKS, block_dim)

    def fourier_features(self, scores: torch.Tensor) -> torch.Tensor:
        """B x 2 -> B x 256: [sin, cos](2 pi s W) of the first score, then of the second."""
        angles = scores.float()[..., None] * self.fourier_basis[None, None, :] * 2 * math.pi
        features = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)  # B x 2 x 128
        return features.flatten(1)

    @staticmethod
    def _fuse(code: torch.Tensor, blocks: torch.Tensor, fuse: nn.Linear, rank: int) -> torch.Tensor:
        batch, count = code.shape[0], blocks.shape[0]
        joined = torch.cat([code[:, None, :].expand(batch, count, -1), blocks[None].expand(batch, -1, -1)], dim=-1)
        return fuse(joined).reshape(batch, count, rank, rank)

    def forward(self, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.fourier_features(scores)
        vae = self._fuse(
            self.vae_de_mlp(features),
            self.vae_block_mlp(self.vae_block_embeddings.weight),
            self.vae_fuse_mlp,
            self.vae_rank,
        )
        unet = self._fuse(
            self.unet_de_mlp(features),
            self.unet_block_mlp(self.unet_block_embeddings.weight),
            self.unet_fuse_mlp,
            self.unet_rank,
        )
        return vae, unet
