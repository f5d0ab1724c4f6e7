"""The adversarial losses, by name (TrainConfig.gan_loss), over one logit tensor or a list of them.

A discriminator returns logits: one tensor (the patch and UNet discriminators) or one per level (the
vision-aided one: two maps and a class-token logit). Every loss is the sum over levels of the mean over
each level's logits:
  "non-saturating"  generator softplus(-x); real softplus(-x); fake softplus(x)
                    (binary cross-entropy with labels 1 / 0: Real-ESRGAN's GAN loss)
  "hinge"           generator -x; real relu(1 - x); fake relu(1 + x)  (vision-aided-loss's multilevel_hinge)
  "sigmoid-0.8"     binary cross-entropy with label 0.8 for the generator and for real pictures, 0 for fake
                    (vision-aided-loss's multilevel_sigmoid_s: its "one-sided label smoothing"; S3Diff's)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

Logits = torch.Tensor | Sequence[torch.Tensor]
ROLES = ("generator", "real", "fake")


def _levels(logits: Logits) -> list[torch.Tensor]:
    return [logits] if isinstance(logits, torch.Tensor) else list(logits)


def _labelled(label: float) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: F.binary_cross_entropy_with_logits(x.float(), torch.full_like(x.float(), label))


# name -> role -> the per-level loss before the mean
GAN_LOSSES: dict[str, dict[str, Callable[[torch.Tensor], torch.Tensor]]] = {
    "non-saturating": {"generator": lambda x: F.softplus(-x), "real": lambda x: F.softplus(-x), "fake": F.softplus},
    "hinge": {"generator": lambda x: -x, "real": lambda x: F.relu(1 - x), "fake": lambda x: F.relu(1 + x)},
    "sigmoid-0.8": {"generator": _labelled(0.8), "real": _labelled(0.8), "fake": _labelled(0.0)},
}
DEFAULT_GAN_LOSS = {"vision-aided-dino": "hinge"}  # what each discriminator used before gan_loss was a choice


def default_gan_loss(discriminator: str) -> str:
    """The loss a discriminator gets when TrainConfig.gan_loss is not given (non-saturating, except the
    vision-aided discriminator's multi-level hinge)."""
    return DEFAULT_GAN_LOSS.get(discriminator, "non-saturating")


def check_gan_loss(name: str) -> None:
    if name not in GAN_LOSSES:
        raise ValueError(f"unknown gan_loss {name!r}; choose one of {', '.join(GAN_LOSSES)}")


def adversarial_loss(logits: Logits, name: str, role: str) -> torch.Tensor:
    """Loss `name` for `role` ("generator": make fakes look real; "real" / "fake": the discriminator's
    two halves), summed over the levels of `logits`."""
    check_gan_loss(name)
    per_logit = GAN_LOSSES[name][role]
    return sum(per_logit(level).mean() for level in _levels(logits))
