"""DiffAugment (Zhao et al. 2020), policy "color,translation,cutout": what the vision-aided discriminator
applies to every picture it sees. Differentiable, per-sample random; images B x C x H x W in any range."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _color(x: torch.Tensor) -> torch.Tensor:
    def uniform() -> torch.Tensor:
        return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device)

    x = x + (uniform() - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (uniform() * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (uniform() + 0.5) + mean  # contrast


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each picture by up to ratio of its size, filling with zeros."""
    batch, _, height, width = x.shape
    shift_y, shift_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = torch.randint(-shift_y, shift_y + 1, (batch, 1, 1), device=x.device)
    dx = torch.randint(-shift_x, shift_x + 1, (batch, 1, 1), device=x.device)
    rows = (torch.arange(height, device=x.device)[None, :, None] + dy + 1).clamp(0, height + 1)
    cols = (torch.arange(width, device=x.device)[None, None, :] + dx + 1).clamp(0, width + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    index = torch.arange(batch, device=x.device)[:, None, None]
    return padded[index, rows, cols].permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of half the size at a random place per picture."""
    batch, _, height, width = x.shape
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    top = torch.randint(0, height + (1 - size_y % 2), (batch, 1, 1), device=x.device) - size_y // 2
    left = torch.randint(0, width + (1 - size_x % 2), (batch, 1, 1), device=x.device) - size_x // 2
    rows = torch.arange(height, device=x.device)[None, :, None]
    cols = torch.arange(width, device=x.device)[None, None, :]
    inside = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)
    return x * (~inside).to(x.dtype)[:, None]


def diff_augment(x: torch.Tensor) -> torch.Tensor:
    return _cutout(_translation(_color(x))).contiguous()
