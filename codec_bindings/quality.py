"""Distortion of a decoded picture against its source."""

from __future__ import annotations

import math

import cv2
import numpy as np


def psnr(reference: np.ndarray, distorted: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB over all channels of two uint8 arrays of one shape (inf when identical)."""
    if reference.shape != distorted.shape:
        raise ValueError(f"psnr: shapes differ: {reference.shape} vs {distorted.shape}")
    squared_error = cv2.norm(np.ascontiguousarray(reference), np.ascontiguousarray(distorted), cv2.NORM_L2SQR)
    mse = squared_error / reference.size
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)
