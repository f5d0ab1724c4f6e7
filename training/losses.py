"""The SR / simulator loss: 2.0 * MSE + 5.0 * LPIPS + 0.5 * GAN (the paper's "perceptual target").

Presets (TrainConfig fields): ours uses LPIPS(alex) and a patch / UNet discriminator with the
non-saturating loss; S3Diff's (``lpips_net="vgg"``, ``discriminator="vision-aided-dino"``) uses LPIPS(vgg)
and the vision-aided DINO discriminator, which brings its own multi-level hinge loss
(training/models/vision_aided.py). Pretrained weights come from the torch hub cache, never downloaded.

GAN: non-saturating (the softplus form of the binary cross-entropy Real-ESRGAN uses):
generator ``softplus(-D(fake))``, discriminator ``softplus(-D(real)) + softplus(D(fake))``, averaged over
the patch logits of a spectral-norm patch discriminator. ``target="mse"`` keeps only the MSE term (the
Table 3 (e) ablation: no LPIPS network, no discriminator). Images are in [-1, 1] everywhere.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

TARGETS = ("perceptual", "mse")
ALEXNET_WEIGHTS = "alexnet-owt-7be5be79.pth"  # what torchvision's AlexNet_Weights.IMAGENET1K_V1 caches
LPIPS_BACKBONES = {"alex": ALEXNET_WEIGHTS, "vgg": "vgg16-397923af.pth"}  # VGG16_Weights.IMAGENET1K_V1


@dataclass(frozen=True)
class LossWeights:
    mse: float = 2.0
    lpips: float = 5.0
    gan: float = 0.5


def alexnet_cache_file() -> Path:
    """Where torchvision looks for the AlexNet weights LPIPS(alex) needs (the torch hub cache)."""
    return lpips_backbone_file("alex")


def lpips_backbone_file(net: str) -> Path:
    """Where torchvision looks for the backbone weights LPIPS(net) needs (the torch hub cache)."""
    if net not in LPIPS_BACKBONES:
        raise ValueError(f"unknown LPIPS network {net!r}; choose one of {', '.join(LPIPS_BACKBONES)}")
    return Path(torch.hub.get_dir()) / "checkpoints" / LPIPS_BACKBONES[net]


def load_lpips(pretrained_backbone: bool = True, net: str = "alex") -> nn.Module:
    """LPIPS(net), frozen: "alex" (ours) or "vgg" (S3Diff's). The linear calibration ships with the `lpips`
    package; the backbone comes from the torch hub cache (FileNotFoundError naming the file when absent,
    never a download). `pretrained_backbone=False` uses a random backbone (tests only: not LPIPS then)."""
    import lpips

    file = lpips_backbone_file(net)
    if pretrained_backbone and not file.is_file():
        raise FileNotFoundError(
            f"LPIPS({net}) needs torchvision's weights at {file} "
            f"(copy {file.name} into the torch hub cache's checkpoints/ folder)"
        )
    with warnings.catch_warnings():  # lpips still calls torchvision's deprecated `pretrained=` argument
        warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
        model = lpips.LPIPS(net=net, pretrained=True, pnet_rand=not pretrained_backbone, verbose=False)
    return model.eval().requires_grad_(False)


class PatchDiscriminator(nn.Module):
    """A small spectral-norm PatchGAN: three stride-2 convs, then one logit per patch."""

    def __init__(self, base_channels: int = 64, num_downsamples: int = 3):
        super().__init__()
        layers: list[nn.Module] = []
        in_channels, out_channels = 3, base_channels
        for _ in range(num_downsamples):
            layers += [spectral_norm(nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            in_channels, out_channels = out_channels, out_channels * 2
        layers.append(spectral_norm(nn.Conv2d(in_channels, 1, 3, padding=1)))
        self.layers = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.layers(image)


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(-fake_logits).mean()


def discriminator_adversarial_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


class RestorationLoss(nn.Module):
    """weights.mse * MSE + weights.lpips * LPIPS + weights.gan * GAN (perceptual), or the MSE term alone."""

    def __init__(
        self, target: str = "perceptual", lpips_model: nn.Module | None = None, weights: LossWeights = LossWeights()
    ):
        super().__init__()
        if target not in TARGETS:
            raise ValueError(f"unknown loss target {target!r}; choose one of {', '.join(TARGETS)}")
        if target == "perceptual" and lpips_model is None:
            raise ValueError("the perceptual target needs an LPIPS model (training.losses.load_lpips)")
        self.target, self.weights = target, weights
        self.lpips = lpips_model if target == "perceptual" else None

    @property
    def uses_discriminator(self) -> bool:
        return self.target == "perceptual" and self.weights.gan > 0

    def generator_loss(
        self, prediction: torch.Tensor, target: torch.Tensor, discriminator: nn.Module | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss and its parts (as floats, for logging)."""
        mse = F.mse_loss(prediction, target)
        total, parts = self.weights.mse * mse, {"mse": mse.item()}
        if self.target == "perceptual":
            perceptual = self.lpips(prediction, target).mean()
            total = total + self.weights.lpips * perceptual
            parts["lpips"] = perceptual.item()
        if self.uses_discriminator:
            if discriminator is None:
                raise ValueError("the GAN term needs a discriminator")
            discriminator.requires_grad_(False)  # the generator's step must not write D's gradients
            own = own_losses(discriminator)
            logits = discriminator(prediction)
            adversarial = own.generator_loss(logits) if own else generator_adversarial_loss(logits)
            discriminator.requires_grad_(True)
            total = total + self.weights.gan * adversarial
            parts["gan"] = adversarial.item()
        parts["loss"] = total.item()
        return total, parts

    @staticmethod
    def discriminator_loss(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The discriminator's loss; `fake` is detached here."""
        own = own_losses(discriminator)
        loss = own.discriminator_loss if own else discriminator_adversarial_loss
        return loss(discriminator(real), discriminator(fake.detach()))


def own_losses(discriminator: nn.Module) -> nn.Module | None:
    """The discriminator itself when it defines its GAN loss (the vision-aided one: multi-level hinge);
    looks through a DDP wrapper."""
    inner = getattr(discriminator, "module", discriminator)
    return inner if hasattr(inner, "generator_loss") and hasattr(inner, "discriminator_loss") else None
