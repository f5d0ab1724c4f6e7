"""LPIPS (alex, vgg) and DISTS with their backbones loaded from a local file.

LPIPS: the `lpips` package (Zhang et al. 2018, v0.1); its linear heads ship inside the package, the
AlexNet/VGG16 backbone is torchvision's ImageNet file (weights.py). DISTS: Ding et al. 2020, written here
after the authors' ``DISTS_pytorch/DISTS_pt.py`` (VGG16 stages with L2 pooling, texture and structure terms),
whose alpha/beta file ``weights.pt`` ships with the `dists-pytorch` package; the backbone is the same VGG16
file. Inputs are RGB uint8 at full resolution (no resizing). Both constructors take the backbone state
explicitly: a caller that wants random weights (a test) has to build and pass them itself.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from evaluation.errors import MetricUnavailable
from evaluation.weights import ALEXNET, VGG16, load_state

LPIPS_BACKBONES = {"alex": ALEXNET, "vgg": VGG16}
DISTS_CHANNELS = (3, 64, 128, 256, 512, 512)
_DISTS_STAGES = ((0, 4), (4, 9), (9, 16), (16, 23), (23, 30))  # torchvision vgg16.features indices per stage


def to_tensor(image: np.ndarray, device: str) -> torch.Tensor:
    """RGB uint8 HxWx3 -> 1x3xHxW float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float().div(255.0).to(device)


def _features_state(module: nn.Module, torchvision_state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map torchvision ``features.{i}.{param}`` onto a module whose children are named ``{slice}.{i}.{param}``."""
    state = {}
    for key in module.state_dict():
        _, index_and_param = key.split(".", 1)
        source = f"features.{index_and_param}"
        if source not in torchvision_state:
            raise ValueError(f"backbone state has no {source} (is it a torchvision AlexNet/VGG16 state dict?)")
        state[key] = torchvision_state[source]
    return state


class Lpips:
    def __init__(self, net: str, backbone_state: Mapping[str, torch.Tensor], device: str = "cpu"):
        import lpips

        if net not in LPIPS_BACKBONES:
            raise ValueError(f"unknown LPIPS network {net!r}; known: {', '.join(LPIPS_BACKBONES)}")
        with warnings.catch_warnings():  # torchvision's 'pretrained' deprecation inside lpips
            warnings.simplefilter("ignore")
            model = lpips.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False)  # backbone set below
        model.net.load_state_dict(_features_state(model.net, backbone_state))
        self.model, self.device = model.eval().to(device), device

    @torch.no_grad()
    def __call__(self, distorted: np.ndarray, reference: np.ndarray) -> float:
        a, b = to_tensor(distorted, self.device), to_tensor(reference, self.device)
        return float(self.model(a, b, normalize=True).item())


class _L2Pooling(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        window = torch.from_numpy(np.hanning(5)[1:-1]).float()
        window = window[:, None] * window[None, :]
        self.register_buffer("window", (window / window.sum())[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x * x, self.window, stride=2, padding=1, groups=x.shape[1])
        return (out + 1e-12).sqrt()


class Dists(nn.Module):
    def __init__(
        self, vgg_state: Mapping[str, torch.Tensor], alpha_beta: Mapping[str, torch.Tensor], device: str = "cpu"
    ):
        super().__init__()
        from torchvision.models import vgg16

        features = vgg16(weights=None).features
        features.load_state_dict({k.split(".", 1)[1]: v for k, v in vgg_state.items() if k.startswith("features.")})
        stages = []
        for number, (start, stop) in enumerate(_DISTS_STAGES):
            layers = [] if number == 0 else [_L2Pooling(DISTS_CHANNELS[number])]  # replaces VGG's max pooling
            layers += [features[i] for i in range(start + (number > 0), stop)]
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, -1, 1, 1))
        self.register_buffer("alpha", alpha_beta["alpha"].float().reshape(1, -1, 1, 1))
        self.register_buffer("beta", alpha_beta["beta"].float().reshape(1, -1, 1, 1))
        self.device = device
        self.eval().to(device)

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs, h = [x], (x - self.mean) / self.std
        for stage in self.stages:
            h = stage(h)
            outputs.append(h)
        return outputs

    @torch.no_grad()
    def __call__(self, distorted: np.ndarray, reference: np.ndarray) -> float:
        a, b = self._features(to_tensor(distorted, self.device)), self._features(to_tensor(reference, self.device))
        total = self.alpha.sum() + self.beta.sum()
        alphas = torch.split(self.alpha / total, DISTS_CHANNELS, dim=1)
        betas = torch.split(self.beta / total, DISTS_CHANNELS, dim=1)
        structure = texture = 0.0
        for fa, fb, alpha, beta in zip(a, b, alphas, betas):
            mean_a, mean_b = fa.mean([2, 3], keepdim=True), fb.mean([2, 3], keepdim=True)
            var_a, var_b = (
                ((fa - mean_a) ** 2).mean([2, 3], keepdim=True),
                ((fb - mean_b) ** 2).mean([2, 3], keepdim=True),
            )
            covariance = (fa * fb).mean([2, 3], keepdim=True) - mean_a * mean_b
            texture = texture + (alpha * (2 * mean_a * mean_b + 1e-6) / (mean_a**2 + mean_b**2 + 1e-6)).sum()
            structure = structure + (beta * (2 * covariance + 1e-6) / (var_a + var_b + 1e-6)).sum()
        return float(1.0 - (texture + structure))


def dists_alpha_beta_path() -> Path:
    """The alpha/beta file shipped in the dists-pytorch wheel."""
    spec = importlib.util.find_spec("DISTS_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise MetricUnavailable(
            "dists", "the dists-pytorch package (it ships DISTS_pytorch/weights.pt) is not installed"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "weights.pt"
    if not path.is_file():
        raise MetricUnavailable("dists", f"{path} (DISTS alpha/beta) is missing: reinstall dists-pytorch")
    return path


def load_lpips(net: str, weights_dir: str | Path | None = None, device: str = "cpu") -> tuple[Lpips, dict]:
    state, sha256 = load_state(LPIPS_BACKBONES[net], f"lpips_{net}", weights_dir)
    return Lpips(net, state, device), {"backbone": LPIPS_BACKBONES[net].file_name, "sha256": sha256}


def load_dists(weights_dir: str | Path | None = None, device: str = "cpu") -> tuple[Dists, dict]:
    alpha_beta_path = dists_alpha_beta_path()
    vgg_state, sha256 = load_state(VGG16, "dists", weights_dir)
    alpha_beta = torch.load(alpha_beta_path, map_location="cpu", weights_only=True)
    return Dists(vgg_state, alpha_beta, device), {
        "backbone": VGG16.file_name,
        "sha256": sha256,
        "alpha_beta": str(alpha_beta_path),
    }
