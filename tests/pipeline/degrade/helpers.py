"""Helpers shared by the degradation tests (pipeline.degrade, pipeline.degrade_kernels)."""

from __future__ import annotations

import math

import numpy as np

KERNEL_KEYS = ("kernel_type", "kernel_size", "sigma_x", "sigma_y", "angle", "beta", "omega_c")


def center_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    return np.ascontiguousarray(image[top : top + height, left : left + width])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10.0 * math.log10(255.0**2 / mse)


def within_binomial(count: int, trials: int, prob: float, sigmas: float = 4.5) -> bool:
    return abs(count - trials * prob) <= sigmas * math.sqrt(trials * prob * (1 - prob)) + 1
