"""Table 3's simulator variants as a wrapper around any simulator f_theta(image, condition, prompts).

  condition_input "qp"   (b) the 4th scalar of c is the slice QP (scaled by 1/QP_SCALE before the
                          simulator sees it; the prompt says ``qp N``), and a rate head predicts the bpp
                          the real codec spends at that QP (trained with a weighted loss, its error logged)
  prompt False           (c) vector only: every prompt is empty
  embedding False        (d) prompt only: the vector given to the simulator's embedding is all zeros (its
                          FiLM then adds one constant, learned shift), the prompt still names the condition
The small simulator has no text encoder, so (c) changes nothing for it and (d) leaves it unconditioned.
The wrapper writes every prompt itself (never the data loader's, which names the bpp): the QP prompt in
(b), the wrapped model's own template filled from the real condition in (d) (an s3diff simulator is
switched to the prompts it is given, so it does not re-write them from the zeroed vector).
Only the wrapped simulator's trainable parameters and the rate head are saved (names prefixed).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from training.condition import CODEC_NAMES, LIBRARY_NAMES, condition_prompts
from training.trainable import load_trainable_state_dict, trainable_state_dict

CONDITION_INPUTS = ("bpp", "qp")
QP_SCALE = 64.0  # QP 0..63 -> 0..1, the range of the bpp the embedding was designed for


def qp_prompts(condition: torch.Tensor, codec_names: tuple[str, ...] = CODEC_NAMES) -> list[str]:
    """``A {libx264} {qp 37} compressed image.`` for a batch of [one-hot, QP] conditions."""
    codecs = [codec_names[i] for i in condition[:, :-1].argmax(dim=1).tolist()]
    return [
        f"A {{{LIBRARY_NAMES[c]}}} {{qp {round(q)}}} compressed image."
        for c, q in zip(codecs, condition[:, -1].tolist(), strict=True)
    ]


class RateHead(nn.Module):
    """bpp the real codec spends on `image` (B x 3 x H x W in [-1, 1]) at condition [one-hot, QP / QP_SCALE]."""

    def __init__(self, channels: int = 32, condition_width: int = 4):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, channels, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1),
            nn.SiLU(),
        )
        self.head = nn.Sequential(
            nn.Linear(2 * channels + condition_width, channels), nn.SiLU(), nn.Linear(channels, 1)
        )

    def forward(self, image: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        features = self.features(image)
        pooled = torch.cat([features.mean(dim=(2, 3)), features.std(dim=(2, 3)), condition.float()], dim=1)
        return nn.functional.softplus(self.head(pooled)[:, 0])


class SwitchedSimulator(nn.Module):
    """f(image, condition, prompts) of the wrapped simulator under Table 3's switches."""

    def __init__(self, simulator: nn.Module, condition_input: str = "bpp", prompt: bool = True, embedding: bool = True):
        super().__init__()
        if condition_input not in CONDITION_INPUTS:
            raise ValueError(
                f"unknown condition_input {condition_input!r}; choose one of {', '.join(CONDITION_INPUTS)}"
            )
        self.simulator, self.condition_input = simulator, condition_input
        self.use_prompt, self.use_embedding = prompt, embedding
        self.codec_names = tuple(getattr(simulator, "codec_names", CODEC_NAMES))
        self.rate_head = RateHead(condition_width=len(self.codec_names) + 1) if condition_input == "qp" else None
        if hasattr(simulator, "size_multiple"):
            self.size_multiple = simulator.size_multiple
        if hasattr(simulator, "settings") and hasattr(simulator.settings, "prompt_source"):
            simulator.settings = dataclasses.replace(simulator.settings, prompt_source="given")

    def forward(
        self, image: torch.Tensor, condition: torch.Tensor, prompts: list[str] | None = None, return_rate: bool = False
    ):
        """`prompts` is ignored: the switches decide the text (see the module docstring)."""
        del prompts
        if self.condition_input == "qp":
            prompts = qp_prompts(condition, self.codec_names)
            condition = torch.cat([condition[:, :-1], condition[:, -1:] / QP_SCALE], dim=1)
        else:
            prompts = self._rate_prompts(condition, image.shape[-2], image.shape[-1])
        if not self.use_prompt:
            prompts = [""] * condition.shape[0]
        inner = condition if self.use_embedding else torch.zeros_like(condition)
        output = self.simulator(image, inner, prompts)
        if not return_rate:
            return output
        if self.rate_head is None:
            raise ValueError("this simulator predicts no rate (only condition_input 'qp' has a rate head)")
        return output, self.rate_head(image, condition)

    def _rate_prompts(self, condition: torch.Tensor, height: int, width: int) -> list[str]:
        """The wrapped model's own prompts for the real [one-hot, bpp] (its template and units), else the loader's."""
        if hasattr(self.simulator, "prompts_for") and hasattr(self.simulator, "model_condition"):
            return self.simulator.prompts_for(self.simulator.model_condition(condition.float(), height, width), None)
        return condition_prompts(condition[:, :-1], condition[:, -1], self.codec_names)

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        return trainable_state_dict(self)

    def load_trainable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        load_trainable_state_dict(self, state)
