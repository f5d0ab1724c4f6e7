"""DEResNet, S3Diff's degradation estimator: a picture in [0, 1] -> 2 scores in (0, 1) (blur, noise).

One branch per score: a 3x3 conv, residual blocks without normalisation (conv-ReLU-conv plus the
input) in four stages of widths 64, 64, 64, 128 (two blocks each; a stride-2 conv after the third
stage), global average pooling, then Linear(128, 512)-ReLU-Linear(512, 1)-Sigmoid. Parameter names
follow the published ``de_net.pth`` (``conv_first.i``, ``body.i.j.conv1``, ``fc_degree.i.k``), so its
state dict loads unchanged. Frozen wherever it is used; it works on any picture size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlockNoBN(nn.Module):
    """x + conv2(relu(conv1(x)))."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


def _branch_body(widths: tuple[int, ...], blocks: tuple[int, ...], downscales: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for stage, (width, count, down) in enumerate(zip(widths, blocks, downscales, strict=True)):
        layers += [ResidualBlockNoBN(width) for _ in range(count)]
        following = widths[min(stage + 1, len(widths) - 1)]
        if down == 2:
            layers.append(nn.Conv2d(width, following, 3, 2, 1))
        elif down != 1:
            raise ValueError(f"DEResNet downscale must be 1 or 2, got {down}")
        elif stage < len(widths) - 1 and width != following:
            layers.append(nn.Conv2d(width, following, 3, 1, 1))
    return nn.Sequential(*layers)


class DEResNet(nn.Module):
    """picture (B x 3 x H x W in [0, 1]) -> degradation scores (B x num_degradation) in (0, 1)."""

    def __init__(
        self,
        num_degradation: int = 2,
        widths: tuple[int, ...] = (64, 64, 64, 128),
        blocks: tuple[int, ...] = (2, 2, 2, 2),
        downscales: tuple[int, ...] = (1, 1, 2, 1),
    ):
        super().__init__()
        self.conv_first = nn.ModuleList(nn.Conv2d(3, widths[0], 3, 1, 1) for _ in range(num_degradation))
        self.body = nn.ModuleList(_branch_body(widths, blocks, downscales) for _ in range(num_degradation))
        self.fc_degree = nn.ModuleList(
            nn.Sequential(nn.Linear(widths[-1], 512), nn.ReLU(), nn.Linear(512, 1), nn.Sigmoid())
            for _ in range(num_degradation)
        )

    def forward(self, picture: torch.Tensor) -> torch.Tensor:
        scores = []
        for first, body, head in zip(self.conv_first, self.body, self.fc_degree, strict=True):
            features = body(first(picture)).mean(dim=(2, 3))
            scores.append(head(features).squeeze(-1))
        return torch.stack(scores, dim=1)
