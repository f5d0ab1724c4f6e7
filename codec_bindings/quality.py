"""Distortion of a decoded picture against its source."""
from __future__ import annotations

import numpy as np


def psnr(reference: np.ndarray, distorted: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB over all channels of two uint8 arrays of one shape (inf when identical)."""
    if reference.shape != distorted.shape:
        raise ValueError(f"psnr: shapes differ: {reference.shape} vs {distorted.shape}")
    mse = float(np.mean((reference.astype(np.float64) - distorted.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)
