"""Small evaluation settings on the test photographs (`photo_dir`: made by tests/images.py)."""

from __future__ import annotations

import dataclasses

import pytest

from evaluation import EvalConfig, MetricSuite, resolve_model
from evaluation.metrics import PIXEL_METRICS


@pytest.fixture
def small_config(photo_dir):
    """x264, two QPs, two 128 px images: a factory for variants via dataclasses.replace."""
    base = EvalConfig(
        data=str(photo_dir),
        codecs=("x264",),
        qps=(32, 42),
        size=128,
        limit=2,
        metrics=tuple(PIXEL_METRICS),
        crop_images=1,
        crop_size=64,
    )

    def make(**changes) -> EvalConfig:
        return dataclasses.replace(base, **changes)

    return make


@pytest.fixture
def pixel_suite() -> MetricSuite:
    return MetricSuite(dict(PIXEL_METRICS))


@pytest.fixture
def baseline_models():
    return {spec: resolve_model(spec, 4) for spec in ("identity", "bicubic", "nearest")}
