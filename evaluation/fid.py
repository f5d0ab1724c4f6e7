"""FID over a set of images: pytorch-fid's Inception-v3 (the TF-FID network and weights, pool3, 2048-d)
and its ``calculate_frechet_distance``.

Images go in as RGB uint8 and are resized bilinearly to 299x299 inside the network (pytorch-fid's default).
FID is a set statistic: with fewer images than feature dimensions (e.g. 24 Kodak crops vs 2048 dims) the
covariances are rank-deficient, so values are comparable between methods on the same set only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from unittest import mock

import numpy as np
import torch

from evaluation.perceptual import to_tensor
from evaluation.weights import FID_INCEPTION, load_state


class InceptionFeatures:
    """pool3 features of pytorch-fid's FID Inception, built from a state dict given by the caller."""

    def __init__(self, state: Mapping[str, torch.Tensor], device: str = "cpu"):
        from pytorch_fid import inception

        # pytorch-fid fetches its weights by URL inside the constructor; hand it the local state instead.
        with mock.patch.object(inception, "load_state_dict_from_url", lambda *args, **kwargs: dict(state)):
            self.model = inception.InceptionV3([inception.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval().to(device)
        self.device = device

    @torch.no_grad()
    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.model(to_tensor(image, self.device))[0].reshape(-1).cpu().numpy().astype(np.float64)


def frechet_distance(features_a: Sequence[np.ndarray], features_b: Sequence[np.ndarray]) -> float:
    """FID between two sets of feature vectors (each N x D, N >= 2)."""
    from pytorch_fid.fid_score import calculate_frechet_distance

    a, b = np.asarray(features_a, dtype=np.float64), np.asarray(features_b, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"FID needs at least 2 images per set, got {len(a)} and {len(b)}")
    return float(calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)))


def load_fid_features(
    weights_dir: str | Path | None = None, device: str = "cpu"
) -> tuple[Callable[[np.ndarray], np.ndarray], dict]:
    state, sha256 = load_state(FID_INCEPTION, "fid", weights_dir)
    return InceptionFeatures(state, device), {
        "network": FID_INCEPTION.file_name,
        "sha256": sha256,
        "implementation": "pytorch-fid InceptionV3 pool3 (2048-d), 299x299 bilinear",
    }
