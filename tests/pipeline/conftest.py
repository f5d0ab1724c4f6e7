"""Fixtures of the pipeline tests: real photographs and many recorded degradations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.degrade import PRESETS, degrade, rng_for_sample
from tests.pipeline.degrade.helpers import center_crop


@pytest.fixture(scope="module")
def photos(photo_dir: Path) -> list[np.ndarray]:
    """The first four test photographs (tests/images.py) as RGB uint8."""
    return [np.asarray(Image.open(path).convert("RGB")) for path in sorted(photo_dir.glob("*.png"))[:4]]


@pytest.fixture(scope="module")
def many_draws(photos) -> dict[str, list[dict]]:
    """300 degradations of a 64x64 crop per preset (records only)."""
    crop = center_crop(photos[0], 64, 64)
    return {name: [degrade(crop, name, rng_for_sample(f"draw-{i}", 7))[1] for i in range(300)] for name in PRESETS}
