"""Which metrics exist, which way is better, and the suite that measures one decoded picture.

Per-image metrics: psnr_y, psnr_rgb, ssim_y, ssim_rgb (pixel_metrics.py), lpips_alex, lpips_vgg, dists
(perceptual.py). Set metric: fid (fid.py). Networks load from the local weights folder only; a metric whose
weights are missing is listed in `MetricSuite.unavailable` with the reason and never computed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evaluation import pixel_metrics
from evaluation.errors import MetricUnavailable


@dataclass(frozen=True)
class MetricInfo:
    label: str
    higher_is_better: bool
    precision: int  # decimals in tables


METRICS: dict[str, MetricInfo] = {
    "psnr_y": MetricInfo("PSNR-Y (dB)", True, 2),
    "psnr_rgb": MetricInfo("PSNR-RGB (dB)", True, 2),
    "ssim_y": MetricInfo("SSIM-Y", True, 4),
    "ssim_rgb": MetricInfo("SSIM-RGB", True, 4),
    "lpips_alex": MetricInfo("LPIPS-alex", False, 4),
    "lpips_vgg": MetricInfo("LPIPS-vgg", False, 4),
    "dists": MetricInfo("DISTS", False, 4),
    "fid": MetricInfo("FID", False, 2),
}
DEFAULT_METRICS: tuple[str, ...] = tuple(METRICS)
SET_METRICS = frozenset({"fid"})
PIXEL_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "psnr_y": pixel_metrics.psnr_y,
    "psnr_rgb": pixel_metrics.psnr_rgb,
    "ssim_y": pixel_metrics.ssim_y,
    "ssim_rgb": pixel_metrics.ssim_rgb,
}

PairMetric = Callable[[np.ndarray, np.ndarray], float]  # (distorted, reference) -> value
FeatureExtractor = Callable[[np.ndarray], np.ndarray]  # image -> feature vector


@dataclass
class MetricSuite:
    """Per-image metrics by name, an optional FID feature extractor, and what could not be loaded (name -> reason)."""

    per_image: dict[str, PairMetric]
    fid_features: FeatureExtractor | None = None
    unavailable: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, dict] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [*self.per_image, *(["fid"] if self.fid_features is not None else [])]

    def measure(self, distorted: np.ndarray, reference: np.ndarray) -> dict[str, float]:
        return {name: metric(distorted, reference) for name, metric in self.per_image.items()}


def build_metrics(names: Sequence[str], weights_dir: str | Path | None = None, device: str = "cpu") -> MetricSuite:
    """The suite for `names`; pretrained networks from `weights_dir` (default: torch's hub checkpoints folder)."""
    from evaluation import fid, perceptual

    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; known: {', '.join(METRICS)}")
    loaders: Mapping[str, Callable[[], tuple[object, dict]]] = {
        "lpips_alex": lambda: perceptual.load_lpips("alex", weights_dir, device),
        "lpips_vgg": lambda: perceptual.load_lpips("vgg", weights_dir, device),
        "dists": lambda: perceptual.load_dists(weights_dir, device),
        "fid": lambda: fid.load_fid_features(weights_dir, device),
    }
    suite = MetricSuite({})
    for name in names:
        if name in PIXEL_METRICS:
            suite.per_image[name] = PIXEL_METRICS[name]
            continue
        try:
            metric, provenance = loaders[name]()
        except MetricUnavailable as error:
            suite.unavailable[name] = error.reason
            continue
        suite.provenance[name] = provenance
        if name in SET_METRICS:
            suite.fid_features = metric  # type: ignore[assignment]
        else:
            suite.per_image[name] = metric  # type: ignore[assignment]
    return suite
