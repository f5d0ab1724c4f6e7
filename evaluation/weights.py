"""Pretrained metric networks come from a local folder only (never downloaded, never random).

The folder defaults to torch's own cache, ``torch.hub.get_dir()/checkpoints`` (``$TORCH_HOME/hub/checkpoints``,
usually ``~/.cache/torch/hub/checkpoints``), where torchvision and pytorch-fid keep the same files under the
same names. A missing file raises MetricUnavailable naming the file and the folder to put it in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from evaluation.errors import MetricUnavailable


@dataclass(frozen=True)
class WeightFile:
    file_name: str
    description: str
    published_as: str  # where the file comes from, so a person can fetch it on a connected machine
    sha256_prefix: str | None  # torchvision names its files with the first hex digits of their sha256


ALEXNET = WeightFile(
    "alexnet-owt-7be5be79.pth",
    "torchvision AlexNet ImageNet weights (LPIPS-alex backbone)",
    "torchvision.models.AlexNet_Weights.IMAGENET1K_V1",
    "7be5be79",
)
VGG16 = WeightFile(
    "vgg16-397923af.pth",
    "torchvision VGG16 ImageNet weights (LPIPS-vgg and DISTS backbone)",
    "torchvision.models.VGG16_Weights.IMAGENET1K_V1",
    "397923af",
)
FID_INCEPTION = WeightFile(
    "pt_inception-2015-12-05-6726825d.pth",
    "TF-FID Inception-v3 weights (2015-12-05) as ported by pytorch-fid",
    "pytorch_fid.inception.FID_WEIGHTS_URL",
    None,
)


def default_weights_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def weight_path(weight: WeightFile, metric: str, weights_dir: str | Path | None = None) -> Path:
    """The local path of `weight`, or MetricUnavailable saying which file is missing and where it goes."""
    folder = Path(weights_dir) if weights_dir is not None else default_weights_dir()
    path = folder / weight.file_name
    if not path.is_file():
        raise MetricUnavailable(
            metric,
            f"missing {weight.description}: put {weight.file_name} "
            f"({weight.published_as}) into {folder} (or pass --weights-dir DIR), or evaluate without weights: "
            "--metrics psnr_y,ssim_y",
        )
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_state(weight: WeightFile, metric: str, weights_dir: str | Path | None = None) -> tuple[dict, str]:
    """(state dict, sha256) of the local file; a wrong hash prefix is MetricUnavailable too."""
    path = weight_path(weight, metric, weights_dir)
    sha256 = sha256_of(path)
    if weight.sha256_prefix is not None and not sha256.startswith(weight.sha256_prefix):
        raise MetricUnavailable(
            metric,
            f"{path} has sha256 {sha256[:12]}…, expected {weight.sha256_prefix}…: "
            f"not the {weight.description}; replace it",
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and torch errors alike: the file is unusable
        raise MetricUnavailable(metric, f"{path} does not load ({type(error).__name__}: {error})") from error
    return state, sha256
