"""PSNR and SSIM on the luma Y and on RGB, the way the SR literature computes them.

Y is BT.601 limited-range luma from 8-bit RGB, kept in float (not rounded):
``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` (MATLAB ``rgb2ycbcr``, BasicSR ``rgb2ycbcr(y_only=True)``).
PSNR peak is 255 on both. SSIM is Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03,
L = 255, population statistics, averaged over the valid region (5 pixels cut from each border); RGB SSIM is the
mean of the three channel SSIMs. This equals scikit-image's ``structural_similarity(gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=255)`` (checked in the tests) at a fraction of its run time.
No border is shaved for PSNR and SSIM beyond that window cut (the images are the same size as the target).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from codec_bindings import psnr as psnr_rgb_uint8

_Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0
_WINDOW = cv2.getGaussianKernel(11, 1.5)
_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 limited-range Y of an RGB uint8 image, float64 in [16, 235]."""
    return 16.0 + rgb.astype(np.float64) @ _Y_WEIGHTS


def psnr_y(distorted: np.ndarray, reference: np.ndarray) -> float:
    mse = float(np.mean((luma(distorted) - luma(reference)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def psnr_rgb(distorted: np.ndarray, reference: np.ndarray) -> float:
    return psnr_rgb_uint8(reference, distorted)


def _ssim_plane(a: np.ndarray, b: np.ndarray) -> float:
    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.sepFilter2D(x, -1, _WINDOW, _WINDOW, borderType=cv2.BORDER_REFLECT)[5:-5, 5:-5]

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    covariance = blur(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + _C1) * (2 * covariance + _C2)) / ((mu_a**2 + mu_b**2 + _C1) * (var_a + var_b + _C2))
    return float(ssim_map.mean())


def ssim_y(distorted: np.ndarray, reference: np.ndarray) -> float:
    return _ssim_plane(luma(distorted), luma(reference))


def ssim_rgb(distorted: np.ndarray, reference: np.ndarray) -> float:
    a, b = distorted.astype(np.float64), reference.astype(np.float64)
    return float(np.mean([_ssim_plane(a[:, :, c], b[:, :, c]) for c in range(3)]))
