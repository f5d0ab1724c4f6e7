"""Real-ESRGAN's UNetDiscriminatorSN for the GAN term (built by name in training/models/build.py).

UNetDiscriminatorSN: a U-Net of spectral-normalised convs (three stride-2 downsamplings, three bilinear
x2 upsamplings with skip sums) that returns one logit per pixel, so the adversarial signal is local.
Input height and width must be multiples of 8. Parameter names follow Real-ESRGAN's (conv0 ... conv9);
spectral norm is torch's parametrization, so its state-dict keys are ``convN.parametrizations.weight.*``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class UNetDiscriminatorSN(nn.Module):
    """image (B x num_in_ch x H x W, H and W multiples of 8) -> logits B x 1 x H x W."""

    def __init__(self, num_in_ch: int = 3, num_feat: int = 64, skip_connection: bool = True):
        super().__init__()
        self.skip_connection = skip_connection

        def normed(in_channels: int, out_channels: int, kernel: int, stride: int) -> nn.Module:
            return spectral_norm(nn.Conv2d(in_channels, out_channels, kernel, stride, 1, bias=False))

        self.conv0 = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.conv1 = normed(num_feat, num_feat * 2, 4, 2)  # down
        self.conv2 = normed(num_feat * 2, num_feat * 4, 4, 2)
        self.conv3 = normed(num_feat * 4, num_feat * 8, 4, 2)
        self.conv4 = normed(num_feat * 8, num_feat * 4, 3, 1)  # up
        self.conv5 = normed(num_feat * 4, num_feat * 2, 3, 1)
        self.conv6 = normed(num_feat * 2, num_feat, 3, 1)
        self.conv7 = normed(num_feat, num_feat, 3, 1)  # head
        self.conv8 = normed(num_feat, num_feat, 3, 1)
        self.conv9 = nn.Conv2d(num_feat, 1, 3, 1, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.shape[-1] % 8 or image.shape[-2] % 8:
            raise ValueError(f"UNetDiscriminatorSN: image size {tuple(image.shape[-2:])} must be a multiple of 8")
        x0 = F.leaky_relu(self.conv0(image), 0.2)
        x1 = F.leaky_relu(self.conv1(x0), 0.2)
        x2 = F.leaky_relu(self.conv2(x1), 0.2)
        x3 = F.leaky_relu(self.conv3(x2), 0.2)
        hidden = x3
        for conv, skip in ((self.conv4, x2), (self.conv5, x1), (self.conv6, x0)):
            hidden = F.interpolate(hidden, scale_factor=2, mode="bilinear", align_corners=False)
            hidden = F.leaky_relu(conv(hidden), 0.2)
            if self.skip_connection:
                hidden = hidden + skip
        hidden = F.leaky_relu(self.conv7(hidden), 0.2)
        hidden = F.leaky_relu(self.conv8(hidden), 0.2)
        return self.conv9(hidden)
