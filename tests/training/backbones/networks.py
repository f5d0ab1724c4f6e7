"""Two small SR networks of a user's own, for the py: backbone tests: picture-only, and condition-aware."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PictureOnlyNet(nn.Module):
    """forward(lq) -> x4 SR: conv - ReLU - conv to 48 channels - pixel shuffle, plus the nearest upsampled input."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.tail = nn.Conv2d(width, 3 * 16, 3, padding=1)

    def forward(self, lq: torch.Tensor) -> torch.Tensor:
        return F.interpolate(lq, scale_factor=4, mode="nearest") + F.pixel_shuffle(self.tail(F.relu(self.head(lq))), 4)


class ConditionAwareNet(nn.Module):
    """forward(lq, condition) -> x4 SR; the (B, 4) condition scales the features per channel itself."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.condition_scale = nn.Linear(4, width)
        self.tail = nn.Conv2d(width, 3 * 16, 3, padding=1)

    def forward(self, lq: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        features = F.relu(self.head(lq)) * (1 + self.condition_scale(condition))[:, :, None, None]
        return F.interpolate(lq, scale_factor=4, mode="nearest") + F.pixel_shuffle(self.tail(features), 4)
