"""Colour correction toward the low-quality input, as the published S3Diff and VRPSR evaluations do.

Diffusion SR drifts in colour; both public evaluations pull the output's colours back to the input's:
  adain    per channel, the output's mean and standard deviation are set to the reference's
           (unbiased variance + 1e-5, as the public code);
  wavelet  the output's high frequencies (5 levels of a dilated 3 x 3 binomial blur, replicate
           padding) plus the reference's low frequencies.
The reference is the LQ input upsampled to the output size. Pictures are H x W x 3 uint8; the float
result is clamped to [0, 1] and quantised as torchvision's ToPILImage does (x 255, truncated), so the
bytes equal what the public scripts save.

Where it is applied is part of the protocol (EvalConfig.color_fix_at):
  "decoded"  to the codec's decoded output, before the metrics: the official VRPSR inference
             (``--align_method adain``, its default), i.e. what reproduces the published numbers;
  "sr"       to the SR output before it is encoded: what a deployment can actually do (the viewer's
             decoder does not correct colours), and what S3Diff's inference does (no codec there).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

COLOR_FIXES = ("none", "adain", "wavelet")
COLOR_FIX_STAGES = ("decoded", "sr")
WAVELET_LEVELS = 5
_BINOMIAL = ((0.0625, 0.125, 0.0625), (0.125, 0.25, 0.125), (0.0625, 0.125, 0.0625))


def _to_tensor(picture: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(picture)).permute(2, 0, 1)[None].float() / 255


def _to_picture(tensor: torch.Tensor) -> np.ndarray:
    return (tensor[0].clamp(0, 1) * 255).to(torch.uint8).permute(1, 2, 0).numpy()


def _mean_std(tensor: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    flat = tensor.flatten(2)
    return flat.mean(dim=2)[..., None, None], (flat.var(dim=2) + eps).sqrt()[..., None, None]


def adain(content: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """content with each channel's mean and std replaced by the reference's (B x C x H x W)."""
    content_mean, content_std = _mean_std(content)
    reference_mean, reference_std = _mean_std(reference)
    return (content - content_mean) / content_std * reference_std + reference_mean


def _blur(tensor: torch.Tensor, dilation: int) -> torch.Tensor:
    channels = tensor.shape[1]
    kernel = torch.tensor(_BINOMIAL, dtype=tensor.dtype, device=tensor.device)[None, None].repeat(channels, 1, 1, 1)
    padded = F.pad(tensor, (dilation,) * 4, mode="replicate")
    return F.conv2d(padded, kernel, groups=channels, dilation=dilation)


def wavelet_split(tensor: torch.Tensor, levels: int = WAVELET_LEVELS) -> tuple[torch.Tensor, torch.Tensor]:
    """(high, low) frequencies: low is the picture blurred at dilations 1, 2, 4, ...; high + low = input."""
    high = torch.zeros_like(tensor)
    low = tensor
    for level in range(levels):
        blurred = _blur(low, 2**level)
        high = high + (low - blurred)
        low = blurred
    return high, low


def wavelet(content: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """content's high frequencies over the reference's low frequencies."""
    return wavelet_split(content)[0] + wavelet_split(reference)[1]


def color_fix(picture: np.ndarray, reference: np.ndarray, method: str) -> np.ndarray:
    """`picture` (H x W x 3 uint8) with its colours pulled toward `reference` (same shape) by `method`."""
    if method not in COLOR_FIXES:
        raise ValueError(f"unknown colour fix {method!r}; choose one of {', '.join(COLOR_FIXES)}")
    if method == "none":
        return picture
    if picture.shape != reference.shape or picture.ndim != 3 or picture.shape[2] != 3:
        raise ValueError(
            f"colour fix needs two H x W x 3 pictures of one size, got {picture.shape} and {reference.shape}"
        )
    fix = adain if method == "adain" else wavelet
    with torch.no_grad():
        return _to_picture(fix(_to_tensor(picture), _to_tensor(reference)))
