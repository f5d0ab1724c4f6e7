"""Plug-ins named by 'py:tests.evaluation.plugins:NAME' in the evaluation tests."""

from __future__ import annotations

import cv2
import numpy as np


def fake_simulator(image: np.ndarray, codec: str, bpp: float) -> np.ndarray:
    """Stands in for a learned codec simulator: a blur that grows as the rate falls."""
    sigma = 0.5 + 1.0 / max(bpp, 0.05) ** 0.5
    return cv2.GaussianBlur(image, (0, 0), sigma)


def sharpen(image: np.ndarray, codec: str, bpp: float) -> np.ndarray:
    """A scale-1 'SR model': unsharp masking of the upsampled input."""
    blurred = cv2.GaussianBlur(image, (0, 0), 1.0)
    return cv2.addWeighted(image, 1.5, blurred, -0.5, 0)


def wrong_size(image: np.ndarray, codec: str, bpp: float) -> np.ndarray:
    return image[:-1]
