"""The S3Diff SR backbone: the codec simulator's class, used a second time as g_phi(X_tilde, c).

One model family, two uses: ``S3DiffSR`` *is* a ``CodecSimulator`` (SD-Turbo VAE + UNet + CLIP text
encoder, one step at t = 999, LoRA rank 32 on the UNet and 16 on the VAE encoder, UNet conv_in trainable,
FiLM from the embedded 4-D condition in every ResnetBlock2D, the condition prompt through the text
encoder). What differs is only the interface of an SR model: the input is the LQ upsampled to the
output size (scale 1, as S3Diff does) and pictures are in [0, 1] like RRDBNet's, so the SR trainer
treats both backbones alike. ``from_pretrained`` / ``from_configs`` are inherited.

Not reproduced from S3Diff: its degradation-guided LoRA (a degradation estimator modulating the LoRA
weights); the codec condition enters through FiLM and the prompt instead, as in VRPSR.
"""
from __future__ import annotations

import torch

from training.models.simulator import CodecSimulator


class S3DiffSR(CodecSimulator):
    """g_phi(upsampled LQ in [0, 1], condition B x 4, prompts) -> SR image in [0, 1]."""

    scale = 1

    def forward(self, image: torch.Tensor, condition: torch.Tensor, prompts: list[str] | None = None) -> torch.Tensor:
        """image: B x 3 x S x S in [0, 1] (the LQ already upsampled to S); prompts default to c's prompt."""
        return (super().forward(image * 2 - 1, condition, prompts) + 1) / 2

    @property
    def codec_aware(self) -> bool:
        """False after ``disable_embedding`` (the condition then reaches the model through the prompt only)."""
        return bool(self.film.hooked_modules)

    def disable_embedding(self) -> S3DiffSR:
        """The ``--no-embed`` ablation: remove the FiLM hooks and freeze the FiLM MLPs (prompt only)."""
        self.film.remove()
        self.film.requires_grad_(False)
        return self
