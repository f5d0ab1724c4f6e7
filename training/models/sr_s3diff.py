"""The S3Diff SR backbone: the codec simulator's class (the published S3Diff + VRPSR's condition) as g_phi(X_tilde, c).

One model family, three uses (simulator, SR, post-processor), as in the official VRPSR code, where
all three are ``S3DiffMetaEmbed``. What differs for SR is only the interface: the input is the LQ
upsampled to the output size (scale 1, as S3Diff does) and pictures are in [0, 1] like RRDBNet's, so
the SR trainer treats both backbones alike. S3Diff's DEResNet scores the LQ at its own size: the SR
model gives it the input downscaled by 4 (``degradation_input_scale``, area), which undoes the
loader's upsampling up to interpolation error. ``from_pretrained`` / ``from_configs`` are inherited.
"""

from __future__ import annotations

import torch

from training.models.simulator import CodecSimulator


class S3DiffSR(CodecSimulator):
    """g_phi(upsampled LQ in [0, 1], condition B x 4, prompts) -> SR image in [0, 1]."""

    scale = 1

    def forward(self, image: torch.Tensor, condition: torch.Tensor, prompts: list[str] | None = None) -> torch.Tensor:
        """image: B x 3 x S x S in [0, 1] (the LQ already upsampled to S)."""
        return (super().forward(image * 2 - 1, condition, prompts) + 1) / 2

    @property
    def codec_aware(self) -> bool:
        """False after ``disable_embedding`` (the condition then reaches the model through the prompt only)."""
        return self.film is not None and bool(self.film.hooked_modules)

    def disable_embedding(self) -> S3DiffSR:
        """The ``--no-embed`` ablation: remove the condition hooks and freeze their MLPs (prompt only)."""
        if self.film is not None:
            self.film.remove()
            self.film.requires_grad_(False)
        return self
