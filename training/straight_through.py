"""The straight-through estimator of stage 2 (paper Table 5): the real codec forward, the simulator backward.

``straight_through(simulated, real)`` is X_hat = X_real + X_hat' - sg(X_hat') as a custom autograd function,
so the forward is the real codec's output bit for bit (the float expression is not) and the gradient is
the simulator's. ``real_codec_output`` encodes each picture with the real codec at its condition's rate.
"""

from __future__ import annotations

import numpy as np
import torch

from codec_bindings import match_rate
from training.condition import CODEC_NAMES


def real_codec_output(
    images: torch.Tensor, onehot: torch.Tensor, bpp: torch.Tensor, codec_names: tuple[str, ...] = CODEC_NAMES
) -> torch.Tensor:
    """The real codec's decoded output of each image (B x 3 x H x W in [0, 1]) at its condition: the
    picture is quantised to uint8 and encoded at the QP whose size is closest to bpp * H * W bits."""
    height, width = images.shape[-2:]
    pixels = (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    decoded = []
    for picture, index, rate in zip(pixels, onehot.argmax(dim=1).tolist(), bpp.reshape(-1).tolist(), strict=True):
        target_bits = max(1, round(float(rate) * height * width))
        decoded.append(match_rate(np.ascontiguousarray(picture), codec_names[index], target_bits).encoded.recon)
    return torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2).to(images.device, torch.float32) / 255.0


class _StraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, simulated: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        return real.to(simulated.dtype).clone()

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad_output, None


def straight_through(simulated: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """X_hat = X_real + X_hat' - sg(X_hat'): exactly `real` forward; the gradient goes to `simulated` unchanged."""
    if simulated.shape != real.shape:
        raise ValueError(f"straight-through: simulated {tuple(simulated.shape)} vs real {tuple(real.shape)}")
    return _StraightThrough.apply(simulated, real)
