"""The SR / simulator loss: 2.0 * MSE + 5.0 * LPIPS + 0.5 * GAN (the paper's "perceptual target").

Presets (TrainConfig fields): ours uses LPIPS(alex) and a patch / UNet discriminator with the
non-saturating loss; S3Diff's (``lpips_net="vgg"``, ``discriminator="vision-aided-dino"``,
``gan_loss="sigmoid-0.8"``, ``discriminator_loss_weight=0.5``) uses LPIPS(vgg) and the vision-aided DINO
discriminator (training/models/vision_aided.py). Pretrained weights come from the torch hub cache, never
downloaded.

GAN: the loss named by ``gan_loss`` (training/gan_losses.py: non-saturating, hinge or sigmoid-0.8) over the
discriminator's logits; the discriminator's loss (real + fake) is scaled by ``discriminator_weight``
(S3Diff: 0.5, its lambda_gan). ``target="mse"`` keeps only the MSE term (the Table 3 (e) ablation: no
LPIPS network, no discriminator). Images are in [-1, 1] everywhere. The loop calls the parts separately
for S3Diff's step structure (training/steps.py): `reconstruction_loss`, `adversarial_loss`, and
`discriminator_half` for real and for fake.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from training.gan_losses import adversarial_loss, check_gan_loss

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
            f"(copy {file.name} into the torch hub cache's checkpoints/ folder), or train without them: --target mse"
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


class RestorationLoss(nn.Module):
    """weights.mse * MSE + weights.lpips * LPIPS + weights.gan * GAN (perceptual), or the MSE term alone."""

    def __init__(
        self,
        target: str = "perceptual",
        lpips_model: nn.Module | None = None,
        weights: LossWeights = LossWeights(),
        gan_loss: str = "non-saturating",
        discriminator_weight: float = 1.0,
    ):
        super().__init__()
        if target not in TARGETS:
            raise ValueError(f"unknown loss target {target!r}; choose one of {', '.join(TARGETS)}")
        if target == "perceptual" and lpips_model is None:
            raise ValueError("the perceptual target needs an LPIPS model (training.losses.load_lpips)")
        check_gan_loss(gan_loss)
        self.target, self.weights = target, weights
        self.gan_loss, self.discriminator_weight = gan_loss, discriminator_weight
        self.lpips = lpips_model if target == "perceptual" else None

    @property
    def uses_discriminator(self) -> bool:
        return self.target == "perceptual" and self.weights.gan > 0

    def reconstruction_loss(self, prediction: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """weights.mse * MSE (+ weights.lpips * LPIPS) and its parts (as floats, for logging)."""
        mse = F.mse_loss(prediction, target)
        total, parts = self.weights.mse * mse, {"mse": mse.item()}
        if self.target == "perceptual":
            perceptual = self.lpips(prediction, target).mean()
            total = total + self.weights.lpips * perceptual
            parts["lpips"] = perceptual.item()
        parts["loss"] = total.item()
        return total, parts

    def adversarial_loss(self, prediction: torch.Tensor, discriminator: nn.Module | None) -> torch.Tensor:
        """The generator's GAN term, unweighted; D's parameters get no gradient from it."""
        if discriminator is None:
            raise ValueError("the GAN term needs a discriminator")
        discriminator.requires_grad_(False)  # the generator's step must not write D's gradients
        adversarial = adversarial_loss(discriminator(prediction), self.gan_loss, "generator")
        discriminator.requires_grad_(True)
        return adversarial

    def generator_loss(
        self, prediction: torch.Tensor, target: torch.Tensor, discriminator: nn.Module | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss (reconstruction + weights.gan * GAN) and its parts (as floats, for logging)."""
        total, parts = self.reconstruction_loss(prediction, target)
        if self.uses_discriminator:
            adversarial = self.adversarial_loss(prediction, discriminator)
            total = total + self.weights.gan * adversarial
            parts["gan"] = adversarial.item()
        parts["loss"] = total.item()
        return total, parts

    def discriminator_half(self, discriminator: nn.Module, pictures: torch.Tensor, role: str) -> torch.Tensor:
        """discriminator_weight x the discriminator's loss on real (`role` "real") or generated ("fake",
        detached here) pictures."""
        logits = discriminator(pictures.detach())
        return self.discriminator_weight * adversarial_loss(logits, self.gan_loss, role)

    def discriminator_loss(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The discriminator's loss on both halves; `fake` is detached here."""
        return self.discriminator_half(discriminator, real, "real") + self.discriminator_half(
            discriminator, fake, "fake"
        )
