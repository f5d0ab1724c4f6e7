"""A few-M-parameter conditional UNet simulator: CPU-trainable, and the "no pre-training" ablation.

Built from diffusers' ResnetBlock2D / Downsample2D / Upsample2D so that the codec condition enters
exactly as in the SD-Turbo simulator: the 4-D vector embedded per scalar (training/condition.py) and
FiLM after conv2 of every ResnetBlock2D (training/models/film.py). The prompt is not used (no text
encoder). The output is the input plus a predicted residual (zero-initialised last conv: the model
starts as the identity); it is not clamped, so gradients reach saturated pixels.
"""

from __future__ import annotations

import torch
from diffusers.models.resnet import Downsample2D, ResnetBlock2D, Upsample2D
from torch import nn

from training.condition import CODEC_NAMES, SinusoidalEmbedding, condition_dim
from training.models.film import attach_film


def _block(in_channels: int, out_channels: int, groups: int) -> ResnetBlock2D:
    return ResnetBlock2D(in_channels=in_channels, out_channels=out_channels, temb_channels=None, groups=groups)


class SmallSimulator(nn.Module):
    """f_theta(image in [-1, 1], condition B x 4, prompts ignored) -> simulated codec output."""

    def __init__(
        self,
        channels: tuple[int, ...] = (32, 64, 128),
        blocks_per_level: int = 2,
        dims_per_scalar: int = 64,
        groups: int = 8,
        codec_names: tuple[str, ...] = CODEC_NAMES,
    ):
        super().__init__()
        self.channels = tuple(channels)
        self.codec_names = tuple(codec_names)  # the one-hot's codecs: x264, x265, vvenc (+ the dataset's others)
        self.conv_in = nn.Conv2d(3, channels[0], 3, padding=1)
        self.down_blocks, self.downsamplers = nn.ModuleList(), nn.ModuleList()
        skip_channels, previous = [], channels[0]
        for level, width in enumerate(channels):
            blocks = nn.ModuleList()
            for _ in range(blocks_per_level):
                blocks.append(_block(previous, width, groups))
                previous = width
            self.down_blocks.append(blocks)
            skip_channels.append(width)
            last = level == len(channels) - 1
            downsample = Downsample2D(width, use_conv=True, padding=1, name="op")  # "op": no aliased conv weights
            self.downsamplers.append(nn.Identity() if last else downsample)
        self.mid_blocks = nn.ModuleList([_block(previous, previous, groups), _block(previous, previous, groups)])
        self.up_blocks, self.upsamplers = nn.ModuleList(), nn.ModuleList()
        for level, width in reversed(list(enumerate(channels))):
            self.up_blocks.append(
                nn.ModuleList(
                    [_block(previous + skip_channels[level], width, groups)]
                    + [_block(width, width, groups) for _ in range(blocks_per_level - 1)]
                )
            )
            self.upsamplers.append(nn.Identity() if level == 0 else Upsample2D(width, use_conv=True))
            previous = width
        self.conv_out = nn.Sequential(
            nn.GroupNorm(groups, channels[0]), nn.SiLU(), nn.Conv2d(channels[0], 3, 3, padding=1)
        )
        nn.init.zeros_(self.conv_out[-1].weight)
        nn.init.zeros_(self.conv_out[-1].bias)
        self.embedding = SinusoidalEmbedding(dims_per_scalar)
        self.film = attach_film(self, self.embedding.output_dim(condition_dim(self.codec_names)))

    @property
    def size_multiple(self) -> int:
        """Height and width must be multiples of this."""
        return 2 ** (len(self.channels) - 1)

    def forward(self, image: torch.Tensor, condition: torch.Tensor, prompts: list[str] | None = None) -> torch.Tensor:
        """image: B x 3 x H x W in [-1, 1]; condition: B x (codecs + 1) ([one-hot, bpp]); prompts are ignored."""
        if image.shape[-1] % self.size_multiple or image.shape[-2] % self.size_multiple:
            raise ValueError(f"image size {tuple(image.shape[-2:])} must be a multiple of {self.size_multiple}")
        self.film.set_condition(self.embedding(condition))
        hidden, skips = self.conv_in(image), []
        for blocks, downsample in zip(self.down_blocks, self.downsamplers, strict=True):
            for block in blocks:
                hidden = block(hidden, None)
            skips.append(hidden)
            hidden = downsample(hidden)
        for block in self.mid_blocks:
            hidden = block(hidden, None)
        for blocks, upsample in zip(self.up_blocks, self.upsamplers, strict=True):
            hidden = torch.cat([hidden, skips.pop()], dim=1)
            for block in blocks:
                hidden = block(hidden, None)
            hidden = upsample(hidden)
        return image + self.conv_out(hidden)
