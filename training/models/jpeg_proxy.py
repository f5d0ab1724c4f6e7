"""A differentiable JPEG proxy simulator (paper Table 6), rate-matched to the condition's bpp.

    RGB -> YCbCr (JFIF, full range) -> 4:2:0 chroma (2x2 mean) -> 8x8 DCT -> quantise with the IJG tables
    at quality q -> dequantise -> inverse DCT -> chroma upsampled (nearest) -> RGB

Rounding is straight-through (forward: round; backward: identity), or "cubic" soft rounding
(round(x) + (x - round(x))^3, Shin & Song 2017). The quality of each picture is searched (bisection over
the integers 1..100, no gradient) so that the estimated rate matches the condition's bpp: the largest
quality whose estimate is at most the target. The rate estimate counts what baseline JPEG's Huffman
coding spends: per non-zero coefficient its size category plus ~4 bits of run/size code, per block an
end-of-block code (see `estimate_bits`); codec one-hot and prompt are ignored. No trainable weights.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# ITU-T T.81 Annex K tables (quality 50), row-major
LUMA_TABLE = (
    16,
    11,
    10,
    16,
    24,
    40,
    51,
    61,
    12,
    12,
    14,
    19,
    26,
    58,
    60,
    55,
    14,
    13,
    16,
    24,
    40,
    57,
    69,
    56,
    14,
    17,
    22,
    29,
    51,
    87,
    80,
    62,
    18,
    22,
    37,
    56,
    68,
    109,
    103,
    77,
    24,
    35,
    55,
    64,
    81,
    104,
    113,
    92,
    49,
    64,
    78,
    87,
    103,
    121,
    120,
    101,
    72,
    92,
    95,
    98,
    112,
    100,
    103,
    99,
)
CHROMA_TABLE = (
    17,
    18,
    24,
    47,
    99,
    99,
    99,
    99,
    18,
    21,
    26,
    66,
    99,
    99,
    99,
    99,
    24,
    26,
    56,
    99,
    99,
    99,
    99,
    99,
    47,
    66,
    99,
    99,
    99,
    99,
    99,
    99,
) + (99,) * 32
RGB_TO_YCBCR = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))
ROUNDINGS = ("straight-through", "cubic")
BITS_PER_NONZERO = 4.0  # run/size Huffman code, on top of the amplitude bits
BITS_PER_BLOCK = 4.0  # end of block


def dct_matrix() -> torch.Tensor:
    """The orthonormal 8-point DCT-II matrix D (coefficients = D @ block @ D.T)."""
    n = torch.arange(8, dtype=torch.float64)
    matrix = torch.cos((2 * n[None, :] + 1) * n[:, None] * math.pi / 16) * math.sqrt(2 / 8)
    matrix[0] /= math.sqrt(2)
    return matrix.float()


def quality_tables(quality: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """IJG scaling: quality (B) in 1..100 -> B x 64 quantisation steps in 1..255."""
    quality = quality.clamp(1, 100).float()
    scale = torch.where(quality < 50, 5000 / quality, 200 - 2 * quality)
    return torch.floor((base[None] * scale[:, None] + 50) / 100).clamp(1, 255)


def estimate_bits(levels: torch.Tensor) -> torch.Tensor:
    """Estimated baseline-JPEG bits of quantised levels (B x blocks x 64, integers) per picture (B)."""
    magnitude = levels.abs()
    nonzero = magnitude > 0
    size_bits = torch.where(nonzero, torch.floor(torch.log2(magnitude.clamp_min(1))) + 1, torch.zeros_like(magnitude))
    return (size_bits + BITS_PER_NONZERO * nonzero).sum(dim=(1, 2)) + BITS_PER_BLOCK * levels.shape[1]


class JpegProxy(nn.Module):
    """f(image in [-1, 1], condition B x 4, prompts ignored) -> its JPEG-like version at the condition's bpp."""

    size_multiple = 16  # 8x8 blocks of 4:2:0 chroma

    def __init__(self, rounding: str = "straight-through", search_steps: int = 7):
        super().__init__()
        if rounding not in ROUNDINGS:
            raise ValueError(f"unknown rounding {rounding!r}; choose one of {', '.join(ROUNDINGS)}")
        self.rounding, self.search_steps = rounding, search_steps
        self.register_buffer("dct", dct_matrix(), persistent=False)
        self.register_buffer("luma_table", torch.tensor(LUMA_TABLE, dtype=torch.float32), persistent=False)
        self.register_buffer("chroma_table", torch.tensor(CHROMA_TABLE, dtype=torch.float32), persistent=False)
        self.register_buffer("rgb_to_ycbcr", torch.tensor(RGB_TO_YCBCR), persistent=False)
        self.last_quality: torch.Tensor | None = None  # the qualities the last forward used (B), for reports

    def round(self, values: torch.Tensor) -> torch.Tensor:
        rounded = torch.round(values)
        if self.rounding == "cubic":
            return rounded.detach() + (values - rounded.detach()) ** 3
        return values + (rounded - values).detach()

    def blocks(self, plane: torch.Tensor) -> torch.Tensor:
        """B x H x W -> DCT coefficients B x blocks x 64."""
        tiles = F.unfold(plane[:, None] - 128, 8, stride=8).transpose(1, 2).reshape(plane.shape[0], -1, 8, 8)
        return (self.dct @ tiles @ self.dct.T).flatten(2)

    def planes(self, coefficients: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """B x blocks x 64 -> B x H x W pixels."""
        tiles = self.dct.T @ coefficients.reshape(*coefficients.shape[:2], 8, 8) @ self.dct
        return F.fold(tiles.flatten(2).transpose(1, 2), size, 8, stride=8)[:, 0] + 128

    def forward(
        self, image: torch.Tensor, condition: torch.Tensor, prompts: list[str] | None = None, return_rate: bool = False
    ):
        height, width = image.shape[-2:]
        if height % self.size_multiple or width % self.size_multiple:
            raise ValueError(f"image size {(height, width)} must be a multiple of {self.size_multiple}")
        pixels = (image.float() + 1) * 127.5
        ycbcr = torch.einsum("ij,bjhw->bihw", self.rgb_to_ycbcr, pixels)
        luma, chroma = ycbcr[:, 0], F.avg_pool2d(ycbcr[:, 1:], 2) + 128
        coefficients = [self.blocks(luma), self.blocks(chroma[:, 0]), self.blocks(chroma[:, 1])]
        tables = (self.luma_table, self.chroma_table, self.chroma_table)
        target_bits = condition[:, -1].float().clamp_min(0) * height * width
        quality = self.search_quality(coefficients, tables, target_bits)
        self.last_quality = quality
        steps = [quality_tables(quality, table)[:, None] for table in tables]
        levels = [self.round(c / s) for c, s in zip(coefficients, steps, strict=True)]
        bits = sum(estimate_bits(torch.round(level.detach())) for level in levels)
        luma = self.planes(levels[0] * steps[0], (height, width))
        chroma = torch.stack([self.planes(levels[i] * steps[i], (height // 2, width // 2)) for i in (1, 2)], 1)
        chroma = F.interpolate(chroma - 128, scale_factor=2, mode="nearest")
        rgb = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(self.rgb_to_ycbcr), torch.cat([luma[:, None], chroma], 1))
        output = (rgb / 127.5 - 1).to(image.dtype)
        return (output, bits / (height * width)) if return_rate else output

    @torch.no_grad()
    def search_quality(
        self, coefficients: list[torch.Tensor], tables: tuple[torch.Tensor, ...], target_bits: torch.Tensor
    ) -> torch.Tensor:
        """Per picture, the largest quality in 1..100 whose estimated bits are <= the target (else 1)."""
        low = torch.ones_like(target_bits)  # always allowed
        high = torch.full_like(target_bits, 100.0)
        for _ in range(self.search_steps + 1):
            middle = torch.ceil((low + high) / 2)
            bits = sum(
                estimate_bits(torch.round(c.detach() / quality_tables(middle, t)[:, None]))
                for c, t in zip(coefficients, tables, strict=True)
            )
            fits = bits <= target_bits
            low = torch.where(fits, middle, low)
            high = torch.where(fits, high, middle - 1)
        return low
