"""Blur kernels of the Real-ESRGAN degradation, written on numpy.

Each kernel is an odd ``size x size`` float64 array that sums to 1, indexed
``[row, col]`` = ``[y, x]`` with the origin at the centre. Gaussian-family
kernels take ``sigma_x``/``sigma_y`` along the kernel's own axes before a
rotation by ``angle`` (radians); isotropic kernels are ``sigma_y == sigma_x``.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

KERNEL_TYPES: tuple[str, ...] = (
    "iso",
    "aniso",
    "generalized_iso",
    "generalized_aniso",
    "plateau_iso",
    "plateau_aniso",
)
KERNEL_PROBS: tuple[float, ...] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
ISOTROPIC_TYPES = frozenset({"iso", "generalized_iso", "plateau_iso"})
MIN_KERNEL_SIZE = 7
_J1_QUADRATURE_POINTS = 256


class BlurRanges(Protocol):
    """What ``sample_blur_kernel`` reads from a degradation stage."""

    kernel_size: int
    kernel_types: tuple[str, ...]
    kernel_probs: tuple[float, ...]
    sigma_range: tuple[float, float]
    betag_range: tuple[float, float]
    betap_range: tuple[float, float]
    sinc_prob: float


def _check_size(kernel_size: int) -> None:
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd integer, got {kernel_size}")


def _quadratic_form(kernel_size: int, sigma_x: float, sigma_y: float, angle: float) -> np.ndarray:
    """``d = p^T S^-1 p`` at every grid point p = (x, y), S = R diag(sx^2, sy^2) R^T."""
    _check_size(kernel_size)
    if sigma_x <= 0 or sigma_y <= 0:
        raise ValueError(f"sigmas must be positive, got ({sigma_x}, {sigma_y})")
    half = kernel_size // 2
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float64)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    covariance = rotation @ np.diag([sigma_x**2, sigma_y**2]) @ rotation.T
    inv = np.linalg.inv(covariance)
    return inv[0, 0] * xx * xx + 2.0 * inv[0, 1] * xx * yy + inv[1, 1] * yy * yy


def _normalised(kernel: np.ndarray) -> np.ndarray:
    return kernel / kernel.sum()


def gaussian_kernel(kernel_size: int, sigma_x: float, sigma_y: float, angle: float = 0.0) -> np.ndarray:
    """Bivariate Gaussian: ``exp(-d / 2)``."""
    return _normalised(np.exp(-0.5 * _quadratic_form(kernel_size, sigma_x, sigma_y, angle)))


def generalized_gaussian_kernel(
    kernel_size: int, sigma_x: float, sigma_y: float, angle: float, beta: float
) -> np.ndarray:
    """Generalized Gaussian: ``exp(-d**beta / 2)``; beta = 1 is the Gaussian."""
    d = _quadratic_form(kernel_size, sigma_x, sigma_y, angle)
    return _normalised(np.exp(-0.5 * np.power(d, beta)))


def plateau_kernel(kernel_size: int, sigma_x: float, sigma_y: float, angle: float, beta: float) -> np.ndarray:
    """Plateau-shaped kernel: ``1 / (1 + d**beta)``."""
    d = _quadratic_form(kernel_size, sigma_x, sigma_y, angle)
    return _normalised(1.0 / (np.power(d, beta) + 1.0))


def bessel_j1(x: np.ndarray) -> np.ndarray:
    """Bessel J1 by the trapezoid rule on ``(1/2pi) int_0^2pi cos(t - x sin t) dt`` (exact to ~1e-15 for |x| < 100)."""
    x = np.asarray(x, dtype=np.float64)
    t = np.linspace(0.0, 2.0 * math.pi, _J1_QUADRATURE_POINTS, endpoint=False)
    return np.cos(t - x[..., None] * np.sin(t)).mean(axis=-1)


def sinc_kernel(kernel_size: int, omega_c: float) -> np.ndarray:
    """Circular low-pass (2-D sinc) kernel with cut-off ``omega_c`` in radians per pixel."""
    _check_size(kernel_size)
    if not 0 < omega_c <= math.pi:
        raise ValueError(f"omega_c must be in (0, pi], got {omega_c}")
    half = kernel_size // 2
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float64)
    radius = np.hypot(xx, yy)
    radius[half, half] = 1.0  # placeholder; the centre is set to its limit below
    kernel = omega_c * bessel_j1(omega_c * radius) / (2.0 * math.pi * radius)
    kernel[half, half] = omega_c**2 / (4.0 * math.pi)
    return _normalised(kernel)


def _sample_beta(rng: np.random.Generator, beta_range: tuple[float, float]) -> float:
    """Half the draws below 1, half above, like Real-ESRGAN."""
    if rng.uniform() < 0.5:
        return float(rng.uniform(beta_range[0], 1.0))
    return float(rng.uniform(1.0, beta_range[1]))


def sample_sinc_omega(rng: np.random.Generator, kernel_size: int) -> float:
    """Cut-off for a blur-stage sinc: [pi/3, pi] below size 13, else [pi/5, pi]."""
    low = math.pi / 3 if kernel_size < 13 else math.pi / 5
    return float(rng.uniform(low, math.pi))


def sample_kernel_size(rng: np.random.Generator, max_size: int) -> int:
    """Random odd size in [7, max_size]."""
    _check_size(max_size)
    if max_size < MIN_KERNEL_SIZE:
        raise ValueError(f"max kernel size must be >= {MIN_KERNEL_SIZE}, got {max_size}")
    return int(rng.choice(np.arange(MIN_KERNEL_SIZE, max_size + 1, 2)))


def build_kernel(params: dict) -> np.ndarray:
    """Rebuild a kernel from the dict ``sample_blur_kernel`` returns."""
    kernel_type, size = params["kernel_type"], params["kernel_size"]
    if kernel_type == "sinc":
        return sinc_kernel(size, params["omega_c"])
    shape = (size, params["sigma_x"], params["sigma_y"], params["angle"])
    if kernel_type in ("iso", "aniso"):
        return gaussian_kernel(*shape)
    if kernel_type in ("generalized_iso", "generalized_aniso"):
        return generalized_gaussian_kernel(*shape, params["beta"])
    if kernel_type in ("plateau_iso", "plateau_aniso"):
        return plateau_kernel(*shape, params["beta"])
    raise ValueError(f"unknown kernel type {kernel_type!r}; known: sinc, {', '.join(KERNEL_TYPES)}")


def sample_blur_kernel(rng: np.random.Generator, stage_ranges: BlurRanges) -> tuple[np.ndarray, dict]:
    """Draw one blur kernel; the dict holds every drawn parameter (None where unused)."""
    size = sample_kernel_size(rng, stage_ranges.kernel_size)
    params: dict = {
        "kernel_type": "sinc",
        "kernel_size": size,
        "sigma_x": None,
        "sigma_y": None,
        "angle": None,
        "beta": None,
        "omega_c": None,
    }
    if rng.uniform() < stage_ranges.sinc_prob:
        params["omega_c"] = sample_sinc_omega(rng, size)
        return build_kernel(params), params
    probs = np.asarray(stage_ranges.kernel_probs, dtype=np.float64)
    kernel_type = str(stage_ranges.kernel_types[int(rng.choice(len(probs), p=probs / probs.sum()))])
    sigma_x = float(rng.uniform(*stage_ranges.sigma_range))
    if kernel_type in ISOTROPIC_TYPES:
        sigma_y, angle = sigma_x, 0.0
    else:
        sigma_y = float(rng.uniform(*stage_ranges.sigma_range))
        angle = float(rng.uniform(-math.pi, math.pi))
    params.update(kernel_type=kernel_type, sigma_x=sigma_x, sigma_y=sigma_y, angle=angle)
    if kernel_type.startswith("generalized"):
        params["beta"] = _sample_beta(rng, stage_ranges.betag_range)
    elif kernel_type.startswith("plateau"):
        params["beta"] = _sample_beta(rng, stage_ranges.betap_range)
    return build_kernel(params), params
