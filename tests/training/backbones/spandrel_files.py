"""Tiny published-style .pth files made with spandrel's own architecture classes (random weights)."""

from __future__ import annotations

from pathlib import Path

import torch
from spandrel.architectures.Compact import Compact
from spandrel.architectures.ESRGAN import ESRGAN
from spandrel.architectures.SwinIR import SwinIR

TINY = {
    "ESRGAN": lambda: ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=4),
    "Compact": lambda: Compact(num_feat=8, num_conv=2, upscale=4),
    "SwinIR": lambda: SwinIR(
        img_size=16,
        embed_dim=12,
        depths=[1],
        num_heads=[2],
        window_size=4,
        mlp_ratio=2.0,
        upscale=4,
        upsampler="pixelshuffledirect",
    ),
}


def spandrel_file(architecture: str, folder: Path, seed: int = 0) -> Path:
    """FOLDER/ARCHITECTURE.pth: the state dict of a tiny random network of that architecture, as published
    files hold it (Real-ESRGAN's under 'params_ema')."""
    torch.manual_seed(seed)
    path = folder / f"{architecture}.pth"
    state = TINY[architecture]().state_dict()
    torch.save({"params_ema": state} if architecture == "Compact" else state, path)
    return path
