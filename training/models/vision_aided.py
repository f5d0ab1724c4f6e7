"""S3Diff's GAN discriminator: vision-aided (Kumari et al., ``vision-aided-loss``), DINO ViT-B/16 + trained heads.

What ``vision_aided_loss.Discriminator(cv_type="dino", output_type="conv_multi_level",
loss_type=...)`` computes, written here because the package fetches DINO through
``torch.hub`` (code and weights downloaded at run time), which we never do:
  - DiffAugment (color, translation 1/8, cutout 1/2) on every image the discriminator sees;
  - pixels [-1, 1] -> [0, 1] -> 224 x 224 (area) -> normalised (the package's mean and std);
  - the frozen DINO ViT-B/16; of its last 8 blocks' normalised tokens, blocks 1, 5 and 8 (of those 8):
    patch tokens of the first two as 768 x 14 x 14 maps, the class token of the last;
  - per map: BlurPool, spectral-norm conv 3x3/2 (768 -> 128), LeakyReLU, BlurPool, conv 1x1/2 -> logits;
    for the class token: spectral-norm Linear(768, 128), LeakyReLU, Linear(128, 1);
  - the loss over the three logit levels is TrainConfig.gan_loss (training/gan_losses.py): S3Diff trains with
    the package's ``multilevel_sigmoid_s`` ("sigmoid-0.8": binary cross-entropy, label 0.8 for real and for
    the generator, 0 for fake; its D loss x 0.5); "hinge" (``multilevel_hinge``) stays the default when
    gan_loss is not given, as before it was a choice.
DINO's weights: ``dino_vitbase16_pretrain.pth`` (a plain state dict) in the torch hub cache's checkpoints/
folder, or a path given; FileNotFoundError naming it otherwise. Only the heads train and are saved.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from training.models.augment import diff_augment
from training.trainable import load_trainable_state_dict, trainable_state_dict

DINO_WEIGHTS = "dino_vitbase16_pretrain.pth"
MEAN, STD = (0.48145466, 0.4578275, 0.40821073), (0.229, 0.224, 0.225)


def dino_weights_file() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / DINO_WEIGHTS


class Block(nn.Module):
    """A pre-norm ViT block (DINO's names: norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.attn = nn.Module()
        self.attn.qkv, self.attn.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Module()
        self.mlp.fc1, self.mlp.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        qkv = (
            self.attn.qkv(self.norm1(x)).reshape(batch, tokens, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        )
        attended = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]).transpose(1, 2).reshape(batch, tokens, dim)
        x = x + self.attn.proj(attended)
        return x + self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm2(x))))


class DinoViT(nn.Module):
    """DINO's ViT (patch 16, 224 x 224 input): ViT-B/16 by default, smaller for tests."""

    def __init__(self, dim: int = 768, depth: int = 12, heads: int = 12, patch: int = 16, size: int = 224):
        super().__init__()
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + (size // patch) ** 2, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.dim, self.grid = dim, size // patch

    def last_layers(self, x: torch.Tensor, count: int) -> list[torch.Tensor]:
        """The normalised tokens after each of the last `count` blocks (DINO's get_intermediate_layers)."""
        tokens = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1) + self.pos_embed
        outputs = []
        for index, block in enumerate(self.blocks):
            tokens = block(tokens)
            if index >= len(self.blocks) - count:
                outputs.append(self.norm(tokens))
        return outputs


class BlurPool(nn.Module):
    """[1, 3, 3, 1]^2 / 64 blur per channel with zero padding 1 + pad_off (antialiased-cnns' BlurPool, stride 1)."""

    def __init__(self, channels: int, pad_off: int = 0):
        super().__init__()
        taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
        self.register_buffer("filt", (taps[:, None] * taps[None, :] / 64).expand(channels, 1, 4, 4).clone())
        self.padding = 1 + pad_off

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, [self.padding] * 4), self.filt, groups=x.shape[1])


def _map_head(dim: int, width: int = 128) -> nn.Sequential:
    return nn.Sequential(
        BlurPool(dim, pad_off=1),
        spectral_norm(nn.Conv2d(dim, width, 3, 2, 0)),
        nn.LeakyReLU(0.2),
        BlurPool(width),
        spectral_norm(nn.Conv2d(width, 1, 1, 2)),
    )


class VisionAidedDiscriminator(nn.Module):
    """image (B x 3 x H x W in [-1, 1]) -> 3 logit tensors (two B x h x w maps, B x 1 for the class token)."""

    def __init__(self, backbone: DinoViT | None = None, weights: str | Path | None = None, augment: bool = True):
        super().__init__()
        if backbone is None:
            backbone = DinoViT()
            file = Path(weights).expanduser() if weights else dino_weights_file()
            if not file.is_file():
                raise FileNotFoundError(
                    f"the vision-aided discriminator needs DINO ViT-B/16 weights at {file} "
                    f"({DINO_WEIGHTS}, facebookresearch/dino; nothing is downloaded), or use a weight-free "
                    "discriminator: --discriminator patch (or unet)"
                )
            backbone.load_state_dict(torch.load(file, map_location="cpu", weights_only=True))
        self.backbone = backbone.requires_grad_(False).eval()
        self.maps = nn.ModuleList(_map_head(backbone.dim) for _ in range(2))
        self.token = nn.Sequential(
            spectral_norm(nn.Linear(backbone.dim, 128)), nn.LeakyReLU(0.2), spectral_norm(nn.Linear(128, 1))
        )
        self.augment = augment
        self.register_buffer("mean", torch.tensor(MEAN)[:, None, None], persistent=False)
        self.register_buffer("std", torch.tensor(STD)[:, None, None], persistent=False)

    def requires_grad_(self, requires_grad: bool = True) -> VisionAidedDiscriminator:
        """Only the heads ever train: the DINO backbone stays frozen whatever the loop toggles."""
        self.maps.requires_grad_(requires_grad)
        self.token.requires_grad_(requires_grad)
        return self

    def train(self, mode: bool = True) -> VisionAidedDiscriminator:
        super().train(mode)
        self.backbone.eval()
        return self

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        if self.augment:
            image = diff_augment(image)
        size = self.backbone.grid * self.backbone.patch_embed.proj.kernel_size[0]
        x = (F.interpolate(image * 0.5 + 0.5, size=(size, size), mode="area") - self.mean) / self.std
        layers = self.backbone.last_layers(x.to(self.backbone.cls_token.dtype), 8)
        chosen = [layers[0], layers[4], layers[-1]]
        grid = self.backbone.grid
        maps = [
            tokens[:, 1:].transpose(1, 2).reshape(-1, self.backbone.dim, grid, grid).float() for tokens in chosen[:2]
        ]
        return [head(m).squeeze(1) for head, m in zip(self.maps, maps, strict=True)] + [
            self.token(chosen[2][:, 0].float())
        ]

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """The heads only (the DINO backbone is a pretrained file)."""
        return trainable_state_dict(self)

    def load_trainable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        load_trainable_state_dict(self, state)
